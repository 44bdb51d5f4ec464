/* rt_net.h: the interface between a compiled network and the runtime.
 *
 * `sharpc build` generates one C file per network that defines a constant
 * RtNetDesc: the parameter table (state_dict names, shapes, kinds, where
 * each lives in the flat parameter arrays) and the three programs of the
 * network (training forward, backward, eval forward), every shape in them a
 * literal. The runtime (rt_net.c and the loops) owns the memory and drives
 * the programs through an RtNetRun. The batch size N is the one runtime
 * dimension; activations live in one arena of N * arena_per_sample floats
 * planned by the compiler. */
#ifndef SHARP_RT_NET_H
#define SHARP_RT_NET_H

#include <stddef.h>
#include <stdint.h>

/* What a parameter is. */
typedef enum RtParamKind {
    RT_PARAM_WEIGHT,  /* trained by SGD; lives in RtNetRun.w, gradient in .gw */
    RT_PARAM_BUFFER,  /* BN running mean/var (F32), in .buf */
    RT_PARAM_COUNTER, /* BN num_batches_tracked (I64, shape ()), in .cnt */
    RT_PARAM_ARCH,    /* architecture parameters, in .arch, gradient in .garch */
} RtParamKind;

/* How a parameter is initialized (PyTorch's defaults). */
typedef enum RtInit {
    RT_INIT_NONE,
    RT_INIT_KAIMING_UNIFORM, /* uniform in +-1/sqrt(fan_in) (kaiming a = sqrt 5) */
    RT_INIT_BIAS_UNIFORM,    /* uniform in +-1/sqrt(fan_in) */
    RT_INIT_ONES,
    RT_INIT_ZEROS,
    RT_INIT_ARCH_NORMAL,     /* 1e-3 * N(0, 1) */
} RtInit;

/* One parameter of the network. */
typedef struct RtParamDesc {
    const char *name;   /* reference state_dict name */
    int kind;           /* RtParamKind */
    int init;           /* RtInit */
    int fan_in;
    int aux;            /* belongs to the auxiliary head */
    int ndim;           /* 0 for num_batches_tracked */
    int64_t shape[4];
    int64_t numel;
    int64_t offset;     /* elements into the array of its kind */
} RtParamDesc;

/* One run of a network's programs: inputs, parameter arrays, outputs. The
 * runtime fills it; the generated programs read and write through it. */
typedef struct RtNetRun {
    int N;                    /* batch size */
    const float *images;      /* (N, C, H, W) */
    const int32_t *labels;    /* (N) */
    float *w, *arch, *buf;    /* parameter arrays by kind */
    int64_t *cnt;
    float *gw, *garch;        /* gradients: NULL to skip that kind */
    float *gimages;           /* gradient of the images, NULL to skip */
    float *arena;             /* N * arena_per_sample floats */
    float *small;             /* small_size floats */
    float keep_prob;          /* drop path: 1 - p; 1 turns it off */
    const float *drop_mask;   /* (drop_sites, N) Bernoulli(keep) masks, or NULL */
    float aux_weight;         /* weight of the auxiliary loss */
    int bn_eval;              /* eval forward: 0 (reserved) */
    /* outputs of the forward */
    float *logits;            /* (N, classes), in the arena */
    float *aux_logits;        /* (N, classes) or NULL */
    double loss, loss_main, loss_aux;
} RtNetRun;

/* A compiled network. */
typedef struct RtNetDesc {
    const char *name;         /* network name */
    const char *source;       /* the .nas file it came from */
    int in_c, in_h, in_w, classes;
    int has_aux;              /* has an auxiliary head */
    int is_search;            /* has architecture parameters */
    int weighting;            /* 0 scalar, 1 max_w (search) */
    int nparams;
    const RtParamDesc *params;
    int64_t n_w, n_arch, n_buf, n_cnt; /* sizes of the parameter arrays */
    int64_t arena_per_sample; /* floats per sample */
    int64_t arena_naive;      /* floats per sample without reuse (report) */
    int64_t small_size;       /* floats */
    int drop_sites;           /* number of drop-path nodes */
    int arch_rows, arch_cols; /* alphas_normal / alphas_reduce shape, 0 if none */
    /* Training forward: BN with batch statistics (running stats updated),
     * drop path with r->drop_mask, aux head; sets logits, aux_logits and the
     * losses from r->labels. */
    void (*forward)(RtNetRun *r);
    /* Backward of the last forward: fills r->gw, r->garch, r->gimages (each
     * skipped when NULL); loss = main + aux_weight * aux. */
    void (*backward)(RtNetRun *r);
    /* Eval forward: BN with running statistics, no drop path, no aux head;
     * sets logits (loss from r->labels when not NULL). */
    void (*eval_forward)(RtNetRun *r);
    /* The CUDA launch plan of the same three programs (runtime/device/
     * rt_plan.h), run by the device loop; NULL when the network has a node
     * no CUDA kernel runs (cuda_why says which) or the program was built
     * without the GPU layer. */
    const struct RtCudaPlan *cuda;
    const char *cuda_why;
} RtNetDesc;

/* ---- rt_net.c: a network instance: its memory and its weights ---- */

/* Parameters, gradients and activations of one network. */
typedef struct RtNet {
    const RtNetDesc *d;
    float *w, *arch, *buf;    /* parameters by kind */
    int64_t *cnt;
    float *gw, *garch;        /* their gradients */
    float *arena;             /* activations for up to arena_n samples */
    int arena_n;
    float *small;
} RtNet;

/* Allocates a network's parameters (zero) and gradients; NULL with err on
 * failure (out of memory). */
RtNet *rt_net_new(const RtNetDesc *d, char *err, size_t errlen);
void rt_net_free(RtNet *net);
/* Makes room for batches of up to N samples. */
int rt_net_reserve(RtNet *net, int N, char *err, size_t errlen);
/* Fills r for a batch of N samples (after rt_net_reserve(N)): parameter and
 * gradient arrays set, images/labels/gimages NULL, drop path off. */
void rt_net_run(RtNet *net, RtNetRun *r, int N);
/* The parameter named name, or NULL. */
const RtParamDesc *rt_net_param(const RtNet *net, const char *name);
/* Pointer to parameter p's values in net (float or int64 by kind). */
void *rt_net_param_data(const RtNet *net, const RtParamDesc *p);
/* Loads every parameter from a safetensors file by its state_dict name;
 * num_batches_tracked may be absent (kept), architecture parameters too
 * unless need_arch. Names and shapes are checked; errors name the file and
 * the tensor. */
int rt_net_load(RtNet *net, const char *path, int need_arch, char *err, size_t errlen);
/* Writes every parameter (architecture ones when with_arch) atomically. */
int rt_net_save(const RtNet *net, const char *path, int with_arch, char *err, size_t errlen);

/* The runtime's entry point for a built executable (rt_main.c): settings
 * are the "key=value" facts the compiler recorded (run.* from the file's
 * search or train block, arch.* about the search edges). */
int rt_main(const RtNetDesc *net, const char *const *settings, int nsettings, int argc, char **argv);
/* `EXE bench`: times training or search steps on synthetic data (rt_bench.c). */
int rt_bench_main(const RtNetDesc *d, int argc, char **argv);

#endif
