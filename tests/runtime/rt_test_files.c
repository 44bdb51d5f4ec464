/* rt_test_files.c: whole-file helpers shared by the runtime test binaries
 * (rt_tests and train_rt_tests). */
#define _POSIX_C_SOURCE 200809L
#include "rt_test.h"

#include <errno.h>
#include <stdlib.h>

int write_file(const char *path, const void *data, size_t n) {
  /* Unlink first: truncating a just-written file makes ext4 flush it
   * (auto_da_alloc), which turns thousands of small rewrites into seconds. */
  if (remove(path) != 0 && errno != ENOENT) return -1;
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  int rc = (n && fwrite(data, 1, n, fp) != n) ? -1 : 0;
  if (fclose(fp) != 0) rc = -1;
  return rc;
}

unsigned char *read_file(const char *path, size_t *n) {
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
