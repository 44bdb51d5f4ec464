/* tr_test.h: shared helpers of the training-runtime tests (one binary,
 * train_rt_tests, with a subcommand per group). CHECK records a failure with
 * file and line and keeps going; a group returns the number of failures. */
#ifndef TR_TEST_H
#define TR_TEST_H

#include "rt_test.h" /* TestCtx, CHECK, write_file, read_file: tests/runtime */

int test_optim(TestCtx *ctx);
int test_optim_tool(int argc, char **argv);
int test_checkpoint(TestCtx *ctx);
int test_rng(TestCtx *ctx);
int test_augment(TestCtx *ctx);
int test_progress(TestCtx *ctx);
int test_signal(TestCtx *ctx);
int test_spin(TestCtx *ctx);
int test_json(TestCtx *ctx);

#endif
