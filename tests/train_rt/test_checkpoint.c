/* test_checkpoint.c: checkpoints round-trip every tensor and the run state;
 * wrong versions, hashes, names, shapes, dtypes, truncated and bit-flipped
 * files are rejected with the file (and tensor) named; injected write
 * failures leave the previous checkpoint intact. */
#define _POSIX_C_SOURCE 200809L
#include "tr_test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* A small "model": conv weight, BN buffers, an alpha, SGD and Adam states. */
typedef struct Model {
  float w[4 * 3 * 3 * 3], bn_mean[4], alpha[14 * 8], mom[4 * 3 * 3 * 3], am[14 * 8], av[14 * 8];
  int64_t tracked;
} Model;

static void model_fill(Model *m, float base) {
  float *arrays[] = {m->w, m->bn_mean, m->alpha, m->mom, m->am, m->av};
  size_t sizes[] = {108, 4, 112, 108, 112, 112};
  for (int a = 0; a < 6; a++)
    for (size_t i = 0; i < sizes[a]; i++) arrays[a][i] = base + (float)a + 0.001f * (float)i;
  m->tracked = (int64_t)(base * 10);
}

/* The tensor list of m (shapes fixed). */
static int model_tensors(Model *m, RtCkptTensor *t) {
  RtCkptTensor list[] = {
      {"cells.0.conv.weight", RT_DTYPE_F32, 4, {4, 3, 3, 3}, m->w, 0, 0},
      {"cells.0.bn.running_mean", RT_DTYPE_F32, 1, {4}, m->bn_mean, 0, 0},
      {"cells.0.bn.num_batches_tracked", RT_DTYPE_I64, 0, {0}, &m->tracked, 0, 0},
      {"alphas_normal", RT_DTYPE_F32, 2, {14, 8}, m->alpha, 0, 0},
      {RT_CKPT_SGD_MOMENTUM "cells.0.conv.weight", RT_DTYPE_F32, 4, {4, 3, 3, 3}, m->mom, 0, 0},
      {RT_CKPT_ADAM_M "alphas_normal", RT_DTYPE_F32, 2, {14, 8}, m->am, 0, 0},
      {RT_CKPT_ADAM_V "alphas_normal", RT_DTYPE_F32, 2, {14, 8}, m->av, 0, 0},
  };
  memcpy(t, list, sizeof list);
  return (int)(sizeof list / sizeof list[0]);
}

/* Number of entries of dir whose name contains ".tmp." (leftover temporaries). */
static int count_temps(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
  closedir(d);
  return n;
}

int test_checkpoint(TestCtx *ctx) {
  char path[512], bad[512], err[512];
  snprintf(path, sizeof path, "%s/ckpt.safetensors", ctx->tmpdir);
  snprintf(bad, sizeof bad, "%s/bad.safetensors", ctx->tmpdir);
  Model a, b;
  RtCkptTensor ta[16], tb[16];
  model_fill(&a, 1.0f);
  int n = model_tensors(&a, ta);
  RtCkptState st = {12, 4567, {2, 77, 123456789012345u}, "sha256:0123abcd"};
  RtStMeta extra[] = {{"genotype", "Genotype(normal=[('sep_conv_3x3', 0)], \"q\")"}, {"best_acc", "0.8416"}};
  int rejected = 0;

  /* Round trip. */
  CHECK(ctx, rt_ckpt_save(path, ta, n, &st, extra, 2, err, sizeof err) == 0, "save: %s", err);
  memset(&b, 0, sizeof b);
  model_tensors(&b, tb);
  RtCkptState got;
  memset(&got, 0, sizeof got);
  RtTensorFile *f = rt_ckpt_open(path, &got, "sha256:0123abcd", err, sizeof err);
  CHECK(ctx, f != NULL, "open: %s", err);
  if (f) {
    CHECK(ctx, rt_ckpt_read(f, path, tb, n, err, sizeof err) == 0, "read: %s", err);
    const char *g = rt_st_meta(f, "genotype");
    CHECK(ctx, g && strcmp(g, extra[0].value) == 0, "extra metadata: %s", g ? g : "(missing)");
    rt_st_close(f);
  }
  CHECK(ctx, memcmp(&a, &b, sizeof a) == 0, "tensors differ after the round trip");
  CHECK(ctx, got.epoch == 12 && got.step == 4567 && got.rng.seed == 2 && got.rng.stream == 77 &&
                 got.rng.counter == 123456789012345u && strcmp(got.source_hash, "sha256:0123abcd") == 0,
        "state: epoch %lld step %lld rng %llu/%llu/%llu hash %s", (long long)got.epoch, (long long)got.step,
        (unsigned long long)got.rng.seed, (unsigned long long)got.rng.stream, (unsigned long long)got.rng.counter,
        got.source_hash);
  for (int i = 0; i < n; i++) CHECK(ctx, tb[i].loaded == 1, "tensor %s not marked loaded", tb[i].name);

  /* Optional tensors: absent is fine when optional, an error otherwise. */
  model_tensors(&b, tb);
  tb[n] = (RtCkptTensor){RT_CKPT_SGD_MOMENTUM "alphas_normal", RT_DTYPE_F32, 2, {14, 8}, b.alpha, 1, 1};
  CHECK(ctx, rt_ckpt_load(path, tb, n + 1, NULL, NULL, err, sizeof err) == 0 && tb[n].loaded == 0,
        "optional absent tensor: %s", err);
  tb[n].optional = 0;
  CHECK(ctx, rt_ckpt_load(path, tb, n + 1, NULL, NULL, err, sizeof err) != 0 && strstr(err, "alphas_normal") &&
                 strstr(err, path),
        "missing tensor: %s", err);
  rejected++;

  /* The wrong model: a tensor with another shape, another dtype, one too few asked for. */
  struct {
    const char *what, *needle;
  } cases[] = {{"shape", "has shape"}, {"dtype", "dtype"}, {"extra tensor", "not part of this model"}};
  for (int c = 0; c < 3; c++) {
    int m = model_tensors(&b, tb);
    if (c == 0) tb[3].shape[1] = 7;
    if (c == 1) tb[2].dtype = RT_DTYPE_F32, tb[2].data = b.bn_mean;
    if (c == 2) m--;
    int rc = rt_ckpt_load(path, tb, m, NULL, NULL, err, sizeof err);
    CHECK(ctx, rc != 0 && strstr(err, cases[c].needle) && strstr(err, path), "%s: rc %d, %s", cases[c].what, rc, err);
    rejected++;
  }
  /* A program built from another source. */
  model_tensors(&b, tb);
  CHECK(ctx, rt_ckpt_load(path, tb, n, NULL, "sha256:ffff", err, sizeof err) != 0 && strstr(err, "another source"),
        "hash mismatch: %s", err);
  rejected++;

  /* Another format version, and a plain weights file. */
  RtTensorOut plain = {"w", RT_DTYPE_F32, 1, {4}, a.bn_mean};
  RtStMeta v2[] = {{"sharprt.checkpoint", "2"}};
  CHECK(ctx, rt_st_write(bad, &plain, 1, v2, 1, err, sizeof err) == 0, "write v2: %s", err);
  CHECK(ctx, rt_ckpt_load(bad, tb, n, NULL, NULL, err, sizeof err) != 0 && strstr(err, "version 2") && strstr(err, bad),
        "version: %s", err);
  CHECK(ctx, rt_st_write(bad, &plain, 1, NULL, 0, err, sizeof err) == 0, "write plain: %s", err);
  CHECK(ctx, rt_ckpt_load(bad, tb, n, NULL, NULL, err, sizeof err) != 0 && strstr(err, "not a sharprt checkpoint"),
        "plain weights: %s", err);
  rejected += 2;

  /* Truncated at every 97th length, and every data byte flipped in turn on a
   * sample of positions: never accepted. */
  size_t len;
  unsigned char *bytes = read_file(path, &len);
  CHECK(ctx, bytes != NULL, "cannot read back %s", path);
  int truncations = 0, flips = 0;
  for (size_t cut = 0; bytes && cut < len; cut += 97, truncations++) {
    write_file(bad, bytes, cut);
    model_tensors(&b, tb);
    int rc = rt_ckpt_load(bad, tb, n, NULL, NULL, err, sizeof err);
    CHECK(ctx, rc != 0 && strstr(err, bad), "truncated to %zu of %zu bytes accepted (%s)", cut, len, err);
  }
  uint64_t hlen = 0;
  for (int i = 0; bytes && i < 8; i++) hlen |= (uint64_t)bytes[i] << (8 * i);
  for (size_t pos = 8 + hlen; bytes && pos < len; pos += 53, flips++) {
    bytes[pos] ^= 0x10;
    write_file(bad, bytes, len);
    bytes[pos] ^= 0x10;
    model_tensors(&b, tb);
    int rc = rt_ckpt_load(bad, tb, n, NULL, NULL, err, sizeof err);
    CHECK(ctx, rc != 0 && strstr(err, "checksum"), "byte %zu flipped accepted (%s)", pos, err);
  }
  free(bytes);

  /* Injected failures: the previous checkpoint stays readable and unchanged. */
  Model c;
  model_fill(&c, 5.0f);
  RtCkptTensor tc[16];
  model_tensors(&c, tc);
  RtCkptState st2 = st;
  st2.epoch = 13;
  RtStFault faults[] = {{0, 0, 0}, {100, 0, 0}, {1000, 0, 0}, {-1, 1, 0}, {-1, 0, 1}};
  int nfaults = (int)(sizeof faults / sizeof faults[0]);
  for (int k = 0; k < nfaults; k++) {
    int rc = rt_ckpt_save_fault(path, tc, n, &st2, NULL, 0, &faults[k], err, sizeof err);
    CHECK(ctx, rc != 0 && strstr(err, path), "fault %d: save did not fail (%s)", k, err);
    memset(&b, 0, sizeof b);
    model_tensors(&b, tb);
    rc = rt_ckpt_load(path, tb, n, &got, NULL, err, sizeof err);
    CHECK(ctx, rc == 0 && got.epoch == 12 && memcmp(&a, &b, sizeof a) == 0,
          "fault %d: previous checkpoint damaged (%s)", k, err);
  }
  CHECK(ctx, count_temps(ctx->tmpdir) == 0, "temporary files left in %s", ctx->tmpdir);
  /* And a successful save replaces it. */
  CHECK(ctx, rt_ckpt_save(path, tc, n, &st2, NULL, 0, err, sizeof err) == 0, "save 2: %s", err);
  model_tensors(&b, tb);
  CHECK(ctx, rt_ckpt_load(path, tb, n, &got, NULL, err, sizeof err) == 0 && got.epoch == 13 &&
                 memcmp(&c, &b, sizeof c) == 0,
        "second save not loaded: %s", err);
  /* Reserved metadata keys are refused. */
  RtStMeta reserved[] = {{"sharprt.epoch", "1"}};
  CHECK(ctx, rt_ckpt_save(path, tc, n, &st2, reserved, 1, err, sizeof err) != 0 && strstr(err, "reserved"),
        "reserved key: %s", err);
  printf("checkpoint: %d tensors round-tripped with state and extra metadata; %d wrong-model/format cases, %d "
         "truncations, %d flipped bytes rejected; %d injected write failures left the old file intact\n",
         n, rejected, truncations, flips, nfaults);
  return ctx->failures;
}
