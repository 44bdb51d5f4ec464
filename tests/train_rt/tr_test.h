/* tr_test.h: shared helpers of the training-runtime tests (one binary,
 * train_rt_tests, with a subcommand per group). CHECK records a failure with
 * file and line and keeps going; a group returns the number of failures. */
#ifndef TR_TEST_H
#define TR_TEST_H

#include "sharprt.h"

#include <stdio.h>

/* Failure counter of the running group. */
typedef struct TestCtx {
  int failures;
  const char *tmpdir; /* scratch directory of this run */
} TestCtx;

#define CHECK(ctx, cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      (ctx)->failures++;                                                       \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

int test_optim(TestCtx *ctx);
int test_optim_tool(int argc, char **argv);
int test_checkpoint(TestCtx *ctx);
int test_rng(TestCtx *ctx);
int test_augment(TestCtx *ctx);
int test_progress(TestCtx *ctx);
int test_signal(TestCtx *ctx);
int test_json(TestCtx *ctx);

/* Replaces path with n bytes of data; 0 on success. */
int tr_write_file(const char *path, const void *data, size_t n);
/* Reads a whole file into a malloc'd buffer; NULL on failure. */
unsigned char *tr_read_file(const char *path, size_t *n);

#endif
