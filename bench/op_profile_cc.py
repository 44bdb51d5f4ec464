#!/usr/bin/env python3
"""op_profile_cc.py CC ARGS...: a C compiler wrapper for bench/op_profile.sh.
Compiles like CC, except that a generated kernels.c is first rewritten so
that every kernel wrapper (sk_N) adds its wall time and call count to a
table, printed to stderr when the program exits, costliest first."""
import os
import re
import subprocess
import sys
import tempfile

cc, args = sys.argv[1], sys.argv[2:]
src = next((a for a in args if a.endswith("/kernels.c")), None)
if src is None:
    os.execvp(cc, [cc] + args)

text = open(src).read()
fn = re.compile(r"(void (sk_\d+)\([^)]*\)\n\{\n)(.*?)(\n\}\n)", re.S)
labels = []


def wrap(m):
    i = len(labels)
    call = " ".join(m.group(3).replace("(void)N;", "").split())
    labels.append(call.replace("\\", "\\\\").replace('"', '\\"'))
    return "%s    double op_t0 = omp_get_wtime();\n%s\n    op_add(%d, op_t0);%s" % (
        m.group(1), m.group(3), i, m.group(4))


body = fn.sub(wrap, text)
head = """#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
static double op_secs[%(n)d];
static long op_calls[%(n)d];
static const char *const op_label[%(n)d] = {
%(labels)s
};
static inline void op_add(int i, double t0) { op_secs[i] += omp_get_wtime() - t0; op_calls[i]++; }
static int op_cmp(const void *a, const void *b)
{
    double x = op_secs[*(const int *)a], y = op_secs[*(const int *)b];
    return (x < y) - (x > y);
}
__attribute__((destructor)) static void op_report(void)
{
    int order[%(n)d];
    double total = 0;
    for (int i = 0; i < %(n)d; i++) { order[i] = i; total += op_secs[i]; }
    qsort(order, %(n)d, sizeof order[0], op_cmp);
    fprintf(stderr, "OPPROFILE total %%.4f s in kernel calls\\n", total);
    for (int k = 0; k < %(n)d; k++) {
        int i = order[k];
        if (op_calls[i])
            fprintf(stderr, "OP %%9.4f %%6.2f%%%% %%7ld %%s\\n", op_secs[i], 100 * op_secs[i] / total,
                    op_calls[i], op_label[i]);
    }
}
""" % dict(n=max(len(labels), 1), labels=",\n".join('    "%s"' % l for l in labels) or "    0")
# the include line must come first: it defines real and the kernels
inc = '#include "cpu_kernels_all.h"\n'
assert inc in body
body = body.replace(inc, inc + head, 1)
fd, tmp = tempfile.mkstemp(suffix=".c", prefix="kernels-prof-")
with os.fdopen(fd, "w") as f:
    f.write(body)
try:
    rc = subprocess.call([cc] + [tmp if a == src else a for a in args])
finally:
    os.unlink(tmp)
sys.exit(rc)
