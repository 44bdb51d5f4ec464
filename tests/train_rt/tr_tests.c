/* tr_tests.c: the training-runtime tests' driver. `train_rt_tests GROUP
 * [DIR]` runs one group and exits non-zero on failure; DIR is the group's
 * scratch directory. `train_rt_tests optim-tool ...` is the helper that
 * optim_torch_check.py calls. */
#define _POSIX_C_SOURCE 200809L
#include "tr_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
      {"spin", test_spin},
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
