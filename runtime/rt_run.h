/* rt_run.h: the search and training programs of a built executable
 * (internal to the runtime): the run configuration, genotype extraction and
 * the two loops. Sections per file. */
#ifndef SHARP_RT_RUN_H
#define SHARP_RT_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "rt_net.h"

/* ---- rt_config.c: defaults < the .nas file's settings < command-line flags ---- */

typedef struct RtConfig {
    int search;               /* search (1) or train (0) */
    int epochs, batch, threads;
    int stop_after;           /* stop (checkpointed) after this epoch; 0: run all */
    uint64_t seed;
    char data[1024], out[1024], resume[1024], dataset[32], weights[1024];
    char device[16];          /* --device: cpu, cuda, ref or auto; rt_main leaves cpu, cuda or ref */
    int device_auto;          /* the GPU was chosen by auto: a failed start falls back to the CPU */
    /* weights: SGD under cosine power annealing or cosine */
    double lr, lr_min, momentum, wd, clip;
    int cpa;                  /* 1 cosine_power, 0 cosine */
    double cpa_order;
    int warmup;
    /* architecture: Adam (search) */
    double arch_lr, arch_b1, arch_b2, arch_eps, arch_wd;
    int second_order;
    double split;
    /* augmentation */
    int crop, flip, cutout, autoaugment;
    /* final training */
    double drop_path, aux_weight;
    int eval_only;
    double time_budget;       /* minutes: train the epochs that fit, at most epochs; 0 = off */
    /* runs on a subset of the data (tests, smoke runs): 0 = all */
    int64_t subset;
    /* the network the search's genotype.nas describes */
    int final_C, final_layers, final_epochs, final_aux;
    int skip_none;            /* genotype extraction excludes `none` (DARTS) */
    const char *const *settings;
    int nsettings;
} RtConfig;

/* Fills c from the defaults and the compiled-in settings, then argv;
 * returns -1 to go on, or an exit status (help printed, usage error). */
int rt_config(const RtNetDesc *d, const char *const *settings, int nsettings, int argc, char **argv, RtConfig *c);
/* The setting key ("arch.normal.ops") or NULL. */
const char *rt_setting(const RtConfig *c, const char *key);

/* ---- rt_genotype.c: genotypes from architecture weights (spec §4) ---- */

/* Writes the Genotype(...) literal of the softmaxed alphas into buf;
 * -1 when the network has no search edges. */
int rt_genotype_text(const RtNetDesc *d, const RtConfig *c, const float *alphas, char *buf, size_t len);
/* Writes a compilable genotype.nas into path atomically. */
int rt_genotype_write(const RtNetDesc *d, const RtConfig *c, const float *alphas, const char *path, int epoch,
                      char *err, size_t errlen);

/* ---- rt_loops.c: the search and the final-training loops ---- */

int rt_search_run(const RtNetDesc *d, RtConfig *c);
int rt_train_run(const RtNetDesc *d, RtConfig *c);

#endif
