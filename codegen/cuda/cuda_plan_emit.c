/* cuda_plan_emit.c: a CUDA launch plan as C data in the generated program
 * (the RtCudaPlan of runtime/device/rt_plan.h that RtNetDesc.cuda points
 * at), so the executable's device loop interprets it with no compiler
 * around. Compact rows: one instantiation, launch or argument per entry;
 * float literals in hexadecimal, so they read back bit for bit. */
#include <inttypes.h>

#include "cuda_plan.h"

/* Arguments per output line. */
#define PER_LINE 6

void cg_cuda_plan_emit_c(const CgCudaPlan *p, const char *name, FILE *out)
{
    fprintf(out, "\n/* The CUDA launch plan: %d instantiations, %d launches, %d arguments. */\n", p->inst.n, p->nl,
            p->nargs);
    fprintf(out, "static const RtPlanInst %s_inst[] = {\n", name);
    for (int i = 0; i < p->inst.n; i++) {
        const CgCudaInst *in = &p->inst.v[i];
        fprintf(out, "    { %d, {", (int)in->kernel);
        for (int k = 0; k < in->nargs; k++)
            fprintf(out, "%s%d", k ? "," : "", in->args[k]);
        fprintf(out, "%s}, \"%s\" },\n", in->nargs ? "" : "0", in->expr);
    }
    if (p->inst.n == 0)
        fprintf(out, "    { 0, {0}, \"\" },\n");
    fprintf(out, "};\nstatic const RtPlanLaunch %s_launch[] = {\n", name);
    for (int i = 0; i < p->nl; i++) {
        const RtPlanLaunch *l = &p->l[i];
        fprintf(out, "%s{%d,%d,%d,%d,%d},%s", i % PER_LINE ? "" : "    ", l->inst, l->node, l->grid_n, l->arg0,
                l->nargs, (i + 1) % PER_LINE && i + 1 < p->nl ? "" : "\n");
    }
    if (p->nl == 0)
        fprintf(out, "    {0,0,0,0,0},\n");
    fprintf(out, "};\nstatic const RtPlanArg %s_arg[] = {\n", name);
    for (int i = 0; i < p->nargs; i++) {
        const RtPlanArg *a = &p->args[i];
        fprintf(out, "%s{%d,%d,%d,%" PRId64 ",%" PRId64 ",", i % PER_LINE ? "" : "    ", a->kind, a->space,
                (int)a->node, a->off, a->len);
        if (a->f == 0)
            fputs("0", out);
        else
            fprintf(out, "%af", (double)a->f);
        fprintf(out, "},%s", (i + 1) % PER_LINE && i + 1 < p->nargs ? "" : "\n");
    }
    if (p->nargs == 0)
        fprintf(out, "    {0,0,0,0,0,0},\n");
    fprintf(out, "};\nstatic const RtCudaPlan %s = {\n", name);
    fprintf(out, "    %d, %s_inst, %d, %s_launch, %d, %s_arg,\n    {", p->inst.n, name, p->nl, name, p->nargs, name);
    for (int s = 0; s <= RT_SEC__COUNT; s++)
        fprintf(out, "%s%d", s ? ", " : "", p->sec[s]);
    fprintf(out, "}, /* sections */\n    {");
    for (int s = 0; s < RT_SP__COUNT; s++)
        fprintf(out, "%s%" PRId64, s ? ", " : "", p->size[s]);
    fprintf(out, "}, /* floats per space */\n};\n");
}
