/* ops.c: the op facts of ops.def as tables indexed by IrOp. */
#include "ir.h"

static const struct {
    const char *name;
    int min_in, max_in;
    unsigned attrs;
    bool grad;
} op_table[OP__COUNT] = {
#define OP(id, nm, mi, ma, at, gr) [OP_##id] = { nm, mi, ma, at, gr },
#include "ops.def"
#undef OP
};

const char *ir_op_name(IrOp op) { return op < OP__COUNT ? op_table[op].name : "?"; }
int ir_op_min_inputs(IrOp op) { return op_table[op].min_in; }
int ir_op_max_inputs(IrOp op) { return op_table[op].max_in; }
unsigned ir_op_attrs(IrOp op) { return op_table[op].attrs; }
bool ir_op_differentiable(IrOp op) { return op_table[op].grad; }
