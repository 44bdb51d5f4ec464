#include "tr_test.h"
int test_augment(TestCtx *ctx) { return ctx->failures; }
int test_progress(TestCtx *ctx) { return ctx->failures; }
int test_signal(TestCtx *ctx) { return ctx->failures; }
int test_json(TestCtx *ctx) { return ctx->failures; }
