/* rt_tests.c: the runtime tests' driver. `rt_tests GROUP [DIR]` runs one
 * group and exits non-zero on failure; DIR is the group's scratch directory,
 * or for fashion-mnist the data set's directory. `rt_tests st-tool ...` and
 * `rt_tests ds-tool ...` are the helpers the python cross-checks call. */
#define _POSIX_C_SOURCE 200809L
#include "rt_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(TestCtx *);
  } groups[] = {
      {"schedule", test_schedule},
      {"safetensors", test_safetensors},
      {"dataset", test_dataset},
      {"fashion-mnist", test_fashion_mnist},
  };
  if (argc >= 2 && strcmp(argv[1], "st-tool") == 0) return test_safetensors_tool(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "ds-tool") == 0) return test_dataset_tool(argc - 2, argv + 2);
  if (argc < 2) {
    fprintf(stderr, "usage: rt_tests GROUP [DIR] | rt_tests st-tool ... | rt_tests ds-tool ...\n");
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
  fprintf(stderr, "rt_tests: unknown group '%s'\n", argv[1]);
  return 2;
}
