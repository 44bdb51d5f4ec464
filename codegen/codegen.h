/* codegen.h: the backends of sharpc, one section per file.
 *
 * A backend turns an IR graph (after the passes: cse, autodiff, plan) into a
 * program. The C backend writes one C file per network that defines the
 * network's RtNetDesc (runtime/rt_net.h) with every shape a literal, and
 * builds it with the system C compiler against libsharprt. */
#ifndef SHARPC_CODEGEN_H
#define SHARPC_CODEGEN_H

#include <stdbool.h>
#include <stdio.h>

#include "ir.h"

/* ---- c/paths.c: where the runtime is ---- */

typedef enum {
    CG_PATH_RUNTIME,     /* runtime/ (sources and headers) */
    CG_PATH_GEN,         /* CMake's generated headers (cpu_kernels_all.h) */
    CG_PATH_RUNTIME_LIB, /* libsharprt.a */
    CG_PATH_SHIP_LIB,    /* codegen/ship/lib */
} CgPath;

/* The path, from the environment (SHARPC_RUNTIME_DIR, SHARPC_GEN_DIR,
 * SHARPC_RUNTIME_LIB, SHARPC_SHIP_LIB_DIR) or as built. */
const char *cg_path(CgPath which);
/* prefix + the path + sub, in buf. */
const char *cg_path_join(CgPath which, const char *prefix, const char *sub, char *buf, size_t len);

/* ---- c/emit_c.c: the network as C ---- */

/* Everything the C emitter needs about one network. */
typedef struct {
    const IrGraph *g;
    const IrBackward *bw;
    const IrPlan *plan;
    const char *source;   /* the .nas file, recorded in the program */
    bool with_main;       /* also emit main() calling rt_main() */
    const struct CgCudaPlan *cuda; /* the CUDA launch plan the program carries, or NULL */
    const char *cuda_why; /* without one: why (the node no CUDA kernel runs) */
} CgProgram;

/* Writes the C program of p: the specialized kernel wrappers to kern, the
 * network's programs and descriptor to net. */
void cg_emit_c(const CgProgram *p, FILE *kern, FILE *net);

/* ---- c/build_c.c: compiling the emitted C ---- */

typedef struct {
    const char *cc;          /* C compiler; NULL: $CC or "cc" */
    const char *output;      /* executable to write */
    const char *keep_c;      /* also keep the generated C in this directory, or NULL */
    bool verbose;            /* print the compiler command */
    bool debug;              /* -O0 -g instead of -O3 -march=native */
} CgBuildOptions;

/* Emits p as C into a temporary directory and compiles it with the system
 * compiler into opt->output (written atomically: nothing is left there on
 * failure). Returns false with a message on stderr. */
bool cg_build_c(const CgProgram *p, const CgBuildOptions *opt);
/* Writes the C of p as cg_build_c compiles it: the kernel unit to kern, the
 * network unit with the run settings and main() calling rt_main() to net. */
bool cg_write_c(const CgProgram *p, const char *kern_path, const char *net_path);

/* ---- ship/: standalone source of a fixed network (`sharpc emit`) ---- */

typedef struct {
    const char *dir;          /* output directory (written whole, or not at all) */
    const char *weights;      /* safetensors file: checked, and embedded with embed */
    bool embed;               /* model.c carries the weights as const data */
    bool train;               /* also DIR/train: the standalone training program */
    bool cuda;                /* --target cuda: model.cu built by nvcc (else model.c) */
    bool verbose;
} CgShipOptions;

/* The inference library and CLI of p's network in opt->dir (model.h,
 * model.c, main.c, Makefile, README.md); with opt->train also the training
 * program in opt->dir/train. Prints the planned arena size. Returns false
 * with a message on stderr (and leaves nothing behind). */
bool cg_ship_c(const CgProgram *p, const CgShipOptions *opt);

/* ship/ship_train.c: the standalone training program of p in dir (which
 * exists and is empty): the network's generated C, the runtime's sources
 * it needs, a Makefile and a README.md; with cuda also the GPU layer (the
 * device loop, the CUDA kernel sources, p's launch plan in net.c). False
 * with a message on stderr. */
bool cg_ship_train(const CgProgram *p, const char *dir, bool cuda);

#endif
