/* rt_dataset.c: image classification data sets held in memory as uint8
 * pixels in NCHW order with int32 labels (sharpdarts.md §8).
 *
 * Formats:
 * - MNIST / Fashion-MNIST IDX files (images idx3-ubyte, labels idx1-ubyte),
 *   raw or gzip-compressed; compression is detected by the gzip magic, not
 *   the file name. IDX is big-endian: magic 0x00000803 / 0x00000801, then the
 *   dimensions.
 * - CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes
 *   (1024 red, 1024 green, 1024 blue, row-major), which is already CHW.
 * - CIFAR-10.1 .npy pairs: uint8 data [N, 32, 32, 3] (NHWC, transposed here)
 *   and integer labels [N].
 * Every file is checked completely (magic, dimensions, sizes, label range,
 * no trailing bytes) before a data set is returned; errors name the file.
 * Normalization follows torchvision: x/255 in float32, then (x - mean)/std
 * with float32 constants, so results match PyTorch bit for bit. */
#define _POSIX_C_SOURCE 200809L
#include "sharprt.h"
#include "rt_norms.h"
#include "rt_check.h"

#include <ctype.h>
#include <stdlib.h>
#include <sys/stat.h>
#ifdef SHARPRT_HAVE_ZLIB
#include <zlib.h>
#endif

/* ---- whole-file reading, raw or gzip ---- */

/* A whole file in memory, decompressed. */
typedef struct Slurp {
  unsigned char *buf; /* contents (malloc'd) */
  size_t n;           /* bytes in buf */
  int compressed;     /* it was gzip */
  int cut;            /* the gzip stream ended early: buf holds what came before */
} Slurp;

#ifdef SHARPRT_HAVE_ZLIB
/* Decompresses the gzip file path into s. A stream cut short is not an error
 * here (s->cut is set) so that callers can say how many bytes they expected;
 * corrupt data is. */
static int slurp_gz(const char *path, size_t file_size, Slurp *s, char *err, size_t errlen) {
  errno = 0;
  gzFile gz = gzopen(path, "rb");
  if (!gz) return errno ? RT_SYSERR(err, errlen, path, "gzopen") : rt_errf(err, errlen, "%s: gzopen failed", path);
  size_t cap = file_size < (1u << 18) ? (1u << 20) : 4 * file_size;
  if (gzbuffer(gz, 1 << 17) != 0) {
    gzclose(gz);
    return rt_errf(err, errlen, "%s: gzbuffer failed", path);
  }
  if (!RT_MALLOC(s->buf, cap, err, errlen, path)) {
    gzclose(gz);
    return -1;
  }
  for (;;) {
    if (s->n == cap) {
      unsigned char *b = realloc(s->buf, cap *= 2);
      if (!b) {
        gzclose(gz);
        return rt_errf(err, errlen, "%s: out of memory decompressing (%zu bytes)", path, cap);
      }
      s->buf = b;
    }
    size_t want = cap - s->n > (1u << 30) ? (1u << 30) : cap - s->n;
    int r = gzread(gz, s->buf + s->n, (unsigned)want);
    int code = Z_OK;
    const char *msg = gzerror(gz, &code);
    if (r > 0) s->n += (size_t)r;
    if (r < 0 || (code != Z_OK && code != Z_BUF_ERROR)) {
      /* zlib prefixes its message with the path: drop that. */
      size_t pl = strlen(path);
      if (msg && strncmp(msg, path, pl) == 0 && strncmp(msg + pl, ": ", 2) == 0) msg += pl + 2;
      rt_errf(err, errlen, "%s: corrupt gzip data: %s", path, code == Z_ERRNO ? strerror(errno) : msg);
      gzclose(gz);
      return -1;
    }
    if (code == Z_BUF_ERROR) s->cut = 1; /* "unexpected end of file" */
    if ((size_t)r < want) break;
  }
  if (gzclose(gz) != Z_OK && !s->cut) return rt_errf(err, errlen, "%s: gzclose reported an error", path);
  return 0;
}
#endif

/* Reads the whole file at path into s, decompressing it when it starts with
 * the gzip magic 1f 8b. On failure s holds nothing. */
static int slurp(const char *path, Slurp *s, char *err, size_t errlen) {
  unsigned char magic[2];
  struct stat st;
  memset(s, 0, sizeof *s);
  FILE *fp = fopen(path, "rb");
  if (!fp) return RT_SYSERR(err, errlen, path, "fopen");
  int rc = -1;
  if (fstat(fileno(fp), &st) != 0) {
    RT_SYSERR(err, errlen, path, "fstat");
    goto done;
  }
  if (!S_ISREG(st.st_mode)) {
    rt_errf(err, errlen, "%s: not a regular file", path);
    goto done;
  }
  size_t size = (size_t)st.st_size;
  size_t got = fread(magic, 1, 2, fp);
  if (got < 2 && ferror(fp)) {
    RT_SYSERR(err, errlen, path, "fread");
    goto done;
  }
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    s->compressed = 1;
#ifdef SHARPRT_HAVE_ZLIB
    rc = slurp_gz(path, size, s, err, errlen);
#else
    rt_errf(err, errlen, "%s: file is gzip-compressed, but libsharprt was built without zlib", path);
#endif
    goto done;
  }
  if (!RT_MALLOC(s->buf, size, err, errlen, path)) goto done;
  memcpy(s->buf, magic, got);
  s->n = got + (got == 2 && size > 2 ? fread(s->buf + 2, 1, size - 2, fp) : 0);
  if (ferror(fp)) {
    RT_SYSERR(err, errlen, path, "fread");
    goto done;
  }
  rc = 0; /* s->n may be short if the file shrank meanwhile: callers check sizes */
done:
  fclose(fp); /* read-only stream: nothing to lose on a close error */
  if (rc) {
    free(s->buf);
    memset(s, 0, sizeof *s);
  }
  return rc;
}

/* Checks that a file holds exactly `want` bytes for `what`, and that a gzip
 * stream was complete; the error says truncated / extra and both sizes. */
static int check_size(const char *path, const char *what, uint64_t want, const Slurp *s, char *err, size_t errlen) {
  if (s->n != want)
    return rt_errf(err, errlen, "%s: %s: expected %llu %sbytes for %s, got %llu%s", path,
                   s->n < want ? "truncated" : "extra data", (unsigned long long)want,
                   s->compressed ? "decompressed " : "", what, (unsigned long long)s->n,
                   s->cut ? " (gzip stream cut short)" : "");
  if (s->cut)
    return rt_errf(err, errlen, "%s: truncated gzip stream: the %llu data bytes are there but the gzip trailer is not",
                   path, (unsigned long long)want);
  return 0;
}

/* Reads a big-endian 32-bit integer. */
static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void rt_dataset_free(RtDataset *ds) {
  if (!ds) return;
  free(ds->pixels);
  free(ds->labels);
  memset(ds, 0, sizeof *ds);
}

/* ---- IDX (MNIST, Fashion-MNIST) ---- */

/* Checks an IDX header: magic 00 00 08 <ndim>, ndim as expected. */
static int idx_header(const char *path, const Slurp *s, int ndim, const char *what, char *err, size_t errlen) {
  const unsigned char *b = s->buf;
  if (s->n < 4u)
    return rt_errf(err, errlen, "%s: truncated: expected at least %d bytes for the IDX %s header, got %zu%s", path,
                   4 + 4 * ndim, what, s->n, s->cut ? " (gzip stream cut short)" : "");
  if (b[0] != 0 || b[1] != 0)
    return rt_errf(err, errlen, "%s: not an IDX file (magic %02x %02x %02x %02x, expected 00 00 08 %02x)", path, b[0],
                   b[1], b[2], b[3], ndim);
  if (b[2] != 0x08)
    return rt_errf(err, errlen, "%s: IDX element type 0x%02x, only unsigned bytes (0x08) are supported", path, b[2]);
  if (b[3] != ndim)
    return rt_errf(err, errlen, "%s: IDX file with %d dimension(s), expected %d for %s", path, b[3], ndim, what);
  if (s->n < 4u + 4u * (unsigned)ndim)
    return rt_errf(err, errlen, "%s: truncated: expected at least %d bytes for the IDX %s header, got %zu%s", path,
                   4 + 4 * ndim, what, s->n, s->cut ? " (gzip stream cut short)" : "");
  return 0;
}

int rt_idx_load(const char *images_path, const char *labels_path, int num_classes, RtDataset *ds, char *err,
                size_t errlen) {
  Slurp img = {0}, lab = {0};
  char what[96];
  memset(ds, 0, sizeof *ds);
  if (num_classes < 1 || num_classes > 256)
    return rt_errf(err, errlen, "%s: num_classes %d out of range 1..256", labels_path, num_classes);
  if (slurp(images_path, &img, err, errlen)) return -1;
  if (idx_header(images_path, &img, 3, "images", err, errlen)) goto fail;
  uint32_t count = be32(img.buf + 4), h = be32(img.buf + 8), w = be32(img.buf + 12);
  if (count == 0 || h == 0 || w == 0 || h > 65535 || w > 65535) {
    rt_errf(err, errlen, "%s: implausible image dimensions %u x %u x %u", images_path, count, h, w);
    goto fail;
  }
  uint64_t npix = (uint64_t)count * h * w;
  snprintf(what, sizeof what, "%u images of %ux%u", count, h, w);
  if (check_size(images_path, what, 16 + npix, &img, err, errlen)) goto fail;
  if (slurp(labels_path, &lab, err, errlen)) goto fail;
  if (idx_header(labels_path, &lab, 1, "labels", err, errlen)) goto fail;
  uint32_t nlabels = be32(lab.buf + 4);
  if (nlabels != count) {
    rt_errf(err, errlen, "%s: %u labels, but %s holds %u images", labels_path, nlabels, images_path, count);
    goto fail;
  }
  snprintf(what, sizeof what, "%u labels", count);
  if (check_size(labels_path, what, 8 + (uint64_t)count, &lab, err, errlen)) goto fail;
  if (!RT_MALLOC(ds->labels, sizeof(int32_t) * count, err, errlen, labels_path)) goto fail;
  for (uint32_t i = 0; i < count; i++) {
    if (lab.buf[8 + i] >= num_classes) {
      rt_errf(err, errlen, "%s: label %u of image %u is out of range 0..%d", labels_path, lab.buf[8 + i], i,
              num_classes - 1);
      goto fail;
    }
    ds->labels[i] = lab.buf[8 + i];
  }
  /* The IDX pixels are already N x H x W = NCHW with C = 1: drop the header. */
  memmove(img.buf, img.buf + 16, (size_t)npix);
  unsigned char *shrunk = realloc(img.buf, (size_t)npix);
  ds->pixels = shrunk ? shrunk : img.buf;
  free(lab.buf);
  ds->n = count;
  ds->c = 1;
  ds->h = (int)h;
  ds->w = (int)w;
  ds->num_classes = num_classes;
  ds->name = "mnist";
  return 0;
fail:
  free(img.buf);
  free(lab.buf);
  rt_dataset_free(ds);
  return -1;
}

/* ---- CIFAR-10 binary batches ---- */

#define CIFAR_RECORD 3073

int rt_cifar10_load(const char *const *paths, int npaths, RtDataset *ds, char *err, size_t errlen) {
  Slurp *files = NULL;
  int64_t total = 0;
  int rc = -1;
  memset(ds, 0, sizeof *ds);
  if (npaths < 1) return rt_errf(err, errlen, "CIFAR-10: no batch files given");
  files = calloc((size_t)npaths, sizeof *files);
  if (!files) return rt_errf(err, errlen, "%s: out of memory", paths[0]);
  for (int i = 0; i < npaths; i++) {
    Slurp *f = &files[i];
    if (slurp(paths[i], f, err, errlen)) goto done;
    size_t records = (f->n + CIFAR_RECORD - 1) / CIFAR_RECORD;
    char what[96];
    snprintf(what, sizeof what, "%zu records of 3073 bytes (1 label + 3x32x32 pixels)", records);
    if (f->n == 0) {
      rt_errf(err, errlen, "%s: empty file, expected CIFAR-10 records of 3073 bytes", paths[i]);
      goto done;
    }
    if (check_size(paths[i], what, (uint64_t)records * CIFAR_RECORD, f, err, errlen)) goto done;
    total += (int64_t)records;
  }
  if (!RT_MALLOC(ds->pixels, (size_t)total * 3072, err, errlen, paths[0]) ||
      !RT_MALLOC(ds->labels, sizeof(int32_t) * (size_t)total, err, errlen, paths[0]))
    goto done;
  int64_t k = 0;
  for (int i = 0; i < npaths; i++) {
    size_t records = files[i].n / CIFAR_RECORD;
    for (size_t r = 0; r < records; r++, k++) {
      const unsigned char *rec = files[i].buf + r * CIFAR_RECORD;
      if (rec[0] >= 10) {
        rt_errf(err, errlen, "%s: label %u of record %zu (byte offset %zu) is out of range 0..9", paths[i], rec[0], r,
                r * CIFAR_RECORD);
        goto done;
      }
      ds->labels[k] = rec[0];
      memcpy(ds->pixels + (size_t)k * 3072, rec + 1, 3072);
    }
  }
  ds->n = total;
  ds->c = 3;
  ds->h = 32;
  ds->w = 32;
  ds->num_classes = 10;
  ds->name = "cifar10";
  rc = 0;
done:
  for (int i = 0; i < npaths; i++) free(files[i].buf);
  free(files);
  if (rc) rt_dataset_free(ds);
  return rc;
}

/* ---- .npy ---- */

/* Cursor over the header's Python dict literal. */
typedef struct PyLit {
  const char *s;
  size_t n, i;
  const char *path;
  char *err;
  size_t errlen;
} PyLit;

/* Skips whitespace in the header dict. */
static void py_ws(PyLit *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
    p->i++;
}

/* Reports a header syntax error at the cursor, showing what was found. */
static int py_fail(PyLit *p, const char *expected) {
  if (p->i >= p->n)
    return rt_errf(p->err, p->errlen, "%s: malformed .npy header: expected %s at header byte %zu, found the end",
                   p->path, expected, p->i);
  unsigned char c = (unsigned char)p->s[p->i];
  return rt_errf(p->err, p->errlen, "%s: malformed .npy header: expected %s at header byte %zu, found %s%c%s", p->path,
                 expected, p->i, isprint(c) ? "'" : "byte ", isprint(c) ? c : '?', isprint(c) ? "'" : "");
}

/* Consumes c after whitespace; returns 1 if it was there. */
static int py_accept(PyLit *p, char c) {
  py_ws(p);
  if (p->i < p->n && p->s[p->i] == c) {
    p->i++;
    return 1;
  }
  return 0;
}

/* string: '...' or "..." without escapes, copied into out[outlen]. */
static int py_string(PyLit *p, char *out, size_t outlen) {
  py_ws(p);
  if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"')) return py_fail(p, "a quoted string");
  char q = p->s[p->i++];
  size_t k = 0;
  while (p->i < p->n && p->s[p->i] != q) {
    if (p->s[p->i] == '\\' || k + 1 >= outlen) return py_fail(p, "a short string without escapes");
    out[k++] = p->s[p->i++];
  }
  if (p->i >= p->n) return py_fail(p, "a closing quote");
  p->i++;
  out[k] = '\0';
  return 0;
}

/* tuple of non-negative ints: '(' (int (',' int)* ','?)? ')'; Python 2 files
 * may write 2000L. */
static int py_shape(PyLit *p, RtNpy *a) {
  if (!py_accept(p, '(')) return py_fail(p, "'(' to start the shape");
  a->ndim = 0;
  for (;;) {
    if (py_accept(p, ')')) return 0;
    if (a->ndim == RT_NPY_MAX_DIMS)
      return rt_errf(p->err, p->errlen, "%s: .npy shape has more than %d dimensions", p->path, RT_NPY_MAX_DIMS);
    py_ws(p);
    size_t start = p->i;
    int64_t v = 0;
    while (p->i < p->n && isdigit((unsigned char)p->s[p->i])) {
      if (v > (INT64_MAX - 9) / 10) return py_fail(p, "a dimension below 2^63");
      v = v * 10 + (p->s[p->i++] - '0');
    }
    if (p->i == start) return py_fail(p, "a non-negative dimension");
    if (p->i < p->n && p->s[p->i] == 'L') p->i++;
    a->shape[a->ndim++] = v;
    if (py_accept(p, ')')) return 0;
    if (!py_accept(p, ',')) return py_fail(p, "',' or ')' in the shape");
  }
}

/* descr: [<>|=]? kind size, e.g. '<i8', '|u1', 'u1'. */
static int parse_descr(PyLit *p, const char *d, RtNpy *a) {
  const char *s = d;
  a->big_endian = 0;
  if (*s == '<' || *s == '|' || *s == '=') s++;
  else if (*s == '>') a->big_endian = 1, s++;
  if (*s != 'u' && *s != 'i' && *s != 'f' && *s != 'b')
    return rt_errf(p->err, p->errlen, "%s: unsupported .npy dtype '%s' (need an integer, float or bool type)",
                   p->path, d);
  a->kind = *s++;
  char *end;
  long size = strtol(s, &end, 10);
  if (end == s || *end || !(size == 1 || size == 2 || size == 4 || size == 8) || (a->kind == 'f' && size < 4) ||
      (a->kind == 'b' && size != 1))
    return rt_errf(p->err, p->errlen, "%s: unsupported .npy dtype '%s'", p->path, d);
  a->itemsize = (int)size;
  if (size == 1) a->big_endian = 0;
  return 0;
}

void rt_npy_free(RtNpy *a) {
  if (!a) return;
  free(a->buf);
  memset(a, 0, sizeof *a);
}

int rt_npy_load(const char *path, RtNpy *a, char *err, size_t errlen) {
  Slurp f;
  memset(a, 0, sizeof *a);
  if (slurp(path, &f, err, errlen)) return -1;
  unsigned char *b = f.buf;
  size_t n = f.n;
  if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
    int magic_ok = n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0;
    free(b);
    if (magic_ok)
      return rt_errf(err, errlen, "%s: truncated: expected at least 10 bytes of .npy preamble, got %zu", path, n);
    return rt_errf(err, errlen, "%s: not a .npy file (no \\x93NUMPY magic)", path);
  }
  int major = b[6];
  size_t hlen, hstart;
  if (major == 1) hlen = (size_t)b[8] | (size_t)b[9] << 8, hstart = 10;
  else if (major == 2 || major == 3) {
    if (n < 12) {
      free(b);
      return rt_errf(err, errlen, "%s: truncated .npy preamble (%zu bytes)", path, n);
    }
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24, hstart = 12;
  } else {
    int minor = b[7];
    free(b);
    return rt_errf(err, errlen, "%s: .npy format version %d.%d is not supported (1, 2 or 3)", path, major, minor);
  }
  if (hstart + hlen > n) {
    free(b);
    return rt_errf(err, errlen, "%s: truncated: .npy header of %zu bytes, but only %zu follow the preamble", path,
                   hlen, n - hstart);
  }
  PyLit p = {(const char *)b + hstart, hlen, 0, path, err, errlen};
  char key[32], descr[32];
  int have_descr = 0, have_order = 0, have_shape = 0;
  if (!py_accept(&p, '{')) goto syntax_brace;
  while (!py_accept(&p, '}')) {
    if (py_string(&p, key, sizeof key)) goto fail;
    if (!py_accept(&p, ':')) {
      py_fail(&p, "':'");
      goto fail;
    }
    if (strcmp(key, "descr") == 0 && !have_descr++) {
      if (py_string(&p, descr, sizeof descr) || parse_descr(&p, descr, a)) goto fail;
    } else if (strcmp(key, "fortran_order") == 0 && !have_order++) {
      py_ws(&p);
      if (p.n - p.i >= 4 && memcmp(p.s + p.i, "True", 4) == 0) a->fortran_order = 1, p.i += 4;
      else if (p.n - p.i >= 5 && memcmp(p.s + p.i, "False", 5) == 0) a->fortran_order = 0, p.i += 5;
      else {
        py_fail(&p, "True or False");
        goto fail;
      }
    } else if (strcmp(key, "shape") == 0 && !have_shape++) {
      if (py_shape(&p, a)) goto fail;
    } else {
      rt_errf(err, errlen, "%s: .npy header has an unexpected or repeated key '%s'", path, key);
      goto fail;
    }
    if (py_accept(&p, '}')) break;
    if (!py_accept(&p, ',')) {
      py_fail(&p, "',' or '}'");
      goto fail;
    }
  }
  py_ws(&p);
  while (p.i < p.n && p.s[p.i] == '\0') p.i++; /* some writers pad with NULs */
  if (p.i != p.n) {
    py_fail(&p, "only padding after the header dict");
    goto fail;
  }
  if (!have_descr || !have_order || !have_shape) {
    rt_errf(err, errlen, "%s: .npy header lacks '%s'", path, !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    goto fail;
  }
  uint64_t count = 1;
  for (int i = 0; i < a->ndim; i++) {
    if (a->shape[i] != 0 && count > UINT64_MAX / 16 / (uint64_t)a->shape[i]) {
      rt_errf(err, errlen, "%s: .npy shape is too large", path);
      goto fail;
    }
    count *= (uint64_t)a->shape[i];
  }
  a->count = (size_t)count;
  a->nbytes = (size_t)count * (size_t)a->itemsize;
  size_t data_start = hstart + hlen;
  char what[96];
  snprintf(what, sizeof what, "%zu elements of '%s' after a %zu-byte header", a->count, descr, data_start);
  if (check_size(path, what, (uint64_t)data_start + a->nbytes, &f, err, errlen)) goto fail;
  memmove(b, b + data_start, a->nbytes);
  a->buf = b;
  a->data = b;
  return 0;
syntax_brace:
  py_fail(&p, "'{'");
fail:
  free(b);
  memset(a, 0, sizeof *a);
  return -1;
}

int rt_npy_get_int(const RtNpy *a, size_t i, int64_t *out) {
  if (i >= a->count || (a->kind != 'i' && a->kind != 'u' && a->kind != 'b')) return -1;
  const unsigned char *p = a->data + i * (size_t)a->itemsize;
  uint64_t v = 0;
  for (int k = 0; k < a->itemsize; k++) {
    int byte = a->big_endian ? k : a->itemsize - 1 - k;
    v = v << 8 | p[byte];
  }
  if (a->kind == 'i' && a->itemsize < 8 && (v >> (8 * a->itemsize - 1)) & 1) v |= ~0ULL << (8 * a->itemsize);
  if (a->kind == 'u' && a->itemsize == 8 && v > (uint64_t)INT64_MAX) return -1;
  memcpy(out, &v, sizeof v); /* two's complement reinterpretation */
  return 0;
}

/* ---- CIFAR-10.1 ---- */

int rt_cifar101_load(const char *data_path, const char *labels_path, RtDataset *ds, char *err, size_t errlen) {
  RtNpy x, y;
  memset(ds, 0, sizeof *ds);
  if (rt_npy_load(data_path, &x, err, errlen)) return -1;
  if (rt_npy_load(labels_path, &y, err, errlen)) {
    rt_npy_free(&x);
    return -1;
  }
  if (x.kind != 'u' || x.itemsize != 1 || x.ndim != 4 || x.shape[1] != 32 || x.shape[2] != 32 || x.shape[3] != 3 ||
      x.shape[0] < 1) {
    char shape[128] = "";
    for (int i = 0; i < x.ndim; i++)
      snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? ", " : "", (long long)x.shape[i]);
    rt_errf(err, errlen, "%s: expected uint8 data of shape (N, 32, 32, 3), got %c%d of shape (%s)", data_path, x.kind,
            x.itemsize, shape);
    goto fail;
  }
  if (x.fortran_order) {
    rt_errf(err, errlen, "%s: Fortran-ordered image data is not supported", data_path);
    goto fail;
  }
  if ((y.kind != 'i' && y.kind != 'u') || y.ndim != 1 || y.shape[0] != x.shape[0]) {
    rt_errf(err, errlen, "%s: expected %lld integer labels of shape (%lld,), got kind '%c' with %d dimension(s) and %zu "
            "elements", labels_path, (long long)x.shape[0], (long long)x.shape[0], y.kind, y.ndim, y.count);
    goto fail;
  }
  int64_t n = x.shape[0];
  if (!RT_MALLOC(ds->pixels, (size_t)n * 3072, err, errlen, data_path) ||
      !RT_MALLOC(ds->labels, sizeof(int32_t) * (size_t)n, err, errlen, labels_path))
    goto fail;
  for (int64_t i = 0; i < n; i++) {
    int64_t v;
    if (rt_npy_get_int(&y, (size_t)i, &v) || v < 0 || v >= 10) {
      rt_errf(err, errlen, "%s: label %lld of image %lld is out of range 0..9", labels_path, (long long)v, (long long)i);
      goto fail;
    }
    ds->labels[i] = (int32_t)v;
    /* NHWC -> NCHW */
    const unsigned char *src = x.data + (size_t)i * 3072;
    unsigned char *dst = ds->pixels + (size_t)i * 3072;
    for (int c = 0; c < 3; c++)
      for (int p = 0; p < 1024; p++) dst[c * 1024 + p] = src[p * 3 + c];
  }
  ds->n = n;
  ds->c = 3;
  ds->h = 32;
  ds->w = 32;
  ds->num_classes = 10;
  ds->name = "cifar10.1";
  rt_npy_free(&x);
  rt_npy_free(&y);
  return 0;
fail:
  rt_npy_free(&x);
  rt_npy_free(&y);
  rt_dataset_free(ds);
  return -1;
}

/* ---- picking the format by a directory's contents ---- */

/* Writes "dir/name" into out; 1 if that is an existing regular file. */
static int find_in(const char *dir, const char *name, char *out, size_t outlen) {
  struct stat st;
  int len = snprintf(out, outlen, "%s/%s", dir, name);
  if (len < 0 || (size_t)len >= outlen) return 0; /* too long to exist here */
  return stat(out, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds base or base.gz in dir (raw preferred). */
static int find_maybe_gz(const char *dir, const char *base, char *out, size_t outlen) {
  char gz[256];
  snprintf(gz, sizeof gz, "%s.gz", base);
  return find_in(dir, base, out, outlen) || find_in(dir, gz, out, outlen);
}

/* Case-insensitive substring test, for "fashion" in a directory path. */
static int contains_ci(const char *hay, const char *needle) {
  size_t nl = strlen(needle);
  for (; *hay; hay++) {
    size_t k = 0;
    while (k < nl && hay[k] && tolower((unsigned char)hay[k]) == needle[k]) k++;
    if (k == nl) return 1;
  }
  return 0;
}

int rt_dataset_load_dir(const char *dir, const char *name, RtSplit split, RtDataset *ds, char *err, size_t errlen) {
  char a[4096], b[4096];
  int is_test = split == RT_SPLIT_TEST;
  const char *pre = is_test ? "t10k" : "train";
  char imgs[64], labs[64];
  memset(ds, 0, sizeof *ds);
  if (name && !*name) name = NULL;
  if (name && strcmp(name, "mnist") && strcmp(name, "fashion-mnist") && strcmp(name, "cifar10") &&
      strcmp(name, "cifar10.1"))
    return rt_errf(err, errlen, "%s: unknown data set '%s' (known: mnist, fashion-mnist, cifar10, cifar10.1)", dir,
                   name);
  snprintf(imgs, sizeof imgs, "%s-images-idx3-ubyte", pre);
  snprintf(labs, sizeof labs, "%s-labels-idx1-ubyte", pre);

  /* MNIST / Fashion-MNIST. */
  if (!name || !strcmp(name, "mnist") || !strcmp(name, "fashion-mnist")) {
    int hi = find_maybe_gz(dir, imgs, a, sizeof a), hl = find_maybe_gz(dir, labs, b, sizeof b);
    if (hi && hl) {
      if (rt_idx_load(a, b, 10, ds, err, errlen)) return -1;
      ds->name = name ? (strcmp(name, "mnist") ? "fashion-mnist" : "mnist")
                      : (contains_ci(dir, "fashion") ? "fashion-mnist" : "mnist");
      return 0;
    }
    if (hi || hl || name)
      return rt_errf(err, errlen, "%s: no %s[.gz] next to %s", dir, hi ? labs : imgs, hi ? a : hl ? b : "(nothing)");
  }

  /* CIFAR-10 binary batches, in dir or dir/cifar-10-batches-bin. */
  if (!name || !strcmp(name, "cifar10")) {
    char sub[4096];
    int sublen = snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", dir);
    const char *where = NULL;
    if (find_in(dir, is_test ? "test_batch.bin" : "data_batch_1.bin", a, sizeof a)) where = dir;
    else if (sublen > 0 && (size_t)sublen < sizeof sub && find_in(sub, is_test ? "test_batch.bin" : "data_batch_1.bin", a, sizeof a)) where = sub;
    if (where) {
      char paths[5][4096];
      const char *ptrs[5];
      int np = is_test ? 1 : 5;
      for (int i = 0; i < np; i++) {
        char base[32];
        if (is_test) snprintf(base, sizeof base, "test_batch.bin");
        else snprintf(base, sizeof base, "data_batch_%d.bin", i + 1);
        if (!find_in(where, base, paths[i], sizeof paths[i]))
          return rt_errf(err, errlen, "%s: CIFAR-10 batch %s is missing", where, base);
        ptrs[i] = paths[i];
      }
      return rt_cifar10_load(ptrs, np, ds, err, errlen);
    }
    if (name) return rt_errf(err, errlen, "%s: no CIFAR-10 %s (in it or in cifar-10-batches-bin/)", dir,
                             is_test ? "test_batch.bin" : "data_batch_1.bin");
  }

  /* CIFAR-10.1 (test only). */
  static const char *const v101[][2] = {{"cifar10.1-data.npy", "cifar10.1-labels.npy"},
                                        {"cifar10.1_v6_data.npy", "cifar10.1_v6_labels.npy"}};
  for (int i = 0; i < 2 && (!name || !strcmp(name, "cifar10.1")); i++)
    if (find_in(dir, v101[i][0], a, sizeof a)) {
      if (!is_test) return rt_errf(err, errlen, "%s: CIFAR-10.1 has only a test split", dir);
      if (!find_in(dir, v101[i][1], b, sizeof b))
        return rt_errf(err, errlen, "%s: %s is missing next to %s", dir, v101[i][1], a);
      return rt_cifar101_load(a, b, ds, err, errlen);
    }
  return rt_errf(err, errlen,
                 "%s: no data set found: looked for %s[.gz] (MNIST, Fashion-MNIST), %s (CIFAR-10) and "
                 "cifar10.1-data.npy (CIFAR-10.1)",
                 dir, imgs, is_test ? "test_batch.bin" : "data_batch_1.bin");
}

/* ---- normalization ---- */

#define RT_NORM_UNPAREN(...) __VA_ARGS__
#define RT_NORM_ROW(name, c, mean, std) {name, c, RT_NORM_UNPAREN mean, RT_NORM_UNPAREN std},
static const RtNorm norms[] = {RT_NORMS(RT_NORM_ROW)};

const RtNorm *rt_norm_find(const char *name) {
  for (size_t i = 0; name && i < sizeof norms / sizeof norms[0]; i++)
    if (strcmp(norms[i].name, name) == 0) return &norms[i];
  return NULL;
}

int rt_dataset_normalize(const RtDataset *ds, const RtNorm *norm, const int64_t *indices, int64_t start,
                         int64_t count, float *out, char *err, size_t errlen) {
  if (!norm) return rt_errf(err, errlen, "normalize: no normalization constants given (data set '%s')", ds->name);
  if (norm->channels != ds->c)
    return rt_errf(err, errlen, "normalize: '%s' constants have %d channel(s), the data set has %d", norm->name,
                   norm->channels, ds->c);
  if (count < 0) return rt_errf(err, errlen, "normalize: negative count %lld", (long long)count);
  if (!indices && (start < 0 || start > ds->n || count > ds->n - start))
    return rt_errf(err, errlen, "normalize: images [%lld, %lld) out of range 0..%lld", (long long)start,
                   (long long)(start + count), (long long)ds->n);
  size_t plane = (size_t)ds->h * (size_t)ds->w;
  float mean[3], stdv[3];
  for (int c = 0; c < ds->c; c++) mean[c] = (float)norm->mean[c], stdv[c] = (float)norm->std[c];
  for (int64_t b = 0; b < count; b++) {
    int64_t i = indices ? indices[b] : start + b;
    if (i < 0 || i >= ds->n)
      return rt_errf(err, errlen, "normalize: index %lld (batch position %lld) out of range 0..%lld", (long long)i,
                     (long long)b, (long long)ds->n - 1);
    const uint8_t *src = ds->pixels + (size_t)i * (size_t)ds->c * plane;
    float *dst = out + (size_t)b * (size_t)ds->c * plane;
    for (int c = 0; c < ds->c; c++)
      for (size_t p = 0; p < plane; p++) dst[c * plane + p] = ((float)src[c * plane + p] / 255.0f - mean[c]) / stdv[c];
  }
  return 0;
}
