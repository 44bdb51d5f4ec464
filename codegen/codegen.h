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

/* ---- c/emit_c.c: the network as C ---- */

/* Everything the C emitter needs about one network. */
typedef struct {
    const IrGraph *g;
    const IrBackward *bw;
    const IrPlan *plan;
    const char *source;   /* the .nas file, recorded in the program */
    bool with_main;       /* also emit main() calling rt_main() */
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

#endif
