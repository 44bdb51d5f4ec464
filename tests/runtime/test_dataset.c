#include "rt_test.h"
int test_dataset(TestCtx *ctx) { (void)ctx; return 0; }
int test_fashion_mnist(TestCtx *ctx) { (void)ctx; return 0; }
