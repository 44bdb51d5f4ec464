/* test_safetensors.c: the safetensors reader and writer. Round trip and
 * determinism, read errors (shape, dtype, missing name), every prefix of a
 * valid file, hand-made corrupt headers, random byte flips, and the atomic
 * writer under injected and real write failures. Also `st-tool`, the helper
 * that st_torch_check.py drives to cross-check against torch. */
#define _POSIX_C_SOURCE 200809L
#include "rt_test.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fixed set of tensors of every supported dtype, including a scalar, a
 * zero-size tensor and names that need JSON escapes. */
typedef struct Sample {
  float conv[4 * 3 * 3 * 3];
  float bn_w[4];
  int64_t nbt;
  double f64[5];
  int32_t i32[3];
  uint8_t u8[7];
  RtTensorOut t[8];
  int n;
} Sample;

static void sample_init(Sample *s) {
  for (int i = 0; i < 108; i++) s->conv[i] = (float)(i * 0.125 - 6.5);
  for (int i = 0; i < 4; i++) s->bn_w[i] = 1.0f + (float)i;
  s->nbt = 12345678901LL;
  for (int i = 0; i < 5; i++) s->f64[i] = i / 3.0;
  s->i32[0] = -7, s->i32[1] = 0, s->i32[2] = 2147483647;
  for (int i = 0; i < 7; i++) s->u8[i] = (uint8_t)(i * 40);
  RtTensorOut t[] = {
      {"stem.0.weight", RT_DTYPE_F32, 4, {4, 3, 3, 3}, s->conv},
      {"stem.1.weight", RT_DTYPE_F32, 1, {4}, s->bn_w},
      {"stem.1.num_batches_tracked", RT_DTYPE_I64, 0, {0}, &s->nbt},
      {"extra.f64", RT_DTYPE_F64, 1, {5}, s->f64},
      {"extra.i32", RT_DTYPE_I32, 1, {3}, s->i32},
      {"extra.u8", RT_DTYPE_U8, 2, {1, 7}, s->u8},
      {"extra.empty", RT_DTYPE_F32, 2, {0, 3}, NULL},
      {"odd \"name\"\\\n\t\x01 \xc3\xbc\xe2\x82\xac", RT_DTYPE_F32, 1, {1}, s->bn_w},
  };
  memcpy(s->t, t, sizeof t);
  s->n = 8;
}

static void path_in(char *buf, size_t len, const TestCtx *ctx, const char *name) {
  snprintf(buf, len, "%s/%s", ctx->tmpdir, name);
}

/* Opens path and reads every tensor through rt_st_read with its own shape:
 * 0 when everything succeeds, -1 with err filled otherwise. */
static int open_and_read_all(const char *path, char *err, size_t errlen) {
  RtTensorFile *f = rt_st_open(path, err, errlen);
  if (!f) return -1;
  int rc = 0;
  for (int i = 0; i < rt_st_count(f) && !rc; i++) {
    const RtTensorInfo *t = rt_st_info(f, i);
    void *buf = malloc((size_t)(t->end - t->begin) + 1);
    rc = buf ? rt_st_read(f, t->name, t->dtype, t->ndim, t->shape, buf, err, errlen) : -1;
    free(buf);
  }
  rt_st_close(f);
  return rc;
}

static void test_round_trip(TestCtx *ctx) {
  char path[512], path2[512], err[512];
  Sample s;
  sample_init(&s);
  RtStMeta meta[] = {{"format", "pt"}, {"note", "sharpc \"test\""}};
  path_in(path, sizeof path, ctx, "round.safetensors");
  CHECK(ctx, rt_st_write(path, s.t, s.n, meta, 2, err, sizeof err) == 0, "write: %s", err);

  RtTensorFile *f = rt_st_open(path, err, sizeof err);
  CHECK(ctx, f != NULL, "open: %s", err);
  if (!f) return;
  CHECK(ctx, rt_st_count(f) == s.n, "count %d", rt_st_count(f));
  CHECK(ctx, rt_st_meta_count(f) == 2 && strcmp(rt_st_meta_key(f, 0), "format") == 0, "metadata order");
  CHECK(ctx, rt_st_meta(f, "format") && strcmp(rt_st_meta(f, "format"), "pt") == 0, "metadata format");
  CHECK(ctx, rt_st_meta(f, "note") && strcmp(rt_st_meta(f, "note"), "sharpc \"test\"") == 0, "metadata note");
  CHECK(ctx, rt_st_meta(f, "absent") == NULL, "absent metadata key");
  /* Layout order: I64, F64, F32 (by name), I32, U8. */
  static const char *order[] = {"stem.1.num_batches_tracked", "extra.f64", "extra.empty", "odd \"name\"\\\n\t\x01 \xc3\xbc\xe2\x82\xac",
                                "stem.0.weight", "stem.1.weight", "extra.i32", "extra.u8"};
  for (int i = 0; i < s.n; i++) {
    const RtTensorInfo *t = rt_st_info(f, i);
    CHECK(ctx, t && strcmp(t->name, order[i]) == 0, "header entry %d is '%s'", i, t ? t->name : "(null)");
    if (t && i > 0) CHECK(ctx, t->begin == rt_st_info(f, i - 1)->end, "entry %d not contiguous", i);
    if (t) CHECK(ctx, t->begin % rt_dtype_size(t->dtype) == 0, "entry %d misaligned", i);
  }
  for (int i = 0; i < s.n; i++) {
    const RtTensorOut *w = &s.t[i];
    unsigned char buf[1024];
    memset(buf, 0xee, sizeof buf);
    CHECK(ctx, rt_st_read(f, w->name, w->dtype, w->ndim, w->shape, buf, err, sizeof err) == 0, "read %s: %s",
          w->name, err);
    const RtTensorInfo *t = rt_st_find(f, w->name);
    size_t nb = t ? (size_t)(t->end - t->begin) : 0;
    CHECK(ctx, t && t->ndim == w->ndim, "ndim of %s", w->name);
    CHECK(ctx, nb == 0 || memcmp(buf, w->data, nb) == 0, "data of %s differs", w->name);
  }
  CHECK(ctx, rt_st_find(f, "nope") == NULL, "find of a missing name");

  /* Read errors name the tensor and both shapes / dtypes, or suggest a name. */
  float junk[200];
  int64_t wrong[] = {3, 4, 3, 3};
  CHECK(ctx, rt_st_read(f, "stem.0.weight", RT_DTYPE_F32, 4, wrong, junk, err, sizeof err) != 0 &&
                 strstr(err, "'stem.0.weight' has shape [4, 3, 3, 3], expected [3, 4, 3, 3]") &&
                 strstr(err, "round.safetensors"),
        "shape error: %s", err);
  printf("shape mismatch: %s\n", err);
  int64_t four[] = {4, 1};
  CHECK(ctx, rt_st_read(f, "stem.1.weight", RT_DTYPE_F32, 2, four, junk, err, sizeof err) != 0 &&
                 strstr(err, "has shape [4], expected [4, 1]"),
        "rank error: %s", err);
  CHECK(ctx, rt_st_read(f, "stem.1.num_batches_tracked", RT_DTYPE_F32, 0, NULL, junk, err, sizeof err) != 0 &&
                 strstr(err, "has dtype I64, expected F32"),
        "dtype error: %s", err);
  printf("dtype mismatch: %s\n", err);
  CHECK(ctx, rt_st_read(f, "stem.0.weigth", RT_DTYPE_F32, 4, wrong, junk, err, sizeof err) != 0 &&
                 strstr(err, "did you mean 'stem.0.weight'"),
        "missing-name error: %s", err);
  printf("missing name: %s\n", err);
  CHECK(ctx, rt_st_read(f, "classifier.bias", RT_DTYPE_F32, 1, four, junk, err, sizeof err) != 0 &&
                 strstr(err, "no tensor 'classifier.bias'"),
        "missing-name error: %s", err);
  rt_st_close(f);

  /* Header: length a multiple of 8, padded with spaces. */
  size_t n;
  unsigned char *bytes = read_file(path, &n);
  CHECK(ctx, bytes && n > 8, "reading back");
  if (bytes) {
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | bytes[i];
    CHECK(ctx, hlen % 8 == 0 && hlen <= n - 8, "header length %llu", (unsigned long long)hlen);
    size_t k = 8 + (size_t)hlen;
    while (k > 8 && bytes[k - 1] == ' ') k--;
    CHECK(ctx, k > 8 && bytes[k - 1] == '}' && 8 + hlen - k < 8, "padding");
  }

  /* Determinism: the reversed input order gives the same bytes. */
  RtTensorOut rev[8];
  for (int i = 0; i < s.n; i++) rev[i] = s.t[s.n - 1 - i];
  path_in(path2, sizeof path2, ctx, "round2.safetensors");
  CHECK(ctx, rt_st_write(path2, rev, s.n, meta, 2, err, sizeof err) == 0, "write reversed: %s", err);
  size_t n2;
  unsigned char *bytes2 = read_file(path2, &n2);
  CHECK(ctx, bytes && bytes2 && n == n2 && memcmp(bytes, bytes2, n) == 0, "reversed input changes the file");
  free(bytes);
  free(bytes2);

  /* Empty file set: header "{}" padded, no data. */
  path_in(path2, sizeof path2, ctx, "empty.safetensors");
  CHECK(ctx, rt_st_write(path2, NULL, 0, NULL, 0, err, sizeof err) == 0, "write empty: %s", err);
  f = rt_st_open(path2, err, sizeof err);
  CHECK(ctx, f && rt_st_count(f) == 0 && rt_st_meta_count(f) == 0, "empty file: %s", f ? "" : err);
  rt_st_close(f);
}

/* Builds a file from a header text and a data section of data_len bytes
 * (filled with the pattern 1, 8, 15, ...), with header length field hlen:
 * -1 for strlen(header), -2 for one more, which takes in the first data byte. */
static int make_file(const char *path, const char *header, int64_t hlen, size_t data_len) {
  size_t hl = strlen(header);
  size_t n = 8 + hl + data_len;
  unsigned char *b = malloc(n);
  if (!b) return -1;
  uint64_t L = hlen == -1 ? hl : hlen == -2 ? hl + 1 : (uint64_t)hlen;
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(L >> (8 * i));
  memcpy(b + 8, header, hl);
  for (size_t i = 0; i < data_len; i++) b[8 + hl + i] = (unsigned char)(i * 7 + 1);
  int rc = write_file(path, b, n);
  free(b);
  return rc;
}

/* Every case must be rejected at open with a message containing `needle`. */
static void test_corrupt_headers(TestCtx *ctx) {
  static const struct {
    const char *header;
    int64_t hlen; /* -1: the header's length, -2: one more */
    size_t data;
    const char *needle;
  } cases[] = {
      {"{}", 1 << 20, 0, "header length 1048576 is larger than"},
      {"{}", 3, 0, "larger than the 2 bytes"},
      {"{}", 0, 0, "too short for a JSON object"},
      {"", -1, 0, "too short"},
      {"[]", -1, 0, "expected '{' at byte 0, found '['"},
      {"{ ", -1, 0, "expected '\"' at byte 2, found the end"},
      {"{\"a\"}", -1, 0, "expected ':' at byte 4"},
      {"{\"a\":}", -1, 0, "expected '{' at byte 5"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", -1, 4, "only spaces after"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -2, 5, "found byte 0x01"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", -1, 4, "expected '\"' at byte"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", -1, 4, "unknown field 'x'"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", -1, 4, "lacks the field 'data_offsets'"},
      {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4,
       "field 'dtype' twice"},
      {"{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1, 4, "dtype 'F16'"},
      {"{\"a\":{\"dtype\":\"Q99\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, "not supported"},
      {"{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, "expected '\"'"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", -1, 4, "without leading zeros"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4, "a non-negative integer"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", -1, 4, "fractions"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", -1, 4, "fractions"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", -1, 4, "below 2^63"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", -1, 4,
       "more than 8 dimensions"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", -1, 4, "expected ','"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", -1, 4, "ends before it begins"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[100,104]}}", -1, 4,
       "data range [100, 104) exceeds the 4-byte data section"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1, 4, "need 8"},
      {"{\"a\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", -1, 4, "need 8"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", -1, 4, "too large"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
       -1, 8, "'a' appears twice"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
       -1, 8, "overlaps tensor"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", -1, 8, "bytes [0, 4) of the data section"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 12, "trailing bytes"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 3,
       "data range [0, 4) exceeds the 3-byte data section"},
      {"{\"a\\x\":{}}", -1, 0, "an escape character"},
      {"{\"a\\u0000\":{}}", -1, 0, "\\u0000 is not allowed"},
      {"{\"a\\ud800\":{}}", -1, 0, "low surrogate"},
      {"{\"a\\udc00\":{}}", -1, 0, "unpaired low surrogate"},
      {"{\"a\\u12g4\":{}}", -1, 0, "4 hex digits"},
      {"{\"\xff\":{}}", -1, 0, "valid UTF-8"},
      {"{\"\xc0\xaf\":{}}", -1, 0, "valid UTF-8"},
      {"{\"a\tb\":{}}", -1, 0, "control characters"},
      {"{\"abc", -1, 0, "not closed"},
      {"{\"__metadata__\":{\"k\":1}}", -1, 0, "a string value in __metadata__"},
      {"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", -1, 0, "key 'k' twice"},
      {"{\"__metadata__\":{},\"__metadata__\":{}}", -1, 0, "__metadata__ twice"},
      {"{\"__metadata__\":nul}", -1, 0, "an object or null"},
      {"{\"a\":{}}", -1, 0, "lacks the field 'dtype'"},
  };
  char path[512], err[512];
  path_in(path, sizeof path, ctx, "corrupt.safetensors");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK(ctx, make_file(path, cases[i].header, cases[i].hlen, cases[i].data) == 0, "writing case %zu", i);
    err[0] = '\0';
    RtTensorFile *f = rt_st_open(path, err, sizeof err);
    CHECK(ctx, f == NULL && strstr(err, cases[i].needle) && strstr(err, "corrupt.safetensors"),
          "case %zu ('%s'): opened %d, message '%s', expected it to contain '%s'", i, cases[i].header, f != NULL, err,
          cases[i].needle);
    printf("corrupt case %2zu: %s\n", i, err);
    rt_st_close(f);
  }
  /* Accepted variants: whitespace, escapes, metadata null, scalars, 0-size. */
  static const struct {
    const char *header;
    size_t data;
  } good[] = {
      {" { \"a\" : { \"shape\" : [ 1 ] , \"data_offsets\" : [ 0 , 4 ] , \"dtype\" : \"F32\" } }\n\t\r ", 4},
      {"{\"__metadata__\":null,\"\\u00fc\\ud83d\\ude00\\\"\\/\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}",
       8},
      {"{\"z\":{\"dtype\":\"U8\",\"shape\":[0,5],\"data_offsets\":[0,0]},\"y\":{\"dtype\":\"U8\",\"shape\":[3],"
       "\"data_offsets\":[0,3]}}",
       3},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    CHECK(ctx, make_file(path, good[i].header, -1, good[i].data) == 0, "writing good case %zu", i);
    CHECK(ctx, open_and_read_all(path, err, sizeof err) == 0, "good case %zu rejected: %s", i, err);
  }
  CHECK(ctx, make_file(path, good[1].header, -1, good[1].data) == 0, "writing");
  RtTensorFile *f = rt_st_open(path, err, sizeof err);
  CHECK(ctx, f && rt_st_find(f, "\xc3\xbc\xf0\x9f\x98\x80\"/") != NULL, "escaped name decoded");
  rt_st_close(f);
  CHECK(ctx, rt_st_open("/nonexistent/x.safetensors", err, sizeof err) == NULL && strstr(err, "No such file"),
        "missing file: %s", err);
  printf("missing file: %s\n", err);
  CHECK(ctx, rt_st_open(ctx->tmpdir, err, sizeof err) == NULL, "directory opened");
}

/* Every strict prefix of a valid file is rejected; so is the file plus one byte. */
static void test_prefixes(TestCtx *ctx) {
  char path[512], cut[512], err[512];
  Sample s;
  sample_init(&s);
  path_in(path, sizeof path, ctx, "prefix-src.safetensors");
  path_in(cut, sizeof cut, ctx, "prefix.safetensors");
  RtStMeta meta[] = {{"format", "pt"}};
  CHECK(ctx, rt_st_write(path, s.t, s.n, meta, 1, err, sizeof err) == 0, "write: %s", err);
  size_t n;
  unsigned char *b = read_file(path, &n);
  if (!b) {
    CHECK(ctx, 0, "read back");
    return;
  }
  int rejected = 0;
  for (size_t len = 0; len < n; len++) {
    CHECK(ctx, write_file(cut, b, len) == 0, "write prefix");
    err[0] = '\0';
    int rc = open_and_read_all(cut, err, sizeof err);
    CHECK(ctx, rc != 0 && err[0], "prefix of %zu/%zu bytes accepted", len, n);
    rejected += rc != 0;
  }
  unsigned char *longer = malloc(n + 1);
  memcpy(longer, b, n);
  longer[n] = 0;
  CHECK(ctx, write_file(cut, longer, n + 1) == 0 && open_and_read_all(cut, err, sizeof err) != 0 &&
                 strstr(err, "trailing bytes"),
        "file with one extra byte: %s", err);
  CHECK(ctx, write_file(cut, b, n) == 0 && open_and_read_all(cut, err, sizeof err) == 0, "full file: %s", err);
  printf("prefixes: %d of %zu strict prefixes rejected\n", rejected, n);
  free(longer);
  free(b);
}

/* xorshift64*: a deterministic generator for the fuzz loop. */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}

/* Random byte flips, insertions of bytes from the header alphabet and
 * truncations: every outcome is either a clean accept or a message. */
static void test_fuzz(TestCtx *ctx) {
  char path[512], out[512], err[512];
  Sample s;
  sample_init(&s);
  path_in(path, sizeof path, ctx, "fuzz-src.safetensors");
  path_in(out, sizeof out, ctx, "fuzz.safetensors");
  CHECK(ctx, rt_st_write(path, s.t, 7, NULL, 0, err, sizeof err) == 0, "write: %s", err);
  size_t n;
  unsigned char *b = read_file(path, &n);
  if (!b) return;
  unsigned char *m = malloc(n);
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  int accepted = 0, rejected = 0;
  static const char alphabet[] = "{}[]\":,0123456789 -.eE\\uFIU864_aZ";
  for (int it = 0; it < 3000; it++) {
    memcpy(m, b, n);
    size_t len = n;
    int flips = 1 + (int)(rng_next(&seed) % 3);
    for (int k = 0; k < flips; k++) {
      uint64_t r = rng_next(&seed);
      /* Bias towards the length field and header, where the parser lives. */
      size_t pos = (r & 1) ? (size_t)((r >> 8) % n) : (size_t)((r >> 8) % (n < 200 ? n : 200));
      switch ((r >> 4) % 4) {
      case 0: m[pos] ^= (unsigned char)(1u << ((r >> 40) % 8)); break;
      case 1: m[pos] = (unsigned char)(r >> 48); break;
      case 2: m[pos] = (unsigned char)alphabet[(r >> 40) % (sizeof alphabet - 1)]; break;
      default: len = pos; break;
      }
    }
    CHECK(ctx, write_file(out, m, len) == 0, "write fuzz file");
    err[0] = '\0';
    if (open_and_read_all(out, err, sizeof err) == 0) accepted++;
    else {
      rejected++;
      CHECK(ctx, err[0] != '\0', "iteration %d rejected without a message", it);
    }
  }
  printf("fuzz: 3000 mutated files, %d accepted, %d rejected with a message\n", accepted, rejected);
  free(m);
  free(b);
}

/* 1 when the file exists. */
static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* 1 when path holds exactly the n bytes of want. */
static int same_content(const char *path, const unsigned char *want, size_t n) {
  size_t got_n;
  unsigned char *got = read_file(path, &got_n);
  int same = got && got_n == n && memcmp(got, want, n) == 0;
  free(got);
  return same;
}

static void test_atomic_writer(TestCtx *ctx) {
  char path[512], tmp[600], err[512];
  Sample s;
  sample_init(&s);
  path_in(path, sizeof path, ctx, "atomic.safetensors");
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());

  /* The previous file: one tensor. */
  float old_data[3] = {1, 2, 3};
  RtTensorOut old_t = {"old", RT_DTYPE_F32, 1, {3}, old_data};
  CHECK(ctx, rt_st_write(path, &old_t, 1, NULL, 0, err, sizeof err) == 0, "write old: %s", err);
  size_t old_n;
  unsigned char *old = read_file(path, &old_n);
  if (!old) return;

  /* The new file's size, to inject a failure at every byte. */
  char probe[512];
  path_in(probe, sizeof probe, ctx, "atomic-probe.safetensors");
  CHECK(ctx, rt_st_write(probe, s.t, s.n, NULL, 0, err, sizeof err) == 0, "write probe: %s", err);
  size_t new_n;
  unsigned char *fresh = read_file(probe, &new_n);
  int failures_seen = 0;
  for (size_t limit = 0; limit < new_n; limit++) {
    RtStFault fault = {(int64_t)limit, 0, 0};
    err[0] = '\0';
    int rc = rt_st_write_fault(path, s.t, s.n, NULL, 0, &fault, err, sizeof err);
    CHECK(ctx, rc != 0 && strstr(err, "No space left on device") && strstr(err, ".tmp."),
          "limit %zu: rc %d, '%s'", limit, rc, err);
    CHECK(ctx, same_content(path, old, old_n), "limit %zu: old file changed", limit);
    CHECK(ctx, !exists(tmp), "limit %zu: temporary file left behind", limit);
    failures_seen += rc != 0;
  }
  printf("injected ENOSPC at each of %zu byte positions: %d failures reported, e.g. %s\n", new_n, failures_seen, err);
  RtStFault at_limit = {(int64_t)new_n, 0, 0};
  CHECK(ctx, rt_st_write_fault(probe, s.t, s.n, NULL, 0, &at_limit, err, sizeof err) == 0,
        "limit equal to the size must succeed: %s", err);
  RtStFault fsync_fault = {-1, 1, 0}, rename_fault = {-1, 0, 1};
  CHECK(ctx, rt_st_write_fault(path, s.t, s.n, NULL, 0, &fsync_fault, err, sizeof err) != 0 && strstr(err, "fsync"),
        "fsync failure: %s", err);
  CHECK(ctx, same_content(path, old, old_n) && !exists(tmp), "fsync failure: old file changed or tmp left");
  printf("fsync failure: %s\n", err);
  CHECK(ctx, rt_st_write_fault(path, s.t, s.n, NULL, 0, &rename_fault, err, sizeof err) != 0 &&
                 strstr(err, "rename"),
        "rename failure: %s", err);
  CHECK(ctx, same_content(path, old, old_n) && !exists(tmp), "rename failure: old file changed or tmp left");
  printf("rename failure: %s\n", err);

  /* A real kernel failure: RLIMIT_FSIZE makes writes past 100 bytes fail
   * with EFBIG. Done in a child so the limit does not leak. */
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    struct rlimit rl = {100, 100};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
    char cerr[512] = "";
    int rc = rt_st_write(path, s.t, s.n, NULL, 0, cerr, sizeof cerr);
    printf("RLIMIT_FSIZE 100 bytes: %s\n", cerr);
    fflush(stdout);
    _exit(rc != 0 && strstr(cerr, "File too large") ? 0 : 1);
  }
  int status = 0;
  CHECK(ctx, child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "RLIMIT_FSIZE child: status %d", status);
  char child_tmp[600];
  snprintf(child_tmp, sizeof child_tmp, "%s.tmp.%ld", path, (long)child);
  CHECK(ctx, same_content(path, old, old_n) && !exists(child_tmp), "RLIMIT_FSIZE: old file changed or tmp left");

  /* Nonexistent directory: fails naming the temporary path, creates nothing. */
  char nodir[600];
  snprintf(nodir, sizeof nodir, "%s/no/such/dir/w.safetensors", ctx->tmpdir);
  CHECK(ctx, rt_st_write(nodir, s.t, s.n, NULL, 0, err, sizeof err) != 0 && strstr(err, "No such file or directory"),
        "nonexistent directory: %s", err);
  printf("nonexistent directory: %s\n", err);

  /* The target is a directory: the rename fails, the temporary goes away. */
  char dir[512], dir_tmp[600];
  path_in(dir, sizeof dir, ctx, "a-directory.safetensors");
  CHECK(ctx, mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir");
  snprintf(dir_tmp, sizeof dir_tmp, "%s.tmp.%ld", dir, (long)getpid());
  CHECK(ctx, rt_st_write(dir, s.t, s.n, NULL, 0, err, sizeof err) != 0 && strstr(err, "rename"),
        "target is a directory: %s", err);
  CHECK(ctx, !exists(dir_tmp), "temporary left next to a directory target");
  printf("target is a directory: %s\n", err);

  /* Invalid inputs are refused before any file is created. */
  char inval[512];
  path_in(inval, sizeof inval, ctx, "invalid.safetensors");
  remove(inval);
  RtTensorOut dup[2] = {s.t[0], s.t[0]};
  RtTensorOut bad = s.t[1];
  struct {
    RtTensorOut *t;
    int n;
    const char *needle;
  } cases[6];
  RtTensorOut empty_name = bad, meta_name = bad, bad_rank = bad, neg_dim = bad, no_data = bad;
  empty_name.name = "";
  meta_name.name = "__metadata__";
  bad_rank.ndim = 9;
  neg_dim.shape[0] = -4;
  no_data.data = NULL;
  cases[0].t = dup, cases[0].n = 2, cases[0].needle = "given twice";
  cases[1].t = &empty_name, cases[1].n = 1, cases[1].needle = "empty name";
  cases[2].t = &meta_name, cases[2].n = 1, cases[2].needle = "__metadata__";
  cases[3].t = &bad_rank, cases[3].n = 1, cases[3].needle = "9 dimensions";
  cases[4].t = &neg_dim, cases[4].n = 1, cases[4].needle = "invalid shape [-4]";
  cases[5].t = &no_data, cases[5].n = 1, cases[5].needle = "has no data";
  for (int i = 0; i < 6; i++) {
    CHECK(ctx, rt_st_write(inval, cases[i].t, cases[i].n, NULL, 0, err, sizeof err) != 0 &&
                   strstr(err, cases[i].needle),
          "invalid input %d: %s", i, err);
    CHECK(ctx, !exists(inval), "invalid input %d created the file", i);
  }
  RtStMeta dupmeta[] = {{"a", "1"}, {"a", "2"}};
  CHECK(ctx, rt_st_write(inval, s.t, 1, dupmeta, 2, err, sizeof err) != 0 && strstr(err, "given twice"),
        "duplicate metadata: %s", err);

  /* Finally a successful overwrite replaces the old file. */
  CHECK(ctx, rt_st_write(path, s.t, s.n, NULL, 0, err, sizeof err) == 0, "overwrite: %s", err);
  CHECK(ctx, fresh && same_content(path, fresh, new_n) && !exists(tmp), "overwrite result");
  free(fresh);
  free(old);
}

int test_safetensors(TestCtx *ctx) {
  test_round_trip(ctx);
  test_corrupt_headers(ctx);
  test_prefixes(ctx);
  test_fuzz(ctx);
  test_atomic_writer(ctx);
  return ctx->failures;
}

/* ---- st-tool: the python cross-check's view of the C implementation ---- */

/* `dump IN`: one line per tensor in header order: name (hex-escaped), dtype,
 * shape, then every element (floats as %a, exact), then the metadata. */
static int tool_dump(const char *in) {
  char err[512];
  RtTensorFile *f = rt_st_open(in, err, sizeof err);
  if (!f) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (int i = 0; i < rt_st_count(f); i++) {
    const RtTensorInfo *t = rt_st_info(f, i);
    size_t nb = (size_t)(t->end - t->begin), esz = rt_dtype_size(t->dtype);
    unsigned char *buf = malloc(nb + 1);
    if (!buf || rt_st_read(f, t->name, t->dtype, t->ndim, t->shape, buf, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", buf ? err : "out of memory");
      free(buf);
      rt_st_close(f);
      return 1;
    }
    printf("tensor ");
    for (const unsigned char *p = (const unsigned char *)t->name; *p; p++) printf("%02x", *p);
    printf(" %s", rt_dtype_name(t->dtype));
    printf(" %d", t->ndim);
    for (int d = 0; d < t->ndim; d++) printf(" %lld", (long long)t->shape[d]);
    printf(" :");
    for (size_t k = 0; k < nb / esz; k++) {
      const unsigned char *e = buf + k * esz;
      float f32;
      double f64;
      int64_t i64;
      int32_t i32;
      switch (t->dtype) {
      case RT_DTYPE_F32: memcpy(&f32, e, 4); printf(" %a", (double)f32); break;
      case RT_DTYPE_F64: memcpy(&f64, e, 8); printf(" %a", f64); break;
      case RT_DTYPE_I64: memcpy(&i64, e, 8); printf(" %lld", (long long)i64); break;
      case RT_DTYPE_I32: memcpy(&i32, e, 4); printf(" %d", i32); break;
      case RT_DTYPE_U8: printf(" %u", e[0]); break;
      }
    }
    printf("\n");
    free(buf);
  }
  for (int i = 0; i < rt_st_meta_count(f); i++) {
    printf("meta ");
    for (const unsigned char *p = (const unsigned char *)rt_st_meta_key(f, i); *p; p++) printf("%02x", *p);
    printf(" ");
    for (const unsigned char *p = (const unsigned char *)rt_st_meta(f, rt_st_meta_key(f, i)); *p; p++)
      printf("%02x", *p);
    printf("\n");
  }
  rt_st_close(f);
  return 0;
}

/* `copy IN OUT`: reads every tensor and the metadata of IN and writes them
 * to OUT with the C writer. */
static int tool_copy(const char *in, const char *out) {
  char err[512];
  RtTensorFile *f = rt_st_open(in, err, sizeof err);
  if (!f) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  int n = rt_st_count(f), nmeta = rt_st_meta_count(f), rc = 0;
  RtTensorOut *t = calloc((size_t)n + 1, sizeof *t);
  RtStMeta *meta = calloc((size_t)nmeta + 1, sizeof *meta);
  for (int i = 0; t && meta && i < n && !rc; i++) {
    const RtTensorInfo *info = rt_st_info(f, i);
    void *buf = malloc((size_t)(info->end - info->begin) + 1);
    t[i].name = info->name;
    t[i].dtype = info->dtype;
    t[i].ndim = info->ndim;
    memcpy(t[i].shape, info->shape, sizeof info->shape);
    t[i].data = buf;
    rc = buf ? rt_st_read(f, info->name, info->dtype, info->ndim, info->shape, buf, err, sizeof err) : -1;
  }
  for (int i = 0; meta && i < nmeta; i++) {
    meta[i].key = rt_st_meta_key(f, i);
    meta[i].value = rt_st_meta(f, meta[i].key);
  }
  if (!t || !meta) rc = -1, snprintf(err, sizeof err, "out of memory");
  if (!rc) rc = rt_st_write(out, t, n, meta, nmeta, err, sizeof err);
  if (rc) fprintf(stderr, "%s\n", err);
  for (int i = 0; t && i < n; i++) free((void *)t[i].data);
  free(t);
  free(meta);
  rt_st_close(f);
  return rc ? 1 : 0;
}

/* `pattern OUT`: tensors whose values the python side recomputes with torch. */
static int tool_pattern(const char *out) {
  float a[2 * 3 * 4];
  double b[5];
  int64_t c = -1234567890123LL;
  int32_t d[3] = {-1, 0, 1};
  uint8_t e[4] = {0, 127, 128, 255};
  for (int i = 0; i < 24; i++) a[i] = (float)i * 0.25f - 3.0f;
  for (int i = 0; i < 5; i++) b[i] = (double)i / 3.0;
  RtTensorOut t[] = {
      {"pattern.f32", RT_DTYPE_F32, 3, {2, 3, 4}, a}, {"pattern.f64", RT_DTYPE_F64, 1, {5}, b},
      {"pattern.i64", RT_DTYPE_I64, 0, {0}, &c},       {"pattern.i32", RT_DTYPE_I32, 1, {3}, d},
      {"pattern.u8", RT_DTYPE_U8, 2, {2, 2}, e},       {"pattern.empty", RT_DTYPE_F32, 2, {3, 0}, NULL},
  };
  RtStMeta meta[] = {{"format", "pt"}};
  char err[512];
  if (rt_st_write(out, t, 6, meta, 1, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  return 0;
}

int test_safetensors_tool(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[0], "dump") == 0) return tool_dump(argv[1]);
  if (argc == 3 && strcmp(argv[0], "copy") == 0) return tool_copy(argv[1], argv[2]);
  if (argc == 2 && strcmp(argv[0], "pattern") == 0) return tool_pattern(argv[1]);
  if (argc == 2 && strcmp(argv[0], "check") == 0) {
    char err[512];
    if (open_and_read_all(argv[1], err, sizeof err) != 0) {
      printf("rejected: %s\n", err);
      return 1;
    }
    printf("accepted\n");
    return 0;
  }
  fprintf(stderr, "usage: rt_tests st-tool dump IN | copy IN OUT | pattern OUT | check IN\n");
  return 2;
}
