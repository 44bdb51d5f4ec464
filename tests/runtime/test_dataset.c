/* test_dataset.c: data set loaders on small synthetic IDX (raw and gzip),
 * CIFAR-10 and .npy files, their truncated and corrupt variants, directory
 * detection and normalization; and the real Fashion-MNIST from Debian's
 * dataset-fashion-mnist package (counts, label histogram, checksums, and its
 * normalization constants recomputed). Also `ds-tool`, which
 * ds_numpy_check.py drives to compare with numpy and torch. */
#define _POSIX_C_SOURCE 200809L
#include "rt_test.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef SHARPRT_HAVE_ZLIB
#include <zlib.h>
#endif

/* CRC-32 (IEEE, as zlib.crc32), written out so the check does not use the
 * library under test's zlib. */
static uint32_t crc32_ieee(uint32_t crc, const uint8_t *p, size_t n) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  crc = ~crc;
  for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static void join(char *out, size_t len, const char *dir, const char *name) {
  int n = snprintf(out, len, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= len) out[0] = '\0';
}

/* Makes dir (one level); 0 if it exists afterwards. */
static int make_dir(const char *dir) { return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1; }

/* Writes data gzip-compressed; 0 on success. */
static int write_gz(const char *path, const void *data, size_t n) {
#ifdef SHARPRT_HAVE_ZLIB
  remove(path);
  gzFile gz = gzopen(path, "wb");
  if (!gz) return -1;
  int ok = n == 0 || gzwrite(gz, data, (unsigned)n) == (int)n;
  return gzclose(gz) == Z_OK && ok ? 0 : -1;
#else
  (void)path, (void)data, (void)n;
  return -1;
#endif
}

/* Checks that rc reports a failure whose message contains needle and, when
 * not NULL, needle2; prints the message. */
static void expect_fail_at(TestCtx *ctx, int line, int rc, const char *err, const char *needle, const char *needle2) {
  if (rc == 0 || !strstr(err, needle) || (needle2 && !strstr(err, needle2))) {
    ctx->failures++;
    fprintf(stderr, "%s:%d: expected a failure mentioning '%s'%s%s: rc %d, message '%s'\n", __FILE__, line, needle,
            needle2 ? " and " : "", needle2 ? needle2 : "", rc, err);
  } else {
    printf("rejected as expected: %s\n", err);
  }
}
#define EXPECT_FAIL(ctx, rc, err, needle, needle2) expect_fail_at(ctx, __LINE__, rc, err, needle, needle2)

/* ---- IDX ---- */

enum { IDX_N = 5, IDX_H = 3, IDX_W = 4 };

/* A small IDX image file and label file in memory. */
typedef struct Idx {
  uint8_t img[16 + IDX_N * IDX_H * IDX_W];
  uint8_t lab[8 + IDX_N];
} Idx;

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void idx_init(Idx *x) {
  put_be32(x->img, 0x803);
  put_be32(x->img + 4, IDX_N);
  put_be32(x->img + 8, IDX_H);
  put_be32(x->img + 12, IDX_W);
  for (int i = 0; i < IDX_N * IDX_H * IDX_W; i++) x->img[16 + i] = (uint8_t)(i * 31 + 7);
  put_be32(x->lab, 0x801);
  put_be32(x->lab + 4, IDX_N);
  for (int i = 0; i < IDX_N; i++) x->lab[8 + i] = (uint8_t)((i * 3) % 10);
}

static void check_idx_content(TestCtx *ctx, const RtDataset *ds, const Idx *x, const char *what) {
  CHECK(ctx, ds->n == IDX_N && ds->c == 1 && ds->h == IDX_H && ds->w == IDX_W && ds->num_classes == 10,
        "%s: dims %lld %d %d %d", what, (long long)ds->n, ds->c, ds->h, ds->w);
  CHECK(ctx, ds->pixels && memcmp(ds->pixels, x->img + 16, IDX_N * IDX_H * IDX_W) == 0, "%s: pixels", what);
  for (int i = 0; i < IDX_N; i++)
    CHECK(ctx, ds->labels && ds->labels[i] == x->lab[8 + i], "%s: label %d", what, i);
}

static void test_idx(TestCtx *ctx) {
  char img[512], lab[512], imgz[512], labz[512], bad[512], err[512];
  Idx x;
  RtDataset ds;
  idx_init(&x);
  join(img, sizeof img, ctx->tmpdir, "idx-images");
  join(lab, sizeof lab, ctx->tmpdir, "idx-labels");
  join(imgz, sizeof imgz, ctx->tmpdir, "idx-images.gz");
  join(labz, sizeof labz, ctx->tmpdir, "idx-labels.gz");
  join(bad, sizeof bad, ctx->tmpdir, "idx-bad");
  CHECK(ctx, write_file(img, x.img, sizeof x.img) == 0 && write_file(lab, x.lab, sizeof x.lab) == 0, "write idx");
  CHECK(ctx, write_gz(imgz, x.img, sizeof x.img) == 0 && write_gz(labz, x.lab, sizeof x.lab) == 0, "write idx gz");

  /* Raw, gzip and mixed pairs read the same. */
  const char *pairs[][2] = {{img, lab}, {imgz, labz}, {img, labz}, {imgz, lab}};
  for (int i = 0; i < 4; i++) {
    CHECK(ctx, rt_idx_load(pairs[i][0], pairs[i][1], 10, &ds, err, sizeof err) == 0, "load pair %d: %s", i, err);
    check_idx_content(ctx, &ds, &x, pairs[i][0]);
    rt_dataset_free(&ds);
  }

  /* Every prefix of the raw image file: truncated, with both sizes. */
  for (size_t len = 0; len < sizeof x.img; len++) {
    CHECK(ctx, write_file(bad, x.img, len) == 0, "write");
    err[0] = '\0';
    int rc = rt_idx_load(bad, lab, 10, &ds, err, sizeof err);
    char want[96];
    if (len < 16) snprintf(want, sizeof want, "expected at least 16 bytes for the IDX images header, got %zu", len);
    else snprintf(want, sizeof want, "truncated: expected 76 bytes for 5 images of 3x4, got %zu", len);
    CHECK(ctx, rc != 0 && strstr(err, want) && strstr(err, "idx-bad"), "prefix %zu: '%s'", len, err);
    CHECK(ctx, ds.pixels == NULL && ds.labels == NULL && ds.n == 0, "prefix %zu: data set not cleared", len);
  }
  printf("IDX image prefixes 0..%zu rejected, e.g. %s\n", sizeof x.img - 1, err);
  /* Every prefix of the label file. */
  for (size_t len = 0; len < sizeof x.lab; len++) {
    CHECK(ctx, write_file(bad, x.lab, len) == 0, "write");
    err[0] = '\0';
    CHECK(ctx, rt_idx_load(img, bad, 10, &ds, err, sizeof err) != 0 && strstr(err, "truncated"), "label prefix %zu: %s",
          len, err);
  }
  /* Every prefix of the gzip image file: rejected with a message. */
  size_t gzn;
  unsigned char *gzb = read_file(imgz, &gzn);
  int gz_trunc = 0;
  for (size_t len = 0; gzb && len < gzn; len++) {
    CHECK(ctx, write_file(bad, gzb, len) == 0, "write");
    err[0] = '\0';
    int rc = rt_idx_load(bad, lab, 10, &ds, err, sizeof err);
    CHECK(ctx, rc != 0 && err[0], "gzip prefix %zu/%zu accepted", len, gzn);
    gz_trunc += strstr(err, "truncated") != NULL;
  }
  printf("gzip image prefixes: %zu rejected (%d say truncated), e.g. %s\n", gzn, gz_trunc, err);
  /* A flipped byte in the deflate data or the CRC: corrupt. */
  for (size_t pos = 10; gzb && pos < gzn; pos++) {
    gzb[pos] ^= 0x55;
    CHECK(ctx, write_file(bad, gzb, gzn) == 0, "write");
    err[0] = '\0';
    int rc = rt_idx_load(bad, lab, 10, &ds, err, sizeof err);
    CHECK(ctx, rc != 0 && err[0], "gzip byte %zu flipped: accepted", pos);
    gzb[pos] ^= 0x55;
    if (pos == gzn - 6) printf("gzip CRC byte flipped: %s\n", err);
  }
  free(gzb);

  /* Header and content errors. */
  Idx y;
  y = x, y.img[0] = 1;
  CHECK(ctx, write_file(bad, y.img, sizeof y.img) == 0, "write");
  EXPECT_FAIL(ctx, rt_idx_load(bad, lab, 10, &ds, err, sizeof err), err, "not an IDX file", "idx-bad");
  y = x, y.img[2] = 0x0d;
  CHECK(ctx, write_file(bad, y.img, sizeof y.img) == 0, "write");
  EXPECT_FAIL(ctx, rt_idx_load(bad, lab, 10, &ds, err, sizeof err), err, "element type 0x0d", NULL);
  EXPECT_FAIL(ctx, rt_idx_load(lab, img, 10, &ds, err, sizeof err), err, "1 dimension(s), expected 3 for images",
              "idx-labels");
  y = x, put_be32(y.lab + 4, 4);
  CHECK(ctx, write_file(bad, y.lab, sizeof y.lab - 1) == 0, "write");
  EXPECT_FAIL(ctx, rt_idx_load(img, bad, 10, &ds, err, sizeof err), err, "4 labels, but", "holds 5 images");
  y = x, y.lab[8 + 3] = 10;
  CHECK(ctx, write_file(bad, y.lab, sizeof y.lab) == 0, "write");
  EXPECT_FAIL(ctx, rt_idx_load(img, bad, 10, &ds, err, sizeof err), err, "label 10 of image 3 is out of range 0..9",
              NULL);
  y = x, put_be32(y.img + 8, 0);
  CHECK(ctx, write_file(bad, y.img, sizeof y.img) == 0, "write");
  EXPECT_FAIL(ctx, rt_idx_load(bad, lab, 10, &ds, err, sizeof err), err, "implausible image dimensions", NULL);
  uint8_t longer[sizeof x.img + 3];
  memcpy(longer, x.img, sizeof x.img);
  memset(longer + sizeof x.img, 0, 3);
  CHECK(ctx, write_file(bad, longer, sizeof longer) == 0, "write");
  EXPECT_FAIL(ctx, rt_idx_load(bad, lab, 10, &ds, err, sizeof err), err, "extra data: expected 76 bytes", "got 79");
  CHECK(ctx, write_gz(bad, longer, sizeof longer) == 0, "write");
  EXPECT_FAIL(ctx, rt_idx_load(bad, lab, 10, &ds, err, sizeof err), err, "expected 76 decompressed bytes", NULL);
  EXPECT_FAIL(ctx, rt_idx_load("/nonexistent/train-images-idx3-ubyte", lab, 10, &ds, err, sizeof err), err,
              "No such file or directory", "/nonexistent/train-images");
  EXPECT_FAIL(ctx, rt_idx_load(img, lab, 0, &ds, err, sizeof err), err, "num_classes 0", NULL);
  CHECK(ctx, rt_idx_load(img, lab, 7, &ds, err, sizeof err) != 0, "labels up to 9 with 7 classes accepted");
}

/* ---- CIFAR-10 ---- */

/* Writes a batch of `records` records; record r of batch b has label
 * (b + r) % 10 and pixel k = (b * 7 + r * 13 + k) & 255. */
static int write_cifar_batch(const char *path, int b, int records) {
  uint8_t *buf = malloc((size_t)records * 3073);
  if (!buf) return -1;
  for (int r = 0; r < records; r++) {
    buf[r * 3073] = (uint8_t)((b + r) % 10);
    for (int k = 0; k < 3072; k++) buf[r * 3073 + 1 + k] = (uint8_t)((b * 7 + r * 13 + k) & 255);
  }
  int rc = write_file(path, buf, (size_t)records * 3073);
  free(buf);
  return rc;
}

static void check_cifar(TestCtx *ctx, const RtDataset *ds, int first_batch, int nbatches, int records,
                        const char *what) {
  CHECK(ctx, ds->n == (int64_t)nbatches * records && ds->c == 3 && ds->h == 32 && ds->w == 32, "%s: n %lld", what,
        (long long)ds->n);
  int bad = 0;
  for (int b = 0; b < nbatches && ds->n == (int64_t)nbatches * records; b++)
    for (int r = 0; r < records; r++) {
      int64_t i = (int64_t)b * records + r;
      bad += ds->labels[i] != (first_batch + b + r) % 10;
      for (int k = 0; k < 3072; k++) bad += ds->pixels[i * 3072 + k] != (uint8_t)(((first_batch + b) * 7 + r * 13 + k) & 255);
    }
  CHECK(ctx, bad == 0, "%s: %d wrong values", what, bad);
}

static void test_cifar(TestCtx *ctx) {
  char dir[512], sub[512], p[600], err[512];
  RtDataset ds;
  join(dir, sizeof dir, ctx->tmpdir, "cifar");
  join(sub, sizeof sub, dir, "cifar-10-batches-bin");
  CHECK(ctx, make_dir(dir) == 0 && make_dir(sub) == 0, "mkdir");
  for (int b = 1; b <= 5; b++) {
    snprintf(p, sizeof p, "%s/data_batch_%d.bin", sub, b);
    CHECK(ctx, write_cifar_batch(p, b, 3) == 0, "write batch");
  }
  snprintf(p, sizeof p, "%s/test_batch.bin", sub);
  CHECK(ctx, write_cifar_batch(p, 0, 4) == 0, "write test batch");

  /* Found in the cifar-10-batches-bin subfolder; train = 5 batches in order. */
  CHECK(ctx, rt_dataset_load_dir(dir, NULL, RT_SPLIT_TRAIN, &ds, err, sizeof err) == 0, "train: %s", err);
  check_cifar(ctx, &ds, 1, 5, 3, "cifar train");
  CHECK(ctx, ds.name && strcmp(ds.name, "cifar10") == 0, "name");
  rt_dataset_free(&ds);
  CHECK(ctx, rt_dataset_load_dir(sub, "cifar10", RT_SPLIT_TEST, &ds, err, sizeof err) == 0, "test: %s", err);
  check_cifar(ctx, &ds, 0, 1, 4, "cifar test");
  rt_dataset_free(&ds);

  /* Truncated, extra, bad label, missing batch. */
  char bad[600];
  snprintf(bad, sizeof bad, "%s/cifar-bad.bin", ctx->tmpdir);
  snprintf(p, sizeof p, "%s/test_batch.bin", sub);
  size_t n;
  unsigned char *b = read_file(p, &n);
  const char *one[] = {bad};
  for (size_t len = 0; b && len < n; len += (len < 3100 ? 1 : 997)) {
    CHECK(ctx, write_file(bad, b, len) == 0, "write");
    err[0] = '\0';
    int rc = rt_cifar10_load(one, 1, &ds, err, sizeof err);
    if (len > 0 && len % 3073 == 0) /* whole records: a smaller valid batch */
      CHECK(ctx, rc == 0 && ds.n == (int64_t)(len / 3073), "prefix %zu of whole records: %s", len, err);
    else
      CHECK(ctx, rc != 0 && strstr(err, "cifar-bad.bin") && strstr(err, len ? "truncated" : "empty file"),
            "prefix %zu: %s", len, err);
    rt_dataset_free(&ds);
  }
  CHECK(ctx, b && write_file(bad, b, 3 * 3073 + 100) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar10_load(one, 1, &ds, err, sizeof err), err,
              "truncated: expected 12292 bytes for 4 records of 3073 bytes", "got 9319");
  if (b) b[2 * 3073] = 10;
  CHECK(ctx, b && write_file(bad, b, n) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar10_load(one, 1, &ds, err, sizeof err), err, "label 10 of record 2 (byte offset 6146)",
              NULL);
  free(b);
  snprintf(p, sizeof p, "%s/data_batch_3.bin", sub);
  CHECK(ctx, remove(p) == 0, "remove");
  EXPECT_FAIL(ctx, rt_dataset_load_dir(dir, NULL, RT_SPLIT_TRAIN, &ds, err, sizeof err), err,
              "batch data_batch_3.bin is missing", NULL);
  CHECK(ctx, write_cifar_batch(p, 3, 3) == 0, "write batch");
}

/* ---- .npy ---- */

/* Builds an .npy file: preamble for `version`, the dict text padded with
 * spaces and a newline to a multiple of 64, then `data`. */
static int write_npy(const char *path, int version, const char *dict, const void *data, size_t n) {
  size_t pre = version == 1 ? 10 : 12, dl = strlen(dict);
  size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
  unsigned char *b = malloc(total + n);
  if (!b) return -1;
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (unsigned char)version, b[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(b + pre, dict, dl);
  memset(b + pre + dl, ' ', hlen - dl - 1);
  b[total - 1] = '\n';
  if (n) memcpy(b + total, data, n);
  int rc = write_file(path, b, total + n);
  free(b);
  return rc;
}

enum { NPY_N = 3 };

static uint8_t npy_pixel(int n, int h, int w, int c) { return (uint8_t)(n * 50 + h * 7 + w * 3 + c * 101); }

static void test_npy(TestCtx *ctx) {
  char dir[512], data[600], labels[600], bad[600], err[512];
  RtDataset ds;
  static uint8_t x[NPY_N * 32 * 32 * 3];
  for (int n = 0; n < NPY_N; n++)
    for (int h = 0; h < 32; h++)
      for (int w = 0; w < 32; w++)
        for (int c = 0; c < 3; c++) x[((n * 32 + h) * 32 + w) * 3 + c] = npy_pixel(n, h, w, c);
  join(dir, sizeof dir, ctx->tmpdir, "cifar101");
  CHECK(ctx, make_dir(dir) == 0, "mkdir");
  snprintf(data, sizeof data, "%s/cifar10.1-data.npy", dir);
  snprintf(labels, sizeof labels, "%s/cifar10.1-labels.npy", dir);
  snprintf(bad, sizeof bad, "%s/bad.npy", ctx->tmpdir);
  CHECK(ctx, write_npy(data, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32, 3), }", x, sizeof x) == 0,
        "write data");

  /* Label files in several integer encodings, all meaning 7, 0, 9. */
  int64_t l64[] = {7, 0, 9};
  int32_t l32[] = {7, 0, 9};
  uint8_t lu8[] = {7, 0, 9};
  uint8_t lbe[24] = {0};
  lbe[7] = 7, lbe[23] = 9;
  struct {
    int version;
    const char *dict;
    const void *p;
    size_t n;
  } lab[] = {
      {1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", l64, sizeof l64},
      {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", l32, sizeof l32},
      {2, "{\"shape\": (3L,), \"fortran_order\": False, \"descr\": \"|u1\"}", lu8, sizeof lu8},
      {3, "{'descr': '>i8', 'fortran_order': True, 'shape': (3,)}", lbe, sizeof lbe},
  };
  for (size_t i = 0; i < sizeof lab / sizeof lab[0]; i++) {
    CHECK(ctx, write_npy(labels, lab[i].version, lab[i].dict, lab[i].p, lab[i].n) == 0, "write labels");
    int rc = rt_dataset_load_dir(dir, NULL, RT_SPLIT_TEST, &ds, err, sizeof err);
    CHECK(ctx, rc == 0, "labels variant %zu: %s", i, err);
    if (rc) continue;
    CHECK(ctx, ds.n == 3 && ds.c == 3 && ds.h == 32 && ds.w == 32 && strcmp(ds.name, "cifar10.1") == 0, "dims");
    CHECK(ctx, ds.labels[0] == 7 && ds.labels[1] == 0 && ds.labels[2] == 9, "labels variant %zu: %d %d %d", i,
          ds.labels[0], ds.labels[1], ds.labels[2]);
    int wrong = 0;
    for (int n = 0; n < NPY_N; n++)
      for (int c = 0; c < 3; c++)
        for (int h = 0; h < 32; h++)
          for (int w = 0; w < 32; w++) wrong += ds.pixels[((n * 3 + c) * 32 + h) * 32 + w] != npy_pixel(n, h, w, c);
    CHECK(ctx, wrong == 0, "NHWC -> NCHW: %d wrong pixels", wrong);
    rt_dataset_free(&ds);
  }
  CHECK(ctx, write_npy(labels, 1, lab[0].dict, l64, sizeof l64) == 0, "write labels");
  EXPECT_FAIL(ctx, rt_dataset_load_dir(dir, NULL, RT_SPLIT_TRAIN, &ds, err, sizeof err), err,
              "CIFAR-10.1 has only a test split", NULL);

  /* Data file corruptions. */
  size_t n;
  unsigned char *good = read_file(data, &n);
  for (size_t len = 0; good && len < n; len += (len < 200 ? 1 : 331)) {
    CHECK(ctx, write_file(bad, good, len) == 0, "write");
    err[0] = '\0';
    CHECK(ctx, rt_cifar101_load(bad, labels, &ds, err, sizeof err) != 0 && strstr(err, "bad.npy") &&
                   (len < 6 || strstr(err, "truncated") || strstr(err, "malformed")),
          "npy prefix %zu: %s", len, err);
  }
  CHECK(ctx, good && write_file(bad, good, n - 5) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar101_load(bad, labels, &ds, err, sizeof err), err, "truncated: expected 9344 bytes", "got 9339");
  free(good);
  struct {
    const char *dict;
    size_t ndata;
    const char *needle;
  } cases[] = {
      {"{'descr': '|u1', 'fortran_order': True, 'shape': (3, 32, 32, 3), }", sizeof x, "Fortran-ordered"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32), }", 3 * 32 * 32, "shape (N, 32, 32, 3)"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 32, 32, 3), }", 4 * sizeof x, "got f4 of shape"},
      {"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", 24, "unsupported .npy dtype '|O'"},
      {"{'descr': '<U5', 'fortran_order': False, 'shape': (3,), }", 60, "unsupported .npy dtype '<U5'"},
      {"{'descr': '<i3', 'fortran_order': False, 'shape': (3,), }", 9, "unsupported .npy dtype '<i3'"},
      {"{'descr': '|u1', 'shape': (3, 32, 32, 3), }", sizeof x, "lacks 'fortran_order'"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32, 3), 'x': 1}", sizeof x, "unexpected or repeated key 'x'"},
      {"{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32, 3)}", sizeof x, "repeated key 'descr'"},
      {"{'descr': '|u1', 'fortran_order': Maybe, 'shape': (3, 32, 32, 3)}", sizeof x, "expected True or False"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (3, -32, 32, 3)}", sizeof x, "a non-negative dimension"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32, 3]}", sizeof x, "',' or ')' in the shape"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32, 3)", sizeof x, "',' or '}'"},
      {"['descr', '|u1']", sizeof x, "expected '{'"},
      {"{'descr: '|u1'}", sizeof x, "expected ':'"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32, 3)} x", sizeof x, "only padding"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (3, 32, 32, 3)}", sizeof x + 1, "extra data"},
  };
  static uint8_t filler[4 * sizeof x];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK(ctx, write_npy(bad, 1, cases[i].dict, filler, cases[i].ndata) == 0, "write");
    EXPECT_FAIL(ctx, rt_cifar101_load(bad, labels, &ds, err, sizeof err), err, cases[i].needle, "bad.npy");
  }
  CHECK(ctx, write_file(bad, "\x93NUMPY\x04\x00\x10\x00{}", 12) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar101_load(bad, labels, &ds, err, sizeof err), err, "version 4.0 is not supported", NULL);
  CHECK(ctx, write_file(bad, "PK\x03\x04 not an npy", 16) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar101_load(bad, labels, &ds, err, sizeof err), err, "not a .npy file", NULL);

  /* Label file problems. */
  int64_t l_out[] = {7, 10, 9}, l_neg[] = {7, -1, 9};
  CHECK(ctx, write_npy(bad, 1, lab[0].dict, l_out, sizeof l_out) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar101_load(data, bad, &ds, err, sizeof err), err, "label 10 of image 1 is out of range", NULL);
  CHECK(ctx, write_npy(bad, 1, lab[0].dict, l_neg, sizeof l_neg) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar101_load(data, bad, &ds, err, sizeof err), err, "label -1 of image 1", NULL);
  CHECK(ctx, write_npy(bad, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", l64, 16) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar101_load(data, bad, &ds, err, sizeof err), err, "expected 3 integer labels", NULL);
  CHECK(ctx, write_npy(bad, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", l64, 24) == 0, "write");
  EXPECT_FAIL(ctx, rt_cifar101_load(data, bad, &ds, err, sizeof err), err, "integer labels", NULL);

  /* The generic reader: a float array and rt_npy_get_int's refusals. */
  double f[2] = {1.5, -2};
  RtNpy a;
  CHECK(ctx, write_npy(bad, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", f, sizeof f) == 0, "w");
  CHECK(ctx, rt_npy_load(bad, &a, err, sizeof err) == 0 && a.kind == 'f' && a.itemsize == 8 && a.ndim == 2 &&
                 a.shape[0] == 2 && a.count == 2 && memcmp(a.data, f, sizeof f) == 0,
        "float npy: %s", err);
  int64_t v;
  CHECK(ctx, rt_npy_get_int(&a, 0, &v) != 0, "get_int on floats");
  rt_npy_free(&a);
  int16_t s16[2] = {-300, 300};
  CHECK(ctx, write_npy(bad, 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", s16, 4) == 0, "w");
  CHECK(ctx, rt_npy_load(bad, &a, err, sizeof err) == 0 && rt_npy_get_int(&a, 0, &v) == 0 && v == -300 &&
                 rt_npy_get_int(&a, 1, &v) == 0 && v == 300 && rt_npy_get_int(&a, 2, &v) != 0,
        "int16 npy: %s", err);
  rt_npy_free(&a);
}

/* ---- directory detection and normalization ---- */

static void test_dirs_and_normalize(TestCtx *ctx) {
  char base[512], fdir[512], mdir[512], p[600], err[512];
  RtDataset ds;
  Idx x;
  idx_init(&x);
  join(base, sizeof base, ctx->tmpdir, "dirs");
  join(fdir, sizeof fdir, base, "Fashion-MNIST");
  join(mdir, sizeof mdir, base, "digits");
  CHECK(ctx, make_dir(base) == 0 && make_dir(fdir) == 0 && make_dir(mdir) == 0, "mkdir");
  /* Fashion: gz files; digits: raw files. */
  snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", fdir);
  CHECK(ctx, write_gz(p, x.img, sizeof x.img) == 0, "w");
  snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte.gz", fdir);
  CHECK(ctx, write_gz(p, x.lab, sizeof x.lab) == 0, "w");
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", mdir);
  CHECK(ctx, write_file(p, x.img, sizeof x.img) == 0, "w");
  snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", mdir);
  CHECK(ctx, write_file(p, x.lab, sizeof x.lab) == 0, "w");

  CHECK(ctx, rt_dataset_load_dir(fdir, NULL, RT_SPLIT_TRAIN, &ds, err, sizeof err) == 0, "fashion dir: %s", err);
  check_idx_content(ctx, &ds, &x, "fashion dir");
  CHECK(ctx, ds.name && strcmp(ds.name, "fashion-mnist") == 0, "name from the path: %s", ds.name);
  rt_dataset_free(&ds);
  CHECK(ctx, rt_dataset_load_dir(mdir, NULL, RT_SPLIT_TEST, &ds, err, sizeof err) == 0, "digits dir: %s", err);
  CHECK(ctx, ds.name && strcmp(ds.name, "mnist") == 0, "default IDX name: %s", ds.name);
  rt_dataset_free(&ds);
  CHECK(ctx, rt_dataset_load_dir(mdir, "fashion-mnist", RT_SPLIT_TEST, &ds, err, sizeof err) == 0 &&
                 strcmp(ds.name, "fashion-mnist") == 0,
        "forced name: %s", err);

  /* Normalization: torchvision's float32 arithmetic, per channel. */
  const RtNorm *fm = rt_norm_find("fashion-mnist");
  CHECK(ctx, fm && fm->channels == 1 && fm->mean[0] == 0.2860405969887955 && fm->std[0] == 0.35302424825650003,
        "fashion-mnist constants");
  float out[2 * IDX_H * IDX_W];
  int64_t idx[2] = {4, 1};
  CHECK(ctx, rt_dataset_normalize(&ds, fm, idx, 0, 2, out, err, sizeof err) == 0, "normalize: %s", err);
  double worst = 0;
  for (int b = 0; b < 2; b++)
    for (int k = 0; k < IDX_H * IDX_W; k++) {
      uint8_t px = x.img[16 + idx[b] * IDX_H * IDX_W + k];
      float want = ((float)px / 255.0f - (float)fm->mean[0]) / (float)fm->std[0];
      double exact = (px / 255.0 - fm->mean[0]) / fm->std[0];
      CHECK(ctx, out[b * IDX_H * IDX_W + k] == want, "normalized value %d/%d", b, k);
      if (fabs(out[b * IDX_H * IDX_W + k] - exact) > worst) worst = fabs(out[b * IDX_H * IDX_W + k] - exact);
    }
  printf("normalize (float32) vs double formula: worst |diff| %.3e\n", worst);
  CHECK(ctx, worst < 1e-6, "normalize error %g", worst);
  CHECK(ctx, rt_dataset_normalize(&ds, fm, NULL, 3, 2, out, err, sizeof err) == 0 &&
                 out[0] == ((float)x.img[16 + 3 * 12] / 255.0f - (float)fm->mean[0]) / (float)fm->std[0],
        "normalize range: %s", err);
  EXPECT_FAIL(ctx, rt_dataset_normalize(&ds, fm, NULL, 4, 2, out, err, sizeof err), err, "images [4, 6) out of range",
              NULL);
  int64_t bad_idx[2] = {0, 5};
  EXPECT_FAIL(ctx, rt_dataset_normalize(&ds, fm, bad_idx, 0, 2, out, err, sizeof err), err,
              "index 5 (batch position 1) out of range", NULL);
  EXPECT_FAIL(ctx, rt_dataset_normalize(&ds, rt_norm_find("cifar10"), NULL, 0, 1, out, err, sizeof err), err,
              "'cifar10' constants have 3 channel(s), the data set has 1", NULL);
  EXPECT_FAIL(ctx, rt_dataset_normalize(&ds, rt_norm_find("nope"), NULL, 0, 1, out, err, sizeof err), err,
              "no normalization constants given", NULL);
  rt_dataset_free(&ds);
  const RtNorm *c = rt_norm_find("cifar10");
  CHECK(ctx, c && c->channels == 3 && c->mean[2] == 0.44653124 && c->std[0] == 0.24703233, "cifar10 constants");
  CHECK(ctx, rt_norm_find("mnist") && rt_norm_find("mnist")->mean[0] == 0.1307, "mnist constants");
  CHECK(ctx, rt_norm_find("imagenet") && rt_norm_find("imagenet")->std[0] == 0.229, "imagenet constants (no defect)");
  CHECK(ctx, rt_norm_find("svhn") && rt_norm_find("stl10") && rt_norm_find("emnist") && rt_norm_find("cifar10.1"),
        "other constants");

  /* Nothing there, half a pair, unknown name, wrong forced format. */
  EXPECT_FAIL(ctx, rt_dataset_load_dir(base, NULL, RT_SPLIT_TRAIN, &ds, err, sizeof err), err, "no data set found",
              "train-images-idx3-ubyte[.gz]");
  snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", mdir);
  CHECK(ctx, remove(p) == 0, "remove");
  EXPECT_FAIL(ctx, rt_dataset_load_dir(mdir, NULL, RT_SPLIT_TEST, &ds, err, sizeof err), err,
              "no t10k-labels-idx1-ubyte[.gz] next to", NULL);
  EXPECT_FAIL(ctx, rt_dataset_load_dir(mdir, "imagenette", RT_SPLIT_TEST, &ds, err, sizeof err), err,
              "unknown data set 'imagenette'", NULL);
  EXPECT_FAIL(ctx, rt_dataset_load_dir(fdir, "cifar10", RT_SPLIT_TRAIN, &ds, err, sizeof err), err,
              "no CIFAR-10 data_batch_1.bin", NULL);
  EXPECT_FAIL(ctx, rt_dataset_load_dir("/nonexistent", NULL, RT_SPLIT_TRAIN, &ds, err, sizeof err), err,
              "/nonexistent: no data set found", NULL);
}

int test_dataset(TestCtx *ctx) {
  test_idx(ctx);
  test_cifar(ctx);
  test_npy(ctx);
  test_dirs_and_normalize(ctx);
  return ctx->failures;
}

/* ---- the real Fashion-MNIST ---- */

/* Checks one split against values computed independently (python's gzip and
 * zlib.crc32 over the decompressed files). */
static void check_split(TestCtx *ctx, const char *dir, RtSplit split, int64_t n, uint64_t pixel_sum, uint32_t crc,
                        uint32_t label_crc, const int *first_labels) {
  char err[512];
  RtDataset ds;
  const char *what = split == RT_SPLIT_TRAIN ? "train" : "test";
  if (rt_dataset_load_dir(dir, NULL, split, &ds, err, sizeof err) != 0) {
    CHECK(ctx, 0, "loading Fashion-MNIST %s: %s", what, err);
    return;
  }
  CHECK(ctx, ds.n == n && ds.c == 1 && ds.h == 28 && ds.w == 28 && ds.num_classes == 10,
        "%s: %lld images %dx%dx%d", what, (long long)ds.n, ds.c, ds.h, ds.w);
  CHECK(ctx, ds.name && strcmp(ds.name, "fashion-mnist") == 0, "%s: name %s", what, ds.name);
  int64_t hist[10] = {0};
  uint8_t *lab8 = malloc((size_t)ds.n);
  for (int64_t i = 0; i < ds.n; i++) {
    hist[ds.labels[i]]++;
    if (lab8) lab8[i] = (uint8_t)ds.labels[i];
  }
  for (int k = 0; k < 10; k++) CHECK(ctx, hist[k] == n / 10, "%s: class %d has %lld images", what, k, (long long)hist[k]);
  for (int k = 0; k < 10; k++) CHECK(ctx, ds.labels[k] == first_labels[k], "%s: label %d", what, k);
  size_t npix = (size_t)ds.n * 784;
  uint64_t sum = 0, sq = 0;
  for (size_t i = 0; i < npix; i++) sum += ds.pixels[i], sq += (uint64_t)ds.pixels[i] * ds.pixels[i];
  uint32_t c = crc32_ieee(0, ds.pixels, npix), lc = lab8 ? crc32_ieee(0, lab8, (size_t)ds.n) : 0;
  CHECK(ctx, sum == pixel_sum, "%s: pixel sum %llu, expected %llu", what, (unsigned long long)sum,
        (unsigned long long)pixel_sum);
  CHECK(ctx, c == crc, "%s: pixel CRC-32 %08x, expected %08x", what, c, crc);
  CHECK(ctx, lc == label_crc, "%s: label CRC-32 %08x, expected %08x", what, lc, label_crc);
  printf("Fashion-MNIST %s: %lld images 28x28, 10 classes x %lld, pixel sum %llu, CRC-32 %08x, labels %08x\n", what,
         (long long)ds.n, (long long)hist[0], (unsigned long long)sum, c, lc);
  if (split == RT_SPLIT_TRAIN) {
    /* §8.5's constants are this set's statistics: mean exactly, std as the
     * unbiased estimate. */
    double N = (double)npix, mean = (double)sum / N / 255.0;
    double var = ((double)sq - (double)sum * (double)sum / N) / (N - 1) / (255.0 * 255.0);
    const RtNorm *fm = rt_norm_find("fashion-mnist");
    printf("Fashion-MNIST train statistics: mean %.16g (|diff| %.2e), unbiased std %.16g (|diff| %.2e)\n", mean,
           fabs(mean - fm->mean[0]), sqrt(var), fabs(sqrt(var) - fm->std[0]));
    CHECK(ctx, fabs(mean - fm->mean[0]) < 1e-12, "train mean %.17g vs %.17g", mean, fm->mean[0]);
    CHECK(ctx, fabs(sqrt(var) - fm->std[0]) < 1e-9, "train std %.17g vs %.17g", sqrt(var), fm->std[0]);
  }
  free(lab8);
  rt_dataset_free(&ds);
}

int test_fashion_mnist(TestCtx *ctx) {
  const char *dir = ctx->tmpdir;
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr,
            "%s: Fashion-MNIST not found: install the Debian package dataset-fashion-mnist "
            "(apt-get install dataset-fashion-mnist)\n",
            dir);
    return 1;
  }
  static const int train_first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  static const int test_first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  check_split(ctx, dir, RT_SPLIT_TRAIN, 60000, 3431114169ULL, 0xae65dccdu, 0x2ed6e46au, train_first);
  check_split(ctx, dir, RT_SPLIT_TEST, 10000, 573469082ULL, 0x12728439u, 0x242bc73fu, test_first);
  return ctx->failures;
}

/* ---- ds-tool: the numpy/torch cross-check's view of the loaders ---- */

/* `dump DIR NAME SPLIT [LIMIT]`: "n c h w classes name", then per image its
 * label and pixels (NCHW) in hex. `normalize DIR NAME SPLIT [LIMIT]`: the
 * same header, then every normalized value as %a. NAME "-" means automatic;
 * LIMIT keeps only the first images. */
int test_dataset_tool(int argc, char **argv) {
  if ((argc != 4 && argc != 5) || (strcmp(argv[0], "dump") && strcmp(argv[0], "normalize"))) {
    fprintf(stderr, "usage: rt_tests ds-tool dump|normalize DIR NAME|- train|test [LIMIT]\n");
    return 2;
  }
  char err[512];
  RtDataset ds;
  const char *name = strcmp(argv[2], "-") ? argv[2] : NULL;
  RtSplit split = strcmp(argv[3], "test") ? RT_SPLIT_TRAIN : RT_SPLIT_TEST;
  if (rt_dataset_load_dir(argv[1], name, split, &ds, err, sizeof err) != 0) {
    printf("error: %s\n", err);
    return 1;
  }
  if (argc == 5 && atoll(argv[4]) >= 0 && atoll(argv[4]) < ds.n) ds.n = atoll(argv[4]);
  printf("%lld %d %d %d %d %s\n", (long long)ds.n, ds.c, ds.h, ds.w, ds.num_classes, ds.name);
  size_t per = (size_t)ds.c * ds.h * ds.w;
  int rc = 0;
  if (strcmp(argv[0], "dump") == 0) {
    for (int64_t i = 0; i < ds.n; i++) {
      printf("%d ", ds.labels[i]);
      for (size_t k = 0; k < per; k++) printf("%02x", ds.pixels[i * per + k]);
      printf("\n");
    }
  } else {
    float *out = malloc(sizeof(float) * per * (size_t)ds.n);
    if (!out || rt_dataset_normalize(&ds, rt_norm_find(ds.name), NULL, 0, ds.n, out, err, sizeof err) != 0) {
      printf("error: %s\n", out ? err : "out of memory");
      rc = 1;
    }
    for (size_t k = 0; !rc && k < per * (size_t)ds.n; k++) printf("%a\n", (double)out[k]);
    free(out);
  }
  rt_dataset_free(&ds);
  return rc;
}
