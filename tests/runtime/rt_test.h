/* rt_test.h: shared helpers of the runtime tests (one binary, rt_tests, with
 * a subcommand per group). CHECK records a failure with file and line and
 * keeps going; a group returns the number of failures. */
#ifndef RT_TEST_H
#define RT_TEST_H

#include "sharprt.h"

#include <stdio.h>

/* Failure counter of the running group (one per group, passed explicitly). */
typedef struct TestCtx {
  int failures;
  const char *tmpdir; /* scratch directory of this run */
} TestCtx;

#define CHECK(ctx, cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) {                                                         \
      (ctx)->failures++;                                                   \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                        \
      fputc('\n', stderr);                                                 \
    }                                                                      \
  } while (0)

int test_schedule(TestCtx *ctx);
int test_safetensors(TestCtx *ctx);
int test_safetensors_tool(int argc, char **argv);
int test_dataset(TestCtx *ctx);
int test_fashion_mnist(TestCtx *ctx);
int test_dataset_tool(int argc, char **argv);

/* Replaces path with n bytes of data; 0 on success. */
int write_file(const char *path, const void *data, size_t n);
/* Reads a whole file into a malloc'd buffer; NULL on failure. */
unsigned char *read_file(const char *path, size_t *n);

#endif
