/* rt_checkpoint.c: training checkpoints as safetensors files. A checkpoint
 * is the tensors a resumed run needs (weights, buffers, alphas, optimizer
 * states) plus "sharprt.*" metadata: the format version, epoch, step, RNG
 * state, source hash, and a checksum of every tensor's bytes, which catches
 * damage inside the data that the layout checks of rt_st_open cannot see.
 * Saving goes through rt_st_write, so a failed save never harms the previous
 * checkpoint; loading checks names, dtypes, shapes, metadata and checksum. */
#include "rt_check.h"
#include "sharprt.h"

#include <inttypes.h>

/* Metadata keys owned by the runtime. */
#define KEY_FORMAT "sharprt.checkpoint"
#define KEY_EPOCH "sharprt.epoch"
#define KEY_STEP "sharprt.step"
#define KEY_SEED "sharprt.rng.seed"
#define KEY_STREAM "sharprt.rng.stream"
#define KEY_COUNTER "sharprt.rng.counter"
#define KEY_HASH "sharprt.source_hash"
#define KEY_CHECKSUM "sharprt.checksum"
#define NUM_KEYS 8

/* FNV-1a 64 of a tensor's name, a NUL and its bytes. The file's checksum is
 * the sum over its tensors, so it does not depend on their order. */
static uint64_t tensor_hash(const char *name, const void *data, size_t nbytes) {
  uint64_t h = 0xcbf29ce484222325u;
  const unsigned char *s = (const unsigned char *)name;
  for (size_t i = 0;; i++) {
    h = (h ^ s[i]) * 0x100000001b3u;
    if (!s[i]) break;
  }
  const unsigned char *d = data;
  for (size_t i = 0; i < nbytes; i++) h = (h ^ d[i]) * 0x100000001b3u;
  return h;
}

/* Bytes of a tensor, or 0 with *bad set when a size is negative or the
 * total overflows. */
static size_t tensor_bytes(RtDtype dtype, int ndim, const int64_t *shape, int *bad) {
  size_t n = rt_dtype_size(dtype);
  if (!n || ndim < 0 || ndim > RT_ST_MAX_DIMS) return *bad = 1, 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] && n > SIZE_MAX / (size_t)shape[i])) return *bad = 1, 0;
    n *= (size_t)shape[i];
  }
  return n;
}

int rt_ckpt_save_fault(const char *path, const RtCkptTensor *tensors, int n, const RtCkptState *state,
                       const RtStMeta *extra, int nextra, const RtStFault *fault, char *err, size_t errlen) {
  if (n < 0 || nextra < 0) return rt_errf(err, errlen, "%s: negative tensor or metadata count", path);
  if (!state) return rt_errf(err, errlen, "%s: no run state given", path);
  for (int i = 0; i < nextra; i++)
    if (!extra[i].key || !extra[i].value || strncmp(extra[i].key, "sharprt.", 8) == 0)
      return rt_errf(err, errlen, "%s: extra metadata key '%s' is missing or reserved (\"sharprt.\" prefix)", path,
                     extra[i].key ? extra[i].key : "(null)");
  RtTensorOut *out = NULL;
  RtStMeta *meta = NULL;
  if (!RT_MALLOC(out, (size_t)n * sizeof *out + 1, err, errlen, path)) return -1;
  if (!RT_MALLOC(meta, ((size_t)nextra + NUM_KEYS) * sizeof *meta, err, errlen, path)) return free(out), -1;
  uint64_t sum = 0;
  int rc = -1;
  for (int i = 0; i < n; i++) {
    const RtCkptTensor *t = &tensors[i];
    int bad = 0;
    size_t nbytes = tensor_bytes(t->dtype, t->ndim, t->shape, &bad);
    if (bad || !t->name || (!t->data && nbytes)) {
      rt_errf(err, errlen, "%s: tensor '%s' has an invalid dtype, shape or no data", path,
              t->name ? t->name : "(null)");
      goto done;
    }
    out[i].name = t->name, out[i].dtype = t->dtype, out[i].ndim = t->ndim, out[i].data = t->data;
    memcpy(out[i].shape, t->shape, sizeof out[i].shape);
    sum += tensor_hash(t->name, t->data, nbytes);
  }
  char v[7][24];
  snprintf(v[0], sizeof v[0], "%d", RT_CKPT_VERSION);
  snprintf(v[1], sizeof v[1], "%" PRId64, state->epoch);
  snprintf(v[2], sizeof v[2], "%" PRId64, state->step);
  snprintf(v[3], sizeof v[3], "%" PRIu64, state->rng.seed);
  snprintf(v[4], sizeof v[4], "%" PRIu64, state->rng.stream);
  snprintf(v[5], sizeof v[5], "%" PRIu64, state->rng.counter);
  snprintf(v[6], sizeof v[6], "%016" PRIx64, sum);
  const char *keys[NUM_KEYS] = {KEY_FORMAT, KEY_EPOCH, KEY_STEP, KEY_SEED, KEY_STREAM, KEY_COUNTER, KEY_CHECKSUM,
                                KEY_HASH};
  for (int i = 0; i < 7; i++) meta[i].key = keys[i], meta[i].value = v[i];
  meta[7].key = KEY_HASH, meta[7].value = state->source_hash;
  for (int i = 0; i < nextra; i++) meta[NUM_KEYS + i] = extra[i];
  rc = rt_st_write_fault(path, out, n, meta, NUM_KEYS + nextra, fault, err, errlen);
done:
  free(out);
  free(meta);
  return rc;
}

int rt_ckpt_save(const char *path, const RtCkptTensor *tensors, int n, const RtCkptState *state,
                 const RtStMeta *extra, int nextra, char *err, size_t errlen) {
  return rt_ckpt_save_fault(path, tensors, n, state, extra, nextra, NULL, err, errlen);
}

/* Parses metadata `key` as a decimal integer (unsigned when is_unsigned). */
static int meta_int(RtTensorFile *f, const char *path, const char *key, int is_unsigned, uint64_t *out, char *err,
                    size_t errlen) {
  const char *s = rt_st_meta(f, key);
  if (!s) return rt_errf(err, errlen, "%s: not a sharprt checkpoint: metadata '%s' is missing", path, key);
  char *end;
  errno = 0;
  if (is_unsigned) *out = strtoull(s, &end, 10);
  else *out = (uint64_t)strtoll(s, &end, 10);
  if (errno || end == s || *end || (is_unsigned && *s == '-') || (!is_unsigned && (int64_t)*out < 0))
    return rt_errf(err, errlen, "%s: metadata '%s' = '%s' is not a valid %s integer", path, key, s,
                   is_unsigned ? "unsigned" : "non-negative");
  return 0;
}

RtTensorFile *rt_ckpt_open(const char *path, RtCkptState *state, const char *expect_hash, char *err,
                           size_t errlen) {
  RtTensorFile *f = rt_st_open(path, err, errlen);
  if (!f) return NULL;
  const char *fmt = rt_st_meta(f, KEY_FORMAT);
  uint64_t version, epoch, step;
  RtCkptState st;
  memset(&st, 0, sizeof st);
  if (!fmt) {
    rt_errf(err, errlen, "%s: not a sharprt checkpoint (no '%s' metadata; a weights-only file?)", path, KEY_FORMAT);
    goto fail;
  }
  if (meta_int(f, path, KEY_FORMAT, 1, &version, err, errlen)) goto fail;
  if (version != RT_CKPT_VERSION) {
    rt_errf(err, errlen, "%s: checkpoint format version %s, this runtime reads version %d", path, fmt,
            RT_CKPT_VERSION);
    goto fail;
  }
  if (meta_int(f, path, KEY_EPOCH, 0, &epoch, err, errlen) || meta_int(f, path, KEY_STEP, 0, &step, err, errlen) ||
      meta_int(f, path, KEY_SEED, 1, &st.rng.seed, err, errlen) ||
      meta_int(f, path, KEY_STREAM, 1, &st.rng.stream, err, errlen) ||
      meta_int(f, path, KEY_COUNTER, 1, &st.rng.counter, err, errlen))
    goto fail;
  st.epoch = (int64_t)epoch, st.step = (int64_t)step;
  const char *hash = rt_st_meta(f, KEY_HASH), *sum = rt_st_meta(f, KEY_CHECKSUM);
  if (!hash || !sum) {
    rt_errf(err, errlen, "%s: not a sharprt checkpoint: metadata '%s' is missing", path, hash ? KEY_CHECKSUM : KEY_HASH);
    goto fail;
  }
  if (strlen(hash) >= sizeof st.source_hash) {
    rt_errf(err, errlen, "%s: source hash '%.20s...' is longer than %zu characters", path, hash,
            sizeof st.source_hash - 1);
    goto fail;
  }
  strcpy(st.source_hash, hash);
  if (expect_hash && *expect_hash && strcmp(expect_hash, hash) != 0) {
    rt_errf(err, errlen, "%s: checkpoint was written by a program built from another source (hash %s, this program %s)",
            path, *hash ? hash : "(none)", expect_hash);
    goto fail;
  }
  if (state) *state = st;
  return f;
fail:
  rt_st_close(f);
  return NULL;
}

int rt_ckpt_read(RtTensorFile *f, const char *path, RtCkptTensor *tensors, int n, char *err, size_t errlen) {
  uint64_t sum = 0;
  int found = 0;
  for (int i = 0; i < n; i++) {
    RtCkptTensor *t = &tensors[i];
    t->loaded = 0;
    const RtTensorInfo *info = rt_st_find(f, t->name);
    if (!info && t->optional) continue;
    int bad = 0;
    size_t nbytes = tensor_bytes(t->dtype, t->ndim, t->shape, &bad);
    if (bad) return rt_errf(err, errlen, "%s: tensor '%s': the requested dtype or shape is invalid", path, t->name);
    if (rt_st_read(f, t->name, t->dtype, t->ndim, t->shape, t->data, err, errlen)) return -1;
    sum += tensor_hash(t->name, t->data, nbytes);
    t->loaded = 1;
    found++;
  }
  if (found != rt_st_count(f)) {
    for (int k = 0; k < rt_st_count(f); k++) {
      const char *name = rt_st_info(f, k)->name;
      int asked = 0;
      for (int i = 0; i < n && !asked; i++) asked = strcmp(tensors[i].name, name) == 0;
      if (!asked)
        return rt_errf(err, errlen, "%s: tensor '%s' is not part of this model (%d tensors in the file, %d expected)",
                       path, name, rt_st_count(f), n);
    }
    return rt_errf(err, errlen, "%s: duplicate tensor names requested", path);
  }
  char want[24];
  snprintf(want, sizeof want, "%016" PRIx64, sum);
  const char *have = rt_st_meta(f, KEY_CHECKSUM);
  if (!have || strcmp(have, want) != 0)
    return rt_errf(err, errlen, "%s: checksum mismatch: the tensor data is damaged (stored %s, computed %s)", path,
                   have ? have : "(none)", want);
  return 0;
}

int rt_ckpt_load(const char *path, RtCkptTensor *tensors, int n, RtCkptState *state, const char *expect_hash,
                 char *err, size_t errlen) {
  RtTensorFile *f = rt_ckpt_open(path, state, expect_hash, err, errlen);
  if (!f) return -1;
  int rc = rt_ckpt_read(f, path, tensors, n, err, errlen);
  rt_st_close(f);
  return rc;
}
