/* ir.h: the graph IR of sharpc, one section per file.
 *
 * A graph of tensor operations on NCHW float32 tensors whose C, H and W are
 * static; the batch N is the one symbolic dimension. Nodes live in arrays
 * owned by the graph and refer to each other by index; inputs of a node always
 * have smaller indices (the node order is a topological order). Parameters
 * (weights, BN buffers, architecture parameters) are PARAM nodes named with
 * the reference PyTorch state_dict names (see shared/docs/weights-format.md). */
#ifndef SHARPC_IR_H
#define SHARPC_IR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Attribute groups an op may carry (the `attributes` column of ops.def). */
enum {
    IR_A_KERNEL = 1 << 0,    /* kh x kw */
    IR_A_STRIDE = 1 << 1,    /* sh x sw */
    IR_A_PAD = 1 << 2,       /* top, bottom, left, right; negative crops */
    IR_A_DIL = 1 << 3,       /* dh x dw */
    IR_A_GROUPS = 1 << 4,
    IR_A_EPS = 1 << 5,
    IR_A_MOMENTUM = 1 << 6,
    IR_A_AFFINE = 1 << 7,
    IR_A_CIP = 1 << 8,       /* avg pool counts padding in the divisor */
    IR_A_RANGE = 1 << 9,     /* channel range [start, end) */
    IR_A_SCALE = 1 << 10,
    IR_A_ROW = 1 << 11,      /* row of the architecture weights */
    IR_A_WEIGHTING = 1 << 12,/* scalar or max_w */
};

typedef enum {
#define OP(id, name, min_in, max_in, attrs, grad) OP_##id,
#include "ops.def"
#undef OP
    OP__COUNT
} IrOp;

/* ---- ops.c: facts about ops, from ops.def ---- */

const char *ir_op_name(IrOp op);
int ir_op_min_inputs(IrOp op);
int ir_op_max_inputs(IrOp op);  /* -1: any */
unsigned ir_op_attrs(IrOp op);
bool ir_op_differentiable(IrOp op);

/* ---- graph.c: nodes, parameters, strings ---- */

typedef enum {
    IR_F32,  /* float32 */
    IR_I64,  /* int64: labels, num_batches_tracked */
} IrDtype;

typedef enum {
    IR_WEIGHTING_SCALAR, /* y = sum_k w_k o_k (DARTS) */
    IR_WEIGHTING_MAX_W,  /* y = sum_k (1 - max w + w_k) o_k (sharpDARTS Max-W) */
} IrWeighting;

typedef enum {
    IR_PARAM_WEIGHT, /* trained by SGD, counted as a parameter */
    IR_PARAM_BUFFER, /* BN running statistics and counters */
    IR_PARAM_ARCH,   /* architecture parameters (alphas), trained by Adam */
} IrParamKind;

typedef enum {
    IR_INIT_NONE,
    IR_INIT_KAIMING_UNIFORM, /* PyTorch default for conv/linear weights (a = sqrt 5) */
    IR_INIT_BIAS_UNIFORM,    /* uniform in +-1/sqrt(fan_in) */
    IR_INIT_ONES,
    IR_INIT_ZEROS,
    IR_INIT_ARCH_NORMAL,     /* 1e-3 * N(0, 1) */
} IrInit;

/* A shape: rank <= 4; when `batched`, dims[0] is the symbolic batch N. */
typedef struct {
    int8_t rank;
    bool batched;
    int32_t d[4];
} IrShape;

typedef struct {
    int kh, kw, sh, sw;
    int pt, pb, pl, pr;  /* padding; negative values crop */
    int dh, dw, groups;
    int start, end;      /* channel range */
    float eps, momentum, scale;
    bool affine, cip;
    int row;
    IrWeighting weighting;
} IrAttrs;

typedef struct {
    IrOp op;
    uint32_t in0;      /* first input in IrGraph.ins */
    uint16_t nin;      /* number of inputs */
    IrDtype dtype;
    IrShape shape;
    IrAttrs a;
    int32_t name;      /* string id: parameter / input name, -1 */
    int32_t region;    /* string id: "stem", "cell normal", "head", ... */
    int16_t cell;      /* cell index, -1 outside cells */
    bool aux;          /* part of the auxiliary head (training only) */
    uint8_t pkind;     /* PARAM: IrParamKind */
    uint8_t init;      /* PARAM: IrInit */
    int32_t fan_in;    /* PARAM: fan-in used by its initializer */
} IrNode;

typedef struct {
    int32_t name;      /* string id */
    int32_t node;
} IrOutput;

typedef struct IrGraph {
    char *name;
    IrNode *nodes;
    int n, cap;
    uint32_t *ins;
    int nins, capins;
    char **strs;
    int nstrs, capstrs;
    IrOutput *outs;
    int nouts, capouts;
    /* Stamped on every node created: set by the elaborator as it goes. */
    int32_t cur_region;
    int16_t cur_cell;
    bool cur_aux;
    char err[512];     /* why the last ir_add failed */
    /* "key=value" facts for the runtime that are not ops: the run settings
     * of the file's search or train block, the op names of search edges. */
    char **meta;
    int nmeta, capmeta;
} IrGraph;

IrGraph *ir_graph_new(const char *name);
void ir_graph_free(IrGraph *g);
int32_t ir_str(IrGraph *g, const char *s);           /* interns s */
const char *ir_str_get(const IrGraph *g, int32_t id); /* "" for -1 */
void ir_set_region(IrGraph *g, const char *region, int cell, bool aux);

IrShape ir_shape4(int c, int h, int w);              /* [N, c, h, w] */
int ir_shape_numel(IrShape s);                       /* elements, N counted as 1 */
bool ir_shape_eq(IrShape a, IrShape b);
int ir_input(IrGraph *g, const char *name, IrShape shape, IrDtype dtype);
int ir_param(IrGraph *g, const char *name, IrShape shape, IrDtype dtype,
             IrParamKind kind, IrInit init, int fan_in);
/* Adds a node, inferring its shape. Returns its index, or -1 with g->err set
 * when the inputs do not fit the op (the message states both shapes). */
int ir_add(IrGraph *g, IrOp op, const int *inputs, int nin, const IrAttrs *a);
void ir_output(IrGraph *g, const char *name, int node);
/* Sets meta fact key to the printf-formatted value (replacing it). */
void ir_meta(IrGraph *g, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The value of meta fact key, or NULL. */
const char *ir_meta_get(const IrGraph *g, const char *key);
int ir_find_output(const IrGraph *g, const char *name);
const uint32_t *ir_inputs(const IrGraph *g, int node);
IrAttrs ir_attrs_default(void);

/* Where parameters live at run time: one flat array per class, each in node
 * order (the runtime's RtParamKind has the same members in the same order). */
typedef enum {
    IR_PCLASS_WEIGHT,  /* trained weights, F32 */
    IR_PCLASS_BUFFER,  /* BN running statistics, F32 */
    IR_PCLASS_COUNTER, /* BN num_batches_tracked, I64 */
    IR_PCLASS_ARCH,    /* architecture parameters, F32 */
    IR_PCLASS__COUNT
} IrParamClass;

/* The class of PARAM node n. */
IrParamClass ir_param_class(const IrNode *n);
/* Element offset of every PARAM node in its class's array (off[v], -1 for
 * other nodes) and the arrays' sizes. */
void ir_param_layout(const IrGraph *g, int64_t *off, int64_t size[IR_PCLASS__COUNT]);

/* ---- shapes.c: the shape rule of every op (ir_shape_<ID>) ---- */

/* Fills out->shape of node `n` from its inputs; false with g->err on misfit. */
bool ir_infer_shape(IrGraph *g, IrNode *n);
int ir_conv_out(int size, int k, int stride, int pad_lo, int pad_hi, int dil);
char *ir_shape_str(IrShape s, char *buf, int size); /* "[N,16,32,32]" */

/* ---- print.c: the stable text form ---- */

void ir_print(const IrGraph *g, FILE *out);

/* ---- verify.c: invariants between passes ---- */

/* Checks the graph's invariants; false with a message in err. */
bool ir_verify(IrGraph *g, char *err, int size);

/* ---- stats.c: parameters and multiply-adds ---- */

typedef struct {
    char *name;          /* region or op kind */
    int64_t params;
    int64_t macs;
} IrStatRow;

typedef struct {
    int64_t params;      /* trainable, auxiliary head excluded */
    int64_t macs;        /* one eval forward at batch 1, auxiliary head excluded */
    int64_t aux_params;
    int64_t aux_macs;
    int64_t arch_params;
    int64_t buffers;     /* BN running statistics, not counted above */
    IrStatRow *regions;  /* per region ("stem", "cell normal", ...) */
    int nregions;
    IrStatRow *ops;      /* per op kind */
    int nops;
} IrStats;

void ir_stats(const IrGraph *g, IrStats *st);
void ir_stats_free(IrStats *st);
void ir_stats_print(const IrGraph *g, const IrStats *st, FILE *out);
int64_t ir_node_macs(const IrGraph *g, int node);

/* ---- cse.c: common subexpressions ---- */

/* Merges nodes that compute the same thing (same op, inputs and attributes;
 * never params, inputs, batch norms or drop paths, which carry state or
 * randomness): e.g. the ReLU that every candidate of a search edge applies
 * to the same state. Rewrites the inputs of later nodes and the outputs;
 * merged nodes stay in the array, dead. Returns the number merged. */
int ir_cse(IrGraph *g);

/* ---- autodiff.c: the backward graph ---- */

/* Gradient needs of one node input; bit i of IrGradStep.need / .acc. */
typedef struct {
    int node;        /* forward node whose output gradient is propagated */
    uint32_t need;   /* bit i: input slot i gets a gradient piece */
    uint32_t acc;    /* bit i: that input's gradient already holds pieces: add */
} IrGradStep;

/* The backward graph: the gradient of every needed node's output is the sum
 * of the pieces its consumers send it; steps run in reverse node order, so
 * each gradient is complete before its own step reads it. The seeds are the
 * graph outputs (their gradients come from the loss). */
typedef struct {
    int n;            /* nodes in the forward graph */
    bool *live;       /* [n] node is computed in training (reaches an output) */
    bool *grad;       /* [n] the gradient of this node's output is computed */
    bool *zeroed;     /* [n] gradient built row by row (architecture weights):
                         zeroed before the backward, every piece added */
    IrGradStep *steps;
    int nsteps;
} IrBackward;

/* True when slot `slot` of node `node` carries a gradient to its input. */
bool ir_slot_differentiable(const IrGraph *g, int node, int slot);
/* Builds the backward graph of g for gradients of weights, architecture
 * parameters and the input named "images"; training mode (aux head live). */
void ir_autodiff(const IrGraph *g, IrBackward *bw);
void ir_backward_free(IrBackward *bw);
/* Mask of the forward tensors the backward step of node `node` reads: bit i
 * for input slot i, bit 31 for the node's own output. */
uint32_t ir_bwd_reads(const IrGraph *g, int node, uint32_t need);
void ir_backward_print(const IrGraph *g, const IrBackward *bw, FILE *out);

/* ---- fuse.c: fusions and recomputation ---- */

/* Decisions that let the memory plan keep fewer tensors for the backward,
 * recorded beside the graph (the IR text is unchanged):
 * - prologue: a RELU that feeds only depthwise convs stores nothing; each
 *   conv applies it to its input as it reads it, in the forward and in the
 *   weight gradient, and the RELU's backward takes its mask from the same
 *   recomputed value. A plain RELU (its input is stored) may also feed
 *   pointwise convs (1x1, stride 1, unpadded, one group), whose GEMMs apply
 *   it as they pack their panels. When the RELU's input is a BATCH_NORM
 *   consumed by nothing else and the convs are depthwise, that BN stores no
 *   output either (bn_stats): the convs read
 *   the BN's input through x_eff = relu((x - mean[c])*scale[c] + shift[c])
 *   with scale = gamma*invstd, shift = beta (BN + ReLU fused into the conv).
 *   Nor an output gradient: the BN's backward takes the RELU's output
 *   gradient and applies the RELU's mask itself (the RELU's step does
 *   nothing).
 * - recompute: a depthwise conv whose one consumer is a conv keeps its
 *   output only during the forward; the consumer's weight gradient
 *   recomputes it (a cheap depthwise pass) into a short-lived buffer.
 *   When that consumer is pointwise (1x1, stride 1, unpadded, one group),
 *   the two run as one forward kernel (dwpw): each sample's depthwise
 *   planes stay in cache for the pointwise GEMM, in a slice of the
 *   depthwise output's buffer that each thread reuses; and the pointwise
 *   weight gradient recomputes the planes it needs as its tiles ask for
 *   them, in slices of the recompute buffer. When the depthwise conv's
 *   backward step directly follows the pointwise one's (dwpw_bwd), the
 *   pointwise data gradient, the depthwise data gradient and the
 *   depthwise weight gradient run as one kernel in the pointwise step:
 *   each sample's depthwise output gradient stays in cache in a slice of
 *   its buffer (the depthwise step does nothing; the gradient of the
 *   depthwise input starts at the pointwise step). A training BN of the
 *   pointwise output whose forward comes next (bn_moments) takes its
 *   statistics from per-plane moments that the fused forward computes
 *   while each sample's output is in cache (k_bn_plane_moments), passed in
 *   the scratch tensor, which the forward uses for nothing else; the BN
 *   then reads its input only to normalize it. So does a BN of any other
 *   pointwise conv whose input is stored or goes through a plain ReLU
 *   (k_conv2d_fwd_moments: each plane's moments as its GEMM task ends).
 * - mask: a plain prologue RELU with one consumer, a pointwise conv or a
 *   dwpw_bwd depthwise conv, whose backward step directly precedes the
 *   RELU's: that step (the pointwise one's for the pair) writes the conv's
 *   data gradient through the RELU's mask (its input > 0) into the RELU
 *   input's gradient, as the RELU's step would add or write it; the RELU's
 *   own gradient is never stored and its step does nothing (mask_step
 *   names the conv whose step does it). So for a plain prologue RELU
 *   whose consumers are all pointwise convs, the last of which in the
 *   backward steps directly before the RELU (mask_keep): that conv adds
 *   its piece to the RELU's gradient, which holds the others' pieces, and
 *   masks the sum into the RELU input's gradient as it goes.
 * - bn_split: a bn_stats BN between two dwpw_bwd pairs (pw1 -> BN -> RELU
 *   -> dw2 -> pw2, each with one consumer) whose backward steps run back
 *   to back: pw2's kernel also sums the BN's backward over the RELU
 *   gradient it writes (plane sums in the scratch tensor), the BN's step
 *   only turns them into its parameter gradients and three coefficients
 *   per channel (kept after its saved statistics), and pw1's kernel
 *   applies them to the RELU's gradient as it reads it (bn_apply; the
 *   BN's output gradient buffer serves it as scratch). The BN's data
 *   gradient is never written; the RELU's gradient and the BN's input
 *   live until pw1's step.
 * - mixed_bn: a BATCH_NORM candidate of a MIXED node stores no output and
 *   no output gradient: its forward adds c_k * y straight into the MIXED
 *   output (the weighted accumulation fused into the candidate; mix_first
 *   says which candidate writes first), its backward reads c_k times the
 *   MIXED node's gradient, and the architecture gradient's <gy, y> is
 *   computed from the BN input and its saved statistics.
 * - add_bn: a training BATCH_NORM whose one consumer is a two-input ADD,
 *   directly or through a DROP_PATH with that one consumer (add_drop):
 *   the BN stores no output, its forward only its statistics and scale
 *   and shift (like mixed_bn), and the ADD normalizes the BN's input as it
 *   sums (k_add_bn), applying the drop path too; the BN's backward reads
 *   the ADD's gradient through the drop path's mask (neither the BN's nor
 *   the drop path's output gradient is stored; their steps do nothing but
 *   the BN's).
 * - pw_apply: a plain training BATCH_NORM (none of the above) of a
 *   pointwise conv that reads its stored input plainly or through a plain
 *   ReLU and has no other consumer, whose backward steps run back to back
 *   (the BN's, then the conv's): the BN's step computes its parameter
 *   gradients and three coefficients per channel (kept after its saved
 *   statistics), and the conv's step applies them to the BN's output
 *   gradient as it reads it, sample by sample, and takes its data and
 *   weight gradients from there while in cache (k_conv2d_pw_bwd_bn; the
 *   BN's input gradient is never written, its buffer serves as scratch).
 *   The BN's output gradient lives until the conv's step.
 * - cat_view: a two-input ADD whose one consumer is a CONCAT writes its
 *   output straight into its channels of the CONCAT's buffer (k_add_bn
 *   with the CONCAT's layout), which lives from the first such ADD on;
 *   the CONCAT copies nothing for it. Its gradient is stored as any
 *   other: read in place from the CONCAT's, the BNs' per-channel passes
 *   over samples Ctot*HW apart missed the cache (measured: the backward
 *   lost what the forward gained).
 * - fr: a FactorizedReduce (prelude.nas), RELU r -> CONV2D y1 and r ->
 *   PAD p (top and left -1, bottom and right >= 0) -> CONV2D y2, both 1x1
 *   of stride 2, -> CONCAT c, p, y1 and y2 with no other consumer, whose
 *   backward steps run back to back (c, y2, p, y1): c's forward computes
 *   the whole (k_fr_fwd) and c's step the weight gradients and the
 *   pieces p and y1 send r (k_fr_bwd); p, y1 and y2 store nothing, nor do
 *   their gradients, and their steps do nothing. When r has no other
 *   consumer and its step comes next, r is fused too: the kernels read
 *   r's input through the ReLU, c's step writes the gradient of r's input
 *   as r's step would (r stores nothing, its step does nothing).
 * - remat (CPU, asked for: `sharpc build --low-memory`): the pw1 of a
 *   bn_split chain keeps its output only during the forward; pw2's step
 *   first rebuilds it (pair 1's forward, into pw1's buffer, with pw1's
 *   depthwise conv's recompute buffer as its scratch and no moments: the
 *   BN's statistics are the saved ones), and it then lives until pw1's
 *   step. Bit for bit the same values; on a search supernet most of the
 *   tensors kept for the backward are such outputs.
 * - bn_relu (CUDA target only): a BATCH_NORM whose one consumer is a RELU
 *   stores no output and no output gradient: the BN + ReLU kernel writes
 *   the RELU's output, and the BN's backward masks the RELU's gradient by
 *   that output (the RELU's own step does nothing).
 * The CPU programs use prologue, mask, recompute, dwpw, dwpw_bwd, bn_moments, bn_split, mixed_bn, add_bn,
 * pw_apply, cat_view, fr and remat; the CUDA kernels
 * implement bn_relu and mixed_bn (IrFuseTarget). */
typedef enum {
    IR_FUSE_CPU,  /* prologue, bn_stats, recompute, mixed_bn */
    IR_FUSE_CUDA, /* bn_relu, mixed_bn */
} IrFuseTarget;

typedef struct {
    int n;
    IrFuseTarget target;
    bool *prologue;  /* [n] RELU applied by its consumer convs, never stored */
    bool *bn_stats;  /* [n] BATCH_NORM feeding a prologue RELU only: statistics, no output */
    bool *recompute; /* [n] depthwise CONV2D recomputed for its consumer's weight gradient */
    bool *dwpw;      /* [n] recompute CONV2D whose consumer is pointwise: one fused forward */
    bool *dwpw_bwd;  /* [n] dwpw CONV2D whose backward step follows its consumer's: the data
                        gradients and its weight gradient in one kernel, in the consumer's step */
    bool *bn_moments; /* [n] BATCH_NORM of a pointwise conv's output (a dwpw pair's, or plain), next
                         in the forward: the conv's kernel computes its plane moments (in the
                         scratch tensor) */
    bool *mixed_bn;  /* [n] BATCH_NORM candidate accumulated into its MIXED node, never stored */
    bool *bn_relu;   /* [n] BATCH_NORM fused with its one consumer, a RELU (CUDA), never stored */
    bool *bn_split;  /* [n] bn_stats BATCH_NORM between two dwpw_bwd pairs: backward split (see above) */
    bool *remat;     /* [n] the pointwise conv pw1 of a bn_split chain whose output is stored only
                        during the forward: pw2's step recomputes it (pair 1's forward) */
    int *bn_apply;   /* [n] pointwise CONV2D: the bn_split, add_apply or pw_apply BN of its output,
                        whose gradient its step applies, or -1 */
    int *mask_step;  /* [n] plain prologue RELU (mask): the conv whose backward step masks its one
                        consumer's data gradient into the RELU input's gradient, or -1 */
    bool *mask_keep; /* [n] mask RELU of several pointwise convs: its gradient is stored, mask_step
                        is the last to add to it */
    int *add_bn;     /* [n] BATCH_NORM whose ADD (see above) normalizes its input, or -1 */
    bool *add_apply; /* [n] add_bn BATCH_NORM after a dwpw_bwd pair's pointwise conv whose step comes
                        right after the BN's: the BN's step computes its coefficients only, the
                        conv's applies them to the ADD's gradient as it reads it (bn_apply) */
    bool *pw_apply;  /* [n] plain training BATCH_NORM of a plain pointwise conv's output whose step comes
                        right after the BN's: the BN's step computes its coefficients only, the conv's
                        applies them to the BN's output gradient as it reads it (bn_apply) */
    int *add_drop;   /* [n] DROP_PATH between an add_bn BN and its ADD: the BN, or -1 */
    int *cat_view;   /* [n] ADD writing into its one consumer's buffer: that CONCAT, or -1 */
    int *fr;         /* [n] a FactorizedReduce's CONCAT, its PAD and two CONV2Ds, and its RELU when
                        fused too (see above): the CONCAT, or -1 */
    int *src;        /* [n] prologue RELU: the stored tensor its convs read; bn_stats BN: its RELU;
                        mixed_bn BN: its MIXED node; bn_relu BN: its RELU; dwpw CONV2D: its
                        pointwise consumer; add_bn BN: its DROP_PATH, or -1 */
    int *mix_slot;   /* [n] mixed_bn BN: its candidate index k in the MIXED node (input k + 1) */
    int *mix_first;  /* [n] MIXED node: its first mixed_bn candidate in node order, or -1 */
} IrFuse;

/* Decides the fusions of g (training graph bw) for target t, with remat
 * (CPU only) where it applies; never changes g. */
void ir_fuse(const IrGraph *g, const IrBackward *bw, IrFuseTarget t, bool remat, IrFuse *f);
void ir_fuse_free(IrFuse *f);
/* The remat pw1 whose output the backward step of pw2 v rebuilds first
 * (IrFuse.remat), or -1. */
int ir_fuse_rebuilt_in(const IrGraph *g, const IrFuse *f, int v);
/* The stored tensor that fused FactorizedReduce concat c reads (IrFuse.fr):
 * its RELU's input when the RELU is fused too or a plain prologue (the
 * kernels apply the ReLU), else the RELU's output. */
int ir_fuse_fr_input(const IrGraph *g, const IrFuse *f, int c);
/* One line per fused chain and per recomputed tensor, then a summary. */
void ir_fuse_print(const IrGraph *g, const IrFuse *f, FILE *out);

/* ---- plan.c: memory planning ---- */

/* Where each batched tensor lives in the activation arena: offsets and
 * sizes are in floats per sample (a tensor of node v occupies
 * [N*act[v], N*(act[v] + numel)) ), so one plan serves every batch size.
 * Unbatched tensors (architecture weights, their gradients, batch-norm
 * statistics, a fused BN's scale and shift at small[] of its prologue RELU)
 * get offsets in a small fixed area. -1: no storage. The plan runs ir_fuse
 * for its target first and keeps only what the fused programs read. */
typedef struct {
    int64_t *act;        /* [n] forward output */
    int64_t *grad;       /* [n] gradient of the output */
    int64_t *small;      /* [n] unbatched output or BN saved mean/invstd */
    int64_t *gsmall;     /* [n] gradient of an unbatched output */
    int64_t per_sample;  /* arena floats per sample, scratch included */
    int64_t scratch;     /* offset of the scratch tensor (per sample) */
    int64_t small_size;  /* floats in the small area */
    int64_t naive;       /* per-sample floats without reuse, for the report */
    int64_t *recomp;     /* [n] recompute conv: buffer of its recomputed output, -1 */
    /* In place (CPU plans only; -1 elsewhere). alias[v] = u: drop path v
     * over a tensor u that nothing reads after it masks u's buffer in place.
     * galias[u] = v: u's gradient, when its one piece comes from v (a drop
     * path, or one input of an add), is v's gradient buffer, which v's step
     * then leaves as it is (add; drop path off) or masks in place. With
     * drop path off (a first epoch, the benchmarks) the copies are gone. */
    int *alias;          /* [n] */
    int *galias;         /* [n] */
    IrFuse fuse;         /* the fusions the plan assumes (ir_fuse, run by ir_plan) */
} IrPlan;

/* remat: rebuild the remat tensors in the backward (IrFuse.remat, the
 * low-memory plan) instead of keeping them from the forward. */
void ir_plan(const IrGraph *g, const IrBackward *bw, IrFuseTarget t, bool remat, IrPlan *plan);
void ir_plan_free(IrPlan *plan);

#endif
