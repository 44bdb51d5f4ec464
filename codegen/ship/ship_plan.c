/* ship_plan.c: the inference program of a fixed network, as `sharpc emit`
 * writes it: which nodes compute, which vanish, where each value lives.
 * - Only what the "logits" output needs runs (no loss, no auxiliary head);
 *   drop path is the identity; zero ops are dropped from the sums they feed.
 * - A batch norm is folded into the convolution before it (or into each
 *   convolution of a concat before it); any other batch norm becomes a
 *   per-channel scale and shift.
 * - A ReLU runs in the epilogue of the kernel that made its input when it is
 *   that value's one reader; else, when only depthwise convolutions read it
 *   (and the target's kernels can), they apply it as they load their input;
 *   else it is computed once.
 * - Every value that remains gets an offset in one arena, per sample,
 *   reused as soon as its last reader has run (first fit, in node order).
 * The parameters are the state_dict tensors after folding (the fold steps
 * are listed here and executed by the emitted loader). */
#include <string.h>

#include "ship.h"
#include "util.h"

#define ALIGN 16 /* floats: arena offsets per sample stay 64-byte aligned */

static const uint32_t *ins(const IrGraph *g, int v) { return ir_inputs(g, v); }

static bool is_depthwise(const IrGraph *g, int v)
{
    const IrNode *n = &g->nodes[v];
    if (n->op != OP_CONV2D) return false;
    int ci = g->nodes[ins(g, v)[0]].shape.d[1];
    return n->a.groups == ci && n->a.groups == n->shape.d[1];
}

static int add_tensor(ShipNet *s, int param)
{
    if (s->tensor[param] < 0) s->tensor[param] = s->ntensors++;
    return s->tensor[param];
}

static ShipFold *add_fold(ShipNet *s, int kind)
{
    GROW(s->folds, s->capfolds, s->nfolds + 1);
    ShipFold *f = &s->folds[s->nfolds++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->w = f->gamma = f->beta = f->mean = f->var = -1;
    return f;
}

/* The fold step of batch norm b over channels [c0, c0 + co) into the
 * parameters at dst (weights or scale) and bdst (bias or shift). */
static void fold_bn(ShipNet *s, ShipFold *f, int b, int c0, int co)
{
    const IrGraph *g = s->g;
    const IrNode *n = &g->nodes[b];
    f->mean = add_tensor(s, (int)ins(g, b)[1]);
    f->var = add_tensor(s, (int)ins(g, b)[2]);
    if (n->nin >= 6) {
        f->gamma = add_tensor(s, (int)ins(g, b)[4]);
        f->beta = add_tensor(s, (int)ins(g, b)[5]);
    }
    f->eps = n->a.eps;
    f->c0 = c0;
    f->co = co;
}

/* Parameter space, 16-float aligned (vector loads of weights stay aligned). */
static int64_t take(ShipNet *s, int64_t floats)
{
    int64_t at = (s->nparams + ALIGN - 1) / ALIGN * ALIGN;
    s->nparams = at + floats;
    return at;
}

/* First-fit arena allocation in node order; frees what died before v. */
static void plan_arena(ShipNet *s)
{
    const IrGraph *g = s->g;
    int n = g->n;
    int *death = xmalloc(sizeof(int) * (size_t)n);
    for (int v = 0; v < n; v++) death[v] = -1;
    for (int v = 0; v < n; v++) {
        if (!s->computed[v]) continue;
        death[v] = v;
        for (int i = 0; i < g->nodes[v].nin; i++) {
            int b = ship_reads(s, v, i);
            if (b >= 0 && death[b] < v) death[b] = v;
        }
    }
    death[s->rep[s->out]] = n;
    typedef struct { int64_t lo, hi; int node; } Iv;
    Iv *live = xmalloc(sizeof(Iv) * (size_t)n);
    int nlive = 0;
    for (int v = 0; v < n; v++) {
        if (!s->computed[v]) continue;
        for (int i = 0; i < nlive;)
            if (death[live[i].node] < v) live[i] = live[--nlive];
            else i++;
        if (v == s->rep[s->out] && s->direct_out) continue;
        int64_t size = (ir_shape_numel(g->nodes[v].shape) + ALIGN - 1) / ALIGN * ALIGN;
        s->naive += size;
        /* lowest offset where [at, at + size) meets no live interval */
        int64_t at = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int i = 0; i < nlive; i++)
                if (at < live[i].hi && live[i].lo < at + size) {
                    at = live[i].hi;
                    moved = true;
                }
        }
        s->off[v] = at;
        live[nlive++] = (Iv){ at, at + size, v };
        if (at + size > s->arena) s->arena = at + size;
    }
    free(live);
    free(death);
}

int ship_value(const ShipNet *s, int u) { return s->rep[u]; }

int ship_reads(const ShipNet *s, int v, int slot)
{
    const IrGraph *g = s->g;
    int u = (int)ins(g, v)[slot];
    if (g->nodes[u].op == OP_PARAM || g->nodes[u].op == OP_INPUT) return -1;
    int b = s->rep[u];
    if (s->prologue[b]) b = s->rep[ins(g, b)[0]];
    if (s->zero[b] && !s->computed[b]) return -1;
    return b;
}

int ship_sum_terms(const ShipNet *s, int v, int *terms, int max)
{
    const IrGraph *g = s->g;
    int k = 0;
    for (int i = 0; i < g->nodes[v].nin && k < max; i++)
        if (ship_reads(s, v, i) >= 0 || g->nodes[s->rep[ins(g, v)[i]]].op == OP_INPUT) terms[k++] = i;
    if (k < 2) die("a sum of fewer than two terms reaches the emitter");
    return k;
}

bool ship_plan(const IrGraph *g, bool prologue_ok, ShipNet *s)
{
    memset(s, 0, sizeof *s);
    s->g = g;
    int n = s->n = g->n;
    s->out = ir_find_output(g, "logits");
    if (s->out < 0) {
        snprintf(s->err, sizeof s->err, "network %s has no \"logits\" output", g->name);
        return false;
    }
    s->live = xcalloc((size_t)n, sizeof(bool));
    s->rep = xmalloc(sizeof(int) * (size_t)n);
    s->computed = xcalloc((size_t)n, sizeof(bool));
    s->zero = xcalloc((size_t)n, sizeof(bool));
    s->fold = xmalloc(sizeof(int) * (size_t)n);
    s->relu_after = xcalloc((size_t)n, sizeof(bool));
    s->prologue = xcalloc((size_t)n, sizeof(bool));
    s->off = xmalloc(sizeof(int64_t) * (size_t)n);
    s->pw = xmalloc(sizeof(int64_t) * (size_t)n);
    s->pb = xmalloc(sizeof(int64_t) * (size_t)n);
    s->tensor = xmalloc(sizeof(int) * (size_t)n);
    int *cnt = xcalloc((size_t)n, sizeof(int));
    for (int v = 0; v < n; v++) {
        s->rep[v] = v;
        s->fold[v] = -1;
        s->off[v] = s->pw[v] = s->pb[v] = -1;
        s->tensor[v] = -1;
    }

    /* liveness from the logits */
    s->live[s->out] = true;
    for (int v = s->out; v >= 0; v--) {
        if (!s->live[v]) continue;
        const IrNode *nd = &g->nodes[v];
        if (nd->op == OP_MIXED || nd->op == OP_ARCH_SOFTMAX) {
            snprintf(s->err, sizeof s->err,
                     "network %s is a search network (it has mixed ops); emit a fixed network: the "
                     "genotype.nas that the search wrote",
                     g->name);
            free(cnt);
            return false;
        }
        for (int i = 0; i < nd->nin; i++) s->live[ins(g, v)[i]] = true;
    }

    /* pass A: identities (drop path, sums with one non-zero term), zeros */
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!s->live[v]) continue;
        if (nd->op == OP_DROP_PATH) {
            s->rep[v] = s->rep[ins(g, v)[0]];
        } else if (nd->op == OP_ZERO) {
            s->zero[v] = true;
        } else if (nd->op == OP_ADD) {
            int k = 0, last = -1;
            for (int i = 0; i < nd->nin; i++)
                if (!s->zero[s->rep[ins(g, v)[i]]]) k++, last = s->rep[ins(g, v)[i]];
            if (k == 0) s->zero[v] = true;
            else if (k == 1) s->rep[v] = last;
        }
    }
    /* what the logits read, through the identities; the readers of each
     * value (sums skip zero terms, a zero op reads nothing) */
    int *repa = xmalloc(sizeof(int) * (size_t)n);
    bool *need = xcalloc((size_t)n, sizeof(bool));
    memcpy(repa, s->rep, sizeof(int) * (size_t)n);
    need[repa[s->out]] = true;
    cnt[repa[s->out]]++;
    for (int v = n - 1; v >= 0; v--) {
        const IrNode *nd = &g->nodes[v];
        if (!need[v] || s->zero[v] || nd->op == OP_PARAM || nd->op == OP_INPUT) continue;
        for (int i = 0; i < nd->nin; i++) {
            int u = repa[ins(g, v)[i]];
            if (g->nodes[u].op == OP_PARAM || (nd->op == OP_ADD && s->zero[u])) continue;
            need[u] = true;
            cnt[u]++;
        }
    }

    /* pass B: folds and ReLU placement */
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!s->live[v] || nd->op == OP_PARAM || nd->op == OP_INPUT) continue;
        if (repa[v] != v) {
            s->rep[v] = s->rep[repa[v]];
            continue;
        }
        if (!need[v]) continue;
        if (s->zero[v]) {
            s->computed[v] = true; /* read by something else than a sum */
            continue;
        }
        int xa = nd->nin ? repa[ins(g, v)[0]] : -1; /* the value read, before folds */
        int x = xa >= 0 ? s->rep[xa] : -1;           /* where it is */
        if (nd->op == OP_BATCH_NORM && xa == x && g->nodes[x].op == OP_CONV2D && cnt[x] == 1 && s->fold[x] < 0) {
            s->fold[x] = v;
            s->rep[v] = x;
            continue;
        }
        if (nd->op == OP_BATCH_NORM && xa == x && g->nodes[x].op == OP_CONCAT && cnt[x] == 1) {
            bool ok = true;
            for (int i = 0; i < g->nodes[x].nin && ok; i++) {
                int c = repa[ins(g, x)[i]];
                ok = g->nodes[c].op == OP_CONV2D && cnt[c] == 1 && s->fold[c] < 0 && s->rep[c] == c;
            }
            if (ok) {
                for (int i = 0; i < g->nodes[x].nin; i++) s->fold[repa[ins(g, x)[i]]] = v;
                s->rep[v] = x;
                continue;
            }
        }
        if (nd->op == OP_RELU) {
            const IrNode *xn = &g->nodes[x];
            if (cnt[xa] == 1 && s->computed[x] && !s->relu_after[x] &&
                (xn->op == OP_CONV2D || xn->op == OP_BATCH_NORM || xn->op == OP_LINEAR)) {
                s->relu_after[x] = true;
                s->rep[v] = x;
                continue;
            }
            bool dw = v != repa[s->out];
            for (int c = v + 1; c < n && dw; c++) {
                if (!need[c] || repa[c] != c || s->zero[c]) continue;
                for (int i = 0; i < g->nodes[c].nin; i++)
                    if (repa[ins(g, c)[i]] == v && !(i == 0 && is_depthwise(g, c))) dw = false;
            }
            if (dw && prologue_ok) {
                s->prologue[v] = true;
                continue;
            }
        }
        s->computed[v] = true;
    }
    free(repa);
    free(need);

    /* parameters: fold steps in node order */
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!s->computed[v]) continue;
        if (nd->op == OP_CONV2D) {
            int w = (int)ins(g, v)[1];
            int64_t numel = ir_shape_numel(g->nodes[w].shape);
            int co = nd->shape.d[1];
            s->pw[v] = take(s, numel);
            if (s->fold[v] < 0) {
                ShipFold *f = add_fold(s, SHIP_FOLD_COPY);
                f->w = add_tensor(s, w);
                f->dst = s->pw[v];
                continue;
            }
            s->pb[v] = take(s, co);
            int b = s->fold[v], c0 = 0;
            int bx = s->rep[ins(g, b)[0]];
            if (bx != v) /* a concat of convs: this conv's channel range */
                for (int i = 0; i < g->nodes[bx].nin && s->rep[ins(g, bx)[i]] != v; i++)
                    c0 += g->nodes[ins(g, bx)[i]].shape.d[1];
            ShipFold *f = add_fold(s, SHIP_FOLD_CONV_BN);
            f->w = add_tensor(s, w);
            fold_bn(s, f, b, c0, co);
            f->k = numel / co;
            f->dst = s->pw[v];
            f->bdst = s->pb[v];
        } else if (nd->op == OP_BATCH_NORM) {
            int C = nd->shape.d[1];
            s->pw[v] = take(s, C);
            s->pb[v] = take(s, C);
            ShipFold *f = add_fold(s, SHIP_FOLD_BN);
            fold_bn(s, f, v, 0, C);
            f->dst = s->pw[v];
            f->bdst = s->pb[v];
        } else if (nd->op == OP_LINEAR) {
            for (int i = 1; i < nd->nin; i++) {
                int p = (int)ins(g, v)[i];
                int64_t at = take(s, ir_shape_numel(g->nodes[p].shape));
                if (i == 1) s->pw[v] = at;
                else s->pb[v] = at;
                ShipFold *f = add_fold(s, SHIP_FOLD_COPY);
                f->w = add_tensor(s, p);
                f->dst = at;
            }
        }
    }
    s->direct_out = s->computed[s->rep[s->out]] && g->nodes[s->rep[s->out]].op == OP_LINEAR;
    plan_arena(s);
    free(cnt);
    return true;
}

void ship_plan_free(ShipNet *s)
{
    free(s->live);
    free(s->rep);
    free(s->computed);
    free(s->zero);
    free(s->fold);
    free(s->relu_after);
    free(s->prologue);
    free(s->off);
    free(s->pw);
    free(s->pb);
    free(s->tensor);
    free(s->folds);
    memset(s, 0, sizeof *s);
}
