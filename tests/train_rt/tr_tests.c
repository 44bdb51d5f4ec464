/* tr_tests.c: the training-runtime tests' driver. `train_rt_tests GROUP
 * [DIR]` runs one group and exits non-zero on failure; DIR is the group's
 * scratch directory. `train_rt_tests optim-tool ...` is the helper that
 * optim_torch_check.py calls. */
#define _POSIX_C_SOURCE 200809L
#include "tr_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tr_write_file(const char *path, const void *data, size_t n) {
  if (remove(path) != 0 && errno != ENOENT) return -1;
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  int rc = (n && fwrite(data, 1, n, fp) != n) ? -1 : 0;
  if (fclose(fp) != 0) rc = -1;
  return rc;
}

unsigned char *tr_read_file(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  size_t cap = 4096, len = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + len, 1, cap - len, fp);
    len += got;
    if (len < cap) break;
    unsigned char *b = realloc(buf, cap *= 2);
    if (!b) free(buf);
    buf = b;
  }
  if (buf && ferror(fp)) free(buf), buf = NULL;
  fclose(fp);
  *n = len;
  return buf;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(TestCtx *);
  } groups[] = {
      {"optim", test_optim},
      {"checkpoint", test_checkpoint},
      {"rng", test_rng},
      {"augment", test_augment},
      {"progress", test_progress},
      {"signal", test_signal},
      {"json", test_json},
  };
  if (argc >= 2 && strcmp(argv[1], "optim-tool") == 0) return test_optim_tool(argc - 2, argv + 2);
  if (argc < 2) {
    fprintf(stderr, "usage: train_rt_tests GROUP [DIR] | train_rt_tests optim-tool ...\n");
    return 2;
  }
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    if (strcmp(argv[1], groups[i].name) == 0) {
      TestCtx ctx = {0, argc >= 3 ? argv[2] : "."};
      int failures = groups[i].fn(&ctx);
      if (failures) fprintf(stderr, "%s: %d check(s) failed\n", argv[1], failures);
      else printf("%s: all checks passed\n", argv[1]);
      return failures ? 1 : 0;
    }
  fprintf(stderr, "train_rt_tests: unknown group '%s'\n", argv[1]);
  return 2;
}
