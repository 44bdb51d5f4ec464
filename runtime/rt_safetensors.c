/* rt_safetensors.c: reading and writing safetensors files, the weights and
 * checkpoint format (docs/weights-format.md).
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"key": "value", ...},            (optional)
 *    "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the raw little-endian tensor data; offsets count from the start of the
 * data section.
 *
 * The reader is strict, like the reference implementation: the header must be
 * valid JSON and valid UTF-8, every tensor entry has exactly the three fields,
 * names are unique, and the tensors' byte ranges, sorted by offset, tile the
 * data section exactly (no overlap, no gap, no trailing bytes), each range being
 * numel * dtype size long. The header is parsed by a small recursive-descent
 * parser below; no generic JSON values are built.
 *
 * The writer orders tensors as the reference writer does: by dtype, widest
 * alignment first (I64, F64, F32, I32, U8), then by name (bytewise), so the
 * file depends only on the set of tensors, every tensor is aligned to its
 * element size, and the bytes match the reference writer's for the same
 * tensors. The header is compact JSON padded with spaces to a multiple of 8
 * bytes, listing __metadata__ (in the given order) and then the tensors in
 * data order. Files are written atomically: to "<path>.tmp.<pid>", flushed and
 * fsync'ed, then renamed over the target. */
#define _POSIX_C_SOURCE 200809L
#include "sharprt.h"
#include "rt_check.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rt_safetensors.c reads and writes tensor data in host order, which must be little-endian"
#endif

/* The reference implementation's limit on the header length. */
#define ST_MAX_HEADER 100000000ULL

/* ---- dtypes ---- */

/* One row per supported dtype: file name, element size, and rank in the
 * reference writer's ordering (higher ranks are written first). */
static const struct {
  const char *name;
  size_t size;
  int rank;
} dtype_table[] = {
    [RT_DTYPE_F32] = {"F32", 4, 3},
    [RT_DTYPE_F64] = {"F64", 8, 4},
    [RT_DTYPE_I64] = {"I64", 8, 5},
    [RT_DTYPE_I32] = {"I32", 4, 2},
    [RT_DTYPE_U8] = {"U8", 1, 1},
};
#define NUM_DTYPES ((int)(sizeof dtype_table / sizeof dtype_table[0]))

static int dtype_valid(RtDtype d) { return (int)d >= 0 && (int)d < NUM_DTYPES; }

size_t rt_dtype_size(RtDtype d) { return dtype_valid(d) ? dtype_table[d].size : 0; }

const char *rt_dtype_name(RtDtype d) { return dtype_valid(d) ? dtype_table[d].name : "?"; }

/* Looks a dtype up by its file name; -1 when unknown. */
static int dtype_from_name(const char *s) {
  for (int i = 0; i < NUM_DTYPES; i++)
    if (strcmp(s, dtype_table[i].name) == 0) return i;
  return -1;
}

/* Formats a shape as "[2, 3]" ("[]" for a scalar) into buf. */
static const char *fmt_shape(char *buf, size_t len, int ndim, const int64_t *shape) {
  size_t used = 0;
  buf[0] = '\0';
  used += (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < ndim && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (used < len) snprintf(buf + used, len - used, "]");
  return buf;
}

/* numel * elem_size for a shape, or -1 when a dimension is negative or the
 * product overflows 63 bits. */
static int64_t shape_bytes(int ndim, const int64_t *shape, size_t elem_size) {
  uint64_t n = elem_size;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return -1;
    if (shape[i] != 0 && n > (uint64_t)INT64_MAX / (uint64_t)shape[i]) return -1;
    n *= (uint64_t)shape[i];
  }
  return (int64_t)n;
}

/* ---- the open file ---- */

struct RtTensorFile {
  FILE *fp;               /* open for the tensor reads */
  char *path;             /* for messages */
  uint64_t data_start;    /* 8 + header length */
  uint64_t data_size;     /* file size - data_start */
  int n;                  /* number of tensors */
  RtTensorInfo *tensors;  /* in header order; names owned */
  RtTensorInfo **by_name; /* sorted by name, for lookup */
  int nmeta;              /* number of metadata entries */
  char **meta;            /* 2*nmeta strings: key, value, key, value... */
};

/* ---- header JSON parser ---- */

/* Parser state: the header text and where the first error went. */
typedef struct Json {
  const char *s;    /* header bytes (not NUL-terminated) */
  size_t n;         /* header length */
  size_t i;         /* cursor */
  const char *path; /* for messages */
  char *err;
  size_t errlen;
} Json;

/* Skips JSON whitespace. */
static void js_ws(Json *j) {
  while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
    j->i++;
}

/* Reports a syntax error at the cursor, showing what was found there. */
static int js_fail(Json *j, const char *expected) {
  if (j->i >= j->n)
    return rt_errf(j->err, j->errlen, "%s: malformed header: expected %s at byte %zu, found the end of the header",
                   j->path, expected, j->i);
  unsigned char c = (unsigned char)j->s[j->i];
  if (c >= 0x20 && c < 0x7f)
    return rt_errf(j->err, j->errlen, "%s: malformed header: expected %s at byte %zu, found '%c'", j->path, expected,
                   j->i, c);
  return rt_errf(j->err, j->errlen, "%s: malformed header: expected %s at byte %zu, found byte 0x%02x", j->path,
                 expected, j->i, c);
}

/* Consumes the character c (after whitespace) or fails naming it. */
static int js_expect(Json *j, char c) {
  js_ws(j);
  if (j->i < j->n && j->s[j->i] == c) {
    j->i++;
    return 0;
  }
  char what[4] = {'\'', c, '\'', '\0'};
  return js_fail(j, what);
}

/* Peeks at the next non-space character; -1 at the end. */
static int js_peek(Json *j) {
  js_ws(j);
  return j->i < j->n ? (unsigned char)j->s[j->i] : -1;
}

/* Appends code point cp as UTF-8 to out (room for 4 bytes is guaranteed). */
static size_t utf8_put(char *out, unsigned cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned cp, min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
  else return 0;
  if (len > n) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[k] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

/* Reads 4 hex digits at the cursor into *v. */
static int js_hex4(Json *j, unsigned *v) {
  *v = 0;
  for (int k = 0; k < 4; k++) {
    if (j->i >= j->n) return js_fail(j, "4 hex digits after \\u");
    char c = j->s[j->i];
    unsigned d;
    if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
    else return js_fail(j, "4 hex digits after \\u");
    *v = *v * 16 + d;
    j->i++;
  }
  return 0;
}

/* string: '"' chars '"'. Decodes escapes into a new NUL-terminated string.
 * Rejects control characters, invalid UTF-8 and escaped NULs (names are C
 * strings). */
static int js_string(Json *j, char **out) {
  *out = NULL;
  if (js_expect(j, '"')) return -1;
  size_t start = j->i;
  /* The decoded text is never longer than the raw text. */
  size_t end = start;
  while (end < j->n && j->s[end] != '"') end += (j->s[end] == '\\') ? 2 : 1;
  size_t cap = (end > j->n ? j->n : end) - start + 1;
  char *buf;
  if (!RT_MALLOC(buf, cap + 4, j->err, j->errlen, j->path)) return -1;
  size_t o = 0;
  for (;;) {
    if (j->i >= j->n) {
      free(buf);
      return rt_errf(j->err, j->errlen, "%s: malformed header: string starting at byte %zu is not closed", j->path,
                     start - 1);
    }
    unsigned char c = (unsigned char)j->s[j->i];
    if (c == '"') {
      j->i++;
      break;
    }
    if (c < 0x20) {
      free(buf);
      return js_fail(j, "a string character (control characters must be escaped)");
    }
    if (c == '\\') {
      j->i++;
      if (j->i >= j->n) {
        free(buf);
        return js_fail(j, "an escape character");
      }
      char e = j->s[j->i++];
      unsigned cp;
      switch (e) {
      case '"': buf[o++] = '"'; break;
      case '\\': buf[o++] = '\\'; break;
      case '/': buf[o++] = '/'; break;
      case 'b': buf[o++] = '\b'; break;
      case 'f': buf[o++] = '\f'; break;
      case 'n': buf[o++] = '\n'; break;
      case 'r': buf[o++] = '\r'; break;
      case 't': buf[o++] = '\t'; break;
      case 'u':
        if (js_hex4(j, &cp)) {
          free(buf);
          return -1;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) { /* high surrogate: a low one must follow */
          unsigned lo;
          if (j->i + 2 > j->n || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u') {
            free(buf);
            return js_fail(j, "a low surrogate \\uDC00-\\uDFFF");
          }
          j->i += 2;
          if (js_hex4(j, &lo)) {
            free(buf);
            return -1;
          }
          if (lo < 0xdc00 || lo > 0xdfff) {
            j->i -= 6;
            free(buf);
            return js_fail(j, "a low surrogate \\uDC00-\\uDFFF");
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          j->i -= 6;
          free(buf);
          return js_fail(j, "a code point (found an unpaired low surrogate)");
        } else if (cp == 0) {
          j->i -= 6;
          free(buf);
          return js_fail(j, "a string character (\\u0000 is not allowed in names)");
        }
        o += utf8_put(buf + o, cp);
        break;
      default:
        j->i--;
        free(buf);
        return js_fail(j, "an escape character (one of \"\\/bfnrtu)");
      }
      continue;
    }
    size_t len = utf8_len((const unsigned char *)j->s + j->i, j->n - j->i);
    if (len == 0) {
      free(buf);
      return js_fail(j, "valid UTF-8");
    }
    memcpy(buf + o, j->s + j->i, len);
    o += len;
    j->i += len;
  }
  buf[o] = '\0';
  *out = buf;
  return 0;
}

/* A non-negative integer without sign, fraction or exponent (as offsets and
 * dimensions are written), at most INT64_MAX. */
static int js_uint(Json *j, uint64_t *out) {
  js_ws(j);
  size_t start = j->i;
  uint64_t v = 0;
  while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') {
    unsigned d = (unsigned)(j->s[j->i] - '0');
    if (v > ((uint64_t)INT64_MAX - d) / 10) {
      j->i = start;
      return js_fail(j, "an integer below 2^63");
    }
    v = v * 10 + d;
    j->i++;
  }
  if (j->i == start) return js_fail(j, "a non-negative integer");
  if (j->s[start] == '0' && j->i - start > 1) {
    j->i = start;
    return js_fail(j, "an integer without leading zeros");
  }
  if (j->i < j->n && (j->s[j->i] == '.' || j->s[j->i] == 'e' || j->s[j->i] == 'E'))
    return js_fail(j, "',' or ']' after an integer (fractions are not allowed here)");
  *out = v;
  return 0;
}

/* shape: '[' (uint (',' uint)*)? ']' */
static int js_shape(Json *j, const char *name, RtTensorInfo *t) {
  if (js_expect(j, '[')) return -1;
  t->ndim = 0;
  if (js_peek(j) == ']') {
    j->i++;
    return 0;
  }
  for (;;) {
    uint64_t d;
    if (t->ndim == RT_ST_MAX_DIMS)
      return rt_errf(j->err, j->errlen, "%s: tensor '%s' has more than %d dimensions", j->path, name, RT_ST_MAX_DIMS);
    if (js_uint(j, &d)) return -1;
    t->shape[t->ndim++] = (int64_t)d;
    int c = js_peek(j);
    if (c == ']') {
      j->i++;
      return 0;
    }
    if (c != ',') return js_fail(j, "',' or ']' in a shape");
    j->i++;
  }
}

/* data_offsets: '[' uint ',' uint ']' */
static int js_offsets(Json *j, RtTensorInfo *t) {
  uint64_t b, e;
  if (js_expect(j, '[') || js_uint(j, &b) || js_expect(j, ',') || js_uint(j, &e) || js_expect(j, ']')) return -1;
  t->begin = b;
  t->end = e;
  return 0;
}

/* tensor entry: '{' field (',' field)* '}' with the fields dtype, shape and
 * data_offsets, each exactly once. */
static int js_tensor(Json *j, RtTensorInfo *t) {
  int have_dtype = 0, have_shape = 0, have_offsets = 0;
  size_t entry_start;
  js_ws(j);
  entry_start = j->i;
  if (js_expect(j, '{')) return -1;
  if (js_peek(j) != '}') {
    for (;;) {
      char *key;
      size_t key_at = (js_ws(j), j->i);
      if (js_string(j, &key)) return -1;
      if (js_expect(j, ':')) {
        free(key);
        return -1;
      }
      int rc = 0, dup = 0;
      if (strcmp(key, "dtype") == 0) {
        char *dt;
        dup = have_dtype++;
        size_t at = (js_ws(j), j->i);
        rc = js_string(j, &dt);
        if (!rc && !dup) {
          int d = dtype_from_name(dt);
          if (d < 0)
            rc = rt_errf(j->err, j->errlen,
                         "%s: tensor '%s' has dtype '%s' (byte %zu), which is not supported (supported: F32, F64, "
                         "I64, I32, U8)",
                         j->path, t->name, dt, at);
          t->dtype = (RtDtype)d;
        }
        free(dt);
      } else if (strcmp(key, "shape") == 0) {
        dup = have_shape++;
        rc = js_shape(j, t->name, t);
      } else if (strcmp(key, "data_offsets") == 0) {
        dup = have_offsets++;
        rc = js_offsets(j, t);
      } else {
        rt_errf(j->err, j->errlen, "%s: tensor '%s' has an unknown field '%s' (byte %zu)", j->path, t->name, key,
                key_at);
        free(key);
        return -1;
      }
      if (!rc && dup)
        rc = rt_errf(j->err, j->errlen, "%s: tensor '%s' has field '%s' twice (byte %zu)", j->path, t->name, key,
                     key_at);
      free(key);
      if (rc) return -1;
      int c = js_peek(j);
      if (c == '}') break;
      if (c != ',') return js_fail(j, "',' or '}' in a tensor entry");
      j->i++;
    }
  }
  j->i++; /* the '}' */
  if (!have_dtype || !have_shape || !have_offsets)
    return rt_errf(j->err, j->errlen, "%s: tensor '%s' (byte %zu) lacks the field '%s'", j->path, t->name,
                   entry_start, !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
  return 0;
}

/* __metadata__: null | '{' (string ':' string (',' ...)*)? '}' */
static int js_metadata(Json *j, RtTensorFile *f) {
  if (js_peek(j) == 'n') {
    if (j->n - j->i >= 4 && memcmp(j->s + j->i, "null", 4) == 0) {
      j->i += 4;
      return 0;
    }
    return js_fail(j, "an object or null for __metadata__");
  }
  if (js_expect(j, '{')) return -1;
  if (js_peek(j) == '}') {
    j->i++;
    return 0;
  }
  int cap = 0;
  for (;;) {
    if (f->nmeta == cap) {
      cap = cap ? 2 * cap : 8;
      char **m = realloc(f->meta, sizeof(char *) * 2 * (size_t)cap);
      if (!m) return rt_errf(j->err, j->errlen, "%s: out of memory reading the metadata", j->path);
      f->meta = m;
    }
    char *k = NULL, *v = NULL;
    if (js_string(j, &k)) return -1;
    if (js_expect(j, ':') || (js_peek(j) != '"' ? js_fail(j, "a string value in __metadata__") : js_string(j, &v))) {
      free(k);
      return -1;
    }
    for (int m = 0; m < f->nmeta; m++)
      if (strcmp(f->meta[2 * m], k) == 0) {
        rt_errf(j->err, j->errlen, "%s: __metadata__ has key '%s' twice", j->path, k);
        free(k);
        free(v);
        return -1;
      }
    f->meta[2 * f->nmeta] = k;
    f->meta[2 * f->nmeta + 1] = v;
    f->nmeta++;
    int c = js_peek(j);
    if (c == '}') {
      j->i++;
      return 0;
    }
    if (c != ',') return js_fail(j, "',' or '}' in __metadata__");
    j->i++;
  }
}

/* header: '{' (entry (',' entry)*)? '}' whitespace* */
static int js_header(Json *j, RtTensorFile *f) {
  int cap = 0, have_meta = 0;
  if (js_expect(j, '{')) return -1;
  if (js_peek(j) == '}') {
    j->i++;
  } else {
    for (;;) {
      char *key;
      size_t key_at = (js_ws(j), j->i);
      if (js_string(j, &key)) return -1;
      if (js_expect(j, ':')) {
        free(key);
        return -1;
      }
      if (strcmp(key, "__metadata__") == 0) {
        free(key);
        if (have_meta++)
          return rt_errf(j->err, j->errlen, "%s: header has __metadata__ twice (byte %zu)", j->path, key_at);
        if (js_metadata(j, f)) return -1;
      } else {
        if (f->n == cap) {
          cap = cap ? 2 * cap : 64;
          RtTensorInfo *t = realloc(f->tensors, sizeof(RtTensorInfo) * (size_t)cap);
          if (!t) {
            free(key);
            return rt_errf(j->err, j->errlen, "%s: out of memory reading the header", j->path);
          }
          f->tensors = t;
        }
        RtTensorInfo *t = &f->tensors[f->n++];
        memset(t, 0, sizeof *t);
        t->name = key;
        if (js_tensor(j, t)) return -1;
      }
      int c = js_peek(j);
      if (c == '}') {
        j->i++;
        break;
      }
      if (c != ',') return js_fail(j, "',' or '}' after a header entry");
      j->i++;
    }
  }
  js_ws(j);
  if (j->i != j->n) return js_fail(j, "only spaces after the header's closing '}'");
  return 0;
}

/* ---- reader ---- */

/* qsort orders: tensors by name, and by byte range for the tiling check. */
static int cmp_by_name(const void *a, const void *b) {
  return strcmp((*(RtTensorInfo *const *)a)->name, (*(RtTensorInfo *const *)b)->name);
}

static int cmp_by_offset(const void *a, const void *b) {
  const RtTensorInfo *x = *(RtTensorInfo *const *)a, *y = *(RtTensorInfo *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

/* Checks names, sizes and offsets of the parsed tensors; builds by_name. */
static int st_validate(RtTensorFile *f, uint64_t file_size, char *err, size_t errlen) {
  char s1[160];
  for (int i = 0; i < f->n; i++) {
    RtTensorInfo *t = &f->tensors[i];
    int64_t nbytes = shape_bytes(t->ndim, t->shape, rt_dtype_size(t->dtype));
    if (nbytes < 0)
      return rt_errf(err, errlen, "%s: tensor '%s' shape %s is too large", f->path, t->name,
                     fmt_shape(s1, sizeof s1, t->ndim, t->shape));
    if (t->end < t->begin)
      return rt_errf(err, errlen, "%s: tensor '%s' data range [%llu, %llu) ends before it begins", f->path, t->name,
                     (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > f->data_size)
      return rt_errf(err, errlen,
                     "%s: tensor '%s' data range [%llu, %llu) exceeds the %llu-byte data section (file size %llu; "
                     "truncated file?)",
                     f->path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                     (unsigned long long)f->data_size, (unsigned long long)file_size);
    if (t->end - t->begin != (uint64_t)nbytes)
      return rt_errf(err, errlen,
                     "%s: tensor '%s' data range [%llu, %llu) holds %llu bytes, but dtype %s and shape %s need %lld",
                     f->path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                     (unsigned long long)(t->end - t->begin), rt_dtype_name(t->dtype),
                     fmt_shape(s1, sizeof s1, t->ndim, t->shape), (long long)nbytes);
  }
  f->by_name = malloc(sizeof(RtTensorInfo *) * (size_t)(f->n ? f->n : 1));
  RtTensorInfo **by_off = malloc(sizeof(RtTensorInfo *) * (size_t)(f->n ? f->n : 1));
  if (!f->by_name || !by_off) {
    free(by_off);
    return rt_errf(err, errlen, "%s: out of memory indexing %d tensors", f->path, f->n);
  }
  for (int i = 0; i < f->n; i++) f->by_name[i] = by_off[i] = &f->tensors[i];
  qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, cmp_by_name);
  for (int i = 1; i < f->n; i++)
    if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0) {
      free(by_off);
      return rt_errf(err, errlen, "%s: tensor name '%s' appears twice in the header", f->path, f->by_name[i]->name);
    }
  qsort(by_off, (size_t)f->n, sizeof *by_off, cmp_by_offset);
  uint64_t covered = 0;
  int rc = 0;
  for (int i = 0; i < f->n && !rc; i++) {
    RtTensorInfo *t = by_off[i];
    if (t->begin < covered)
      rc = rt_errf(err, errlen, "%s: tensor '%s' data range [%llu, %llu) overlaps tensor '%s' [%llu, %llu)", f->path,
                   t->name, (unsigned long long)t->begin, (unsigned long long)t->end, by_off[i - 1]->name,
                   (unsigned long long)by_off[i - 1]->begin, (unsigned long long)by_off[i - 1]->end);
    else if (t->begin > covered)
      rc = rt_errf(err, errlen, "%s: bytes [%llu, %llu) of the data section belong to no tensor (gap before '%s')",
                   f->path, (unsigned long long)covered, (unsigned long long)t->begin, t->name);
    covered = t->end;
  }
  free(by_off);
  if (!rc && covered != f->data_size)
    rc = rt_errf(err, errlen, "%s: the data section has %llu bytes but the tensors cover only %llu (trailing bytes)",
                 f->path, (unsigned long long)f->data_size, (unsigned long long)covered);
  return rc;
}

RtTensorFile *rt_st_open(const char *path, char *err, size_t errlen) {
  RtTensorFile *f = calloc(1, sizeof *f);
  char *header = NULL;
  unsigned char lenbuf[8];
  struct stat st;
  if (!f) {
    rt_errf(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  f->path = strdup(path);
  if (!f->path) {
    rt_errf(err, errlen, "%s: out of memory", path);
    goto fail;
  }
  f->fp = fopen(path, "rb");
  RT_CHECK_SYS(!f->fp, err, errlen, path, "fopen", fail);
  RT_CHECK_SYS(fstat(fileno(f->fp), &st) != 0, err, errlen, path, "fstat", fail);
  if (!S_ISREG(st.st_mode)) {
    rt_errf(err, errlen, "%s: not a regular file", path);
    goto fail;
  }
  uint64_t file_size = (uint64_t)st.st_size;
  if (file_size < 8) {
    rt_errf(err, errlen, "%s: file has %llu bytes, too short for the 8-byte header length", path,
            (unsigned long long)file_size);
    goto fail;
  }
  if (fread(lenbuf, 1, 8, f->fp) != 8) {
    if (ferror(f->fp)) RT_SYSERR(err, errlen, path, "fread");
    else rt_errf(err, errlen, "%s: file ended inside the 8-byte header length", path);
    goto fail;
  }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | lenbuf[i];
  if (hlen > file_size - 8) {
    rt_errf(err, errlen, "%s: header length %llu is larger than the %llu bytes that follow it (file size %llu)", path,
            (unsigned long long)hlen, (unsigned long long)(file_size - 8), (unsigned long long)file_size);
    goto fail;
  }
  if (hlen > ST_MAX_HEADER) {
    rt_errf(err, errlen, "%s: header length %llu exceeds the limit of %llu bytes", path, (unsigned long long)hlen,
            ST_MAX_HEADER);
    goto fail;
  }
  if (hlen < 2) {
    rt_errf(err, errlen, "%s: header length %llu is too short for a JSON object", path, (unsigned long long)hlen);
    goto fail;
  }
  if (!RT_MALLOC(header, hlen, err, errlen, path)) goto fail;
  size_t got = fread(header, 1, (size_t)hlen, f->fp);
  if (got != hlen) {
    if (ferror(f->fp)) RT_SYSERR(err, errlen, path, "fread");
    else
      rt_errf(err, errlen, "%s: file ended inside the header: read %zu of %llu bytes", path, got,
              (unsigned long long)hlen);
    goto fail;
  }
  f->data_start = 8 + hlen;
  f->data_size = file_size - f->data_start;
  Json j = {header, (size_t)hlen, 0, path, err, errlen};
  if (js_header(&j, f)) goto fail;
  if (st_validate(f, file_size, err, errlen)) goto fail;
  free(header);
  return f;
fail:
  free(header);
  rt_st_close(f);
  return NULL;
}

void rt_st_close(RtTensorFile *f) {
  if (!f) return;
  if (f->fp) fclose(f->fp); /* read-only stream: nothing to lose on a close error */
  for (int i = 0; i < f->n; i++) free((char *)f->tensors[i].name);
  for (int i = 0; i < 2 * f->nmeta; i++) free(f->meta[i]);
  free(f->meta);
  free(f->tensors);
  free(f->by_name);
  free(f->path);
  free(f);
}

int rt_st_count(const RtTensorFile *f) { return f->n; }

const RtTensorInfo *rt_st_info(const RtTensorFile *f, int i) { return i >= 0 && i < f->n ? &f->tensors[i] : NULL; }

const RtTensorInfo *rt_st_find(const RtTensorFile *f, const char *name) {
  size_t lo = 0, hi = (size_t)f->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(f->by_name[mid]->name, name);
    if (c == 0) return f->by_name[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

int rt_st_meta_count(const RtTensorFile *f) { return f->nmeta; }

const char *rt_st_meta_key(const RtTensorFile *f, int i) { return i >= 0 && i < f->nmeta ? f->meta[2 * i] : NULL; }

const char *rt_st_meta(const RtTensorFile *f, const char *key) {
  for (int i = 0; i < f->nmeta; i++)
    if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
  return NULL;
}

/* Edit distance between a and b, capped: used to suggest a name. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 255 || lb > 255) return (size_t)-1;
  size_t row[256];
  for (size_t k = 0; k <= lb; k++) row[k] = k;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t k = 1; k <= lb; k++) {
      size_t up = row[k];
      size_t best = diag + (a[i - 1] != b[k - 1]);
      if (row[k] + 1 < best) best = row[k] + 1;
      if (row[k - 1] + 1 < best) best = row[k - 1] + 1;
      row[k] = best;
      diag = up;
    }
  }
  return row[lb];
}

int rt_st_read_raw(RtTensorFile *f, const RtTensorInfo *t, void *dst, char *err, size_t errlen) {
  uint64_t nbytes = t->end - t->begin;
  if (nbytes == 0) return 0;
  uint64_t off = f->data_start + t->begin;
  if (off > (uint64_t)INT64_MAX)
    return rt_errf(err, errlen, "%s: tensor '%s' offset %llu is out of range", f->path, t->name,
                   (unsigned long long)off);
  if (fseeko(f->fp, (off_t)off, SEEK_SET) != 0) return RT_SYSERR(err, errlen, f->path, "fseeko");
  size_t got = fread(dst, 1, (size_t)nbytes, f->fp);
  if (got != nbytes) {
    if (ferror(f->fp)) return RT_SYSERR(err, errlen, f->path, "fread");
    return rt_errf(err, errlen, "%s: file ended inside tensor '%s': read %zu of %llu bytes (file changed since open?)",
                   f->path, t->name, got, (unsigned long long)nbytes);
  }
  return 0;
}

int rt_st_read(RtTensorFile *f, const char *name, RtDtype dtype, int ndim, const int64_t *shape, void *dst, char *err,
               size_t errlen) {
  char s1[160], s2[160];
  const RtTensorInfo *t = rt_st_find(f, name);
  if (!t) {
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; i < f->n; i++) {
      size_t d = edit_distance(name, f->tensors[i].name);
      if (d < best_d) best_d = d, best = f->tensors[i].name;
    }
    if (best && best_d <= 3 + strlen(name) / 8)
      return rt_errf(err, errlen, "%s: no tensor '%s' (did you mean '%s'?)", f->path, name, best);
    return rt_errf(err, errlen, "%s: no tensor '%s' among its %d tensors", f->path, name, f->n);
  }
  if (t->dtype != dtype)
    return rt_errf(err, errlen, "%s: tensor '%s' has dtype %s, expected %s", f->path, name, rt_dtype_name(t->dtype),
                   rt_dtype_name(dtype));
  int same = t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
  if (!same) {
    if (ndim < 0 || ndim > RT_ST_MAX_DIMS)
      return rt_errf(err, errlen, "%s: tensor '%s': expected rank %d is out of range", f->path, name, ndim);
    return rt_errf(err, errlen, "%s: tensor '%s' has shape %s, expected %s", f->path, name,
                   fmt_shape(s1, sizeof s1, t->ndim, t->shape), fmt_shape(s2, sizeof s2, ndim, shape));
  }
  return rt_st_read_raw(f, t, dst, err, errlen);
}

/* ---- writer ---- */

/* A growable byte buffer for the header; `failed` sticks after an
 * allocation failure so appends can be chained and checked once. */
typedef struct Buf {
  char *p;
  size_t n, cap;
  int failed;
} Buf;

/* Appends n bytes, growing the buffer; sets `failed` when out of memory. */
static void buf_put(Buf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

/* Appends a NUL-terminated string. */
static void buf_str(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Appends s as a JSON string, escaping as serde_json does. */
static void buf_json_string(Buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  buf_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
    switch (c) {
    case '"': buf_put(b, "\\\"", 2); break;
    case '\\': buf_put(b, "\\\\", 2); break;
    case '\b': buf_put(b, "\\b", 2); break;
    case '\f': buf_put(b, "\\f", 2); break;
    case '\n': buf_put(b, "\\n", 2); break;
    case '\r': buf_put(b, "\\r", 2); break;
    case '\t': buf_put(b, "\\t", 2); break;
    default:
      if (c < 0x20) buf_put(b, esc, 6);
      else buf_put(b, (const char *)&c, 1);
    }
  }
  buf_put(b, "\"", 1);
}

/* Checks that s is valid UTF-8 (names and metadata must be). */
static int utf8_valid(const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t len = utf8_len((const unsigned char *)s + i, n - i);
    if (!len) return 0;
    i += len;
  }
  return 1;
}

/* Writer order: dtype rank descending, then name; and plain name order
 * for the duplicate check. */
static int cmp_layout(const void *a, const void *b) {
  const RtTensorOut *x = *(const RtTensorOut *const *)a, *y = *(const RtTensorOut *const *)b;
  int rx = dtype_table[x->dtype].rank, ry = dtype_table[y->dtype].rank;
  if (rx != ry) return ry - rx;
  return strcmp(x->name, y->name);
}

static int cmp_out_name(const void *a, const void *b) {
  return strcmp((*(const RtTensorOut *const *)a)->name, (*(const RtTensorOut *const *)b)->name);
}

/* The output stream with the injected-failure state of RtStFault. */
typedef struct Sink {
  FILE *fp;
  uint64_t written;
  int64_t limit; /* -1: no limit */
} Sink;

/* Writes n bytes or fails with errno set (ENOSPC when the injected limit hits). */
static int sink_put(Sink *s, const void *p, size_t n) {
  if (s->limit >= 0 && s->written + n > (uint64_t)s->limit) {
    size_t room = (size_t)((uint64_t)s->limit - s->written);
    if (room && fwrite(p, 1, room, s->fp) != room) return -1;
    s->written += room;
    errno = ENOSPC;
    return -1;
  }
  if (n && fwrite(p, 1, n, s->fp) != n) {
    if (errno == 0) errno = EIO;
    return -1;
  }
  s->written += n;
  return 0;
}

/* Makes the directory entry of a renamed file durable. EINVAL (directories
 * that cannot be synced on some file systems) is not an error. */
static int sync_parent_dir(const char *path, char *err, size_t errlen) {
  char *dir = strdup(path);
  if (!dir) return rt_errf(err, errlen, "%s: out of memory", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) slash[1] = '\0';
  else if (slash) *slash = '\0';
  else strcpy(dir, ".");
  int rc = 0;
  int fd = open(dir, O_RDONLY);
  if (fd < 0) rc = RT_SYSERR(err, errlen, dir, "open (directory of the written file)");
  else {
    if (fsync(fd) != 0 && errno != EINVAL) rc = RT_SYSERR(err, errlen, dir, "fsync (directory of the written file)");
    if (close(fd) != 0 && !rc) rc = RT_SYSERR(err, errlen, dir, "close");
  }
  free(dir);
  return rc;
}

int rt_st_write_fault(const char *path, const RtTensorOut *tensors, int n, const RtStMeta *meta, int nmeta,
                      const RtStFault *fault, char *err, size_t errlen) {
  const RtTensorOut **order = NULL;
  Buf hdr = {0};
  char *tmp = NULL;
  Sink sink = {NULL, 0, fault ? fault->write_limit : -1};
  int rc = -1;
  char s1[160];

  if (n < 0 || nmeta < 0 || (n > 0 && !tensors) || (nmeta > 0 && !meta))
    return rt_errf(err, errlen, "%s: invalid tensor or metadata count", path);
  /* Validate everything before touching the file system. */
  for (int i = 0; i < n; i++) {
    const RtTensorOut *t = &tensors[i];
    if (!t->name || !t->name[0]) return rt_errf(err, errlen, "%s: tensor #%d has an empty name", path, i);
    if (strcmp(t->name, "__metadata__") == 0)
      return rt_errf(err, errlen, "%s: tensor #%d may not be named __metadata__", path, i);
    if (!utf8_valid(t->name)) return rt_errf(err, errlen, "%s: tensor #%d name is not valid UTF-8", path, i);
    if (!dtype_valid(t->dtype)) return rt_errf(err, errlen, "%s: tensor '%s' has an invalid dtype", path, t->name);
    if (t->ndim < 0 || t->ndim > RT_ST_MAX_DIMS)
      return rt_errf(err, errlen, "%s: tensor '%s' has %d dimensions (0 to %d allowed)", path, t->name, t->ndim,
                     RT_ST_MAX_DIMS);
    int64_t nb = shape_bytes(t->ndim, t->shape, rt_dtype_size(t->dtype));
    if (nb < 0)
      return rt_errf(err, errlen, "%s: tensor '%s' has an invalid shape %s", path, t->name,
                     fmt_shape(s1, sizeof s1, t->ndim, t->shape));
    if (nb > 0 && !t->data) return rt_errf(err, errlen, "%s: tensor '%s' has no data", path, t->name);
  }
  for (int i = 0; i < nmeta; i++) {
    if (!meta[i].key || !meta[i].value || !utf8_valid(meta[i].key) || !utf8_valid(meta[i].value))
      return rt_errf(err, errlen, "%s: metadata entry #%d is missing or not valid UTF-8", path, i);
    for (int k = 0; k < i; k++)
      if (strcmp(meta[k].key, meta[i].key) == 0)
        return rt_errf(err, errlen, "%s: metadata key '%s' given twice", path, meta[i].key);
  }
  if (!RT_MALLOC(order, sizeof *order * (size_t)(n ? n : 1), err, errlen, path)) return -1;
  for (int i = 0; i < n; i++) order[i] = &tensors[i];
  qsort(order, (size_t)n, sizeof *order, cmp_out_name);
  for (int i = 1; i < n; i++)
    if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
      rt_errf(err, errlen, "%s: tensor name '%s' given twice", path, order[i]->name);
      goto done;
    }
  qsort(order, (size_t)n, sizeof *order, cmp_layout);

  /* The header, compact, then padded with spaces to a multiple of 8. */
  buf_str(&hdr, "{");
  if (nmeta > 0) {
    buf_str(&hdr, "\"__metadata__\":{");
    for (int i = 0; i < nmeta; i++) {
      if (i) buf_str(&hdr, ",");
      buf_json_string(&hdr, meta[i].key);
      buf_str(&hdr, ":");
      buf_json_string(&hdr, meta[i].value);
    }
    buf_str(&hdr, "}");
  }
  uint64_t offset = 0;
  for (int i = 0; i < n; i++) {
    const RtTensorOut *t = order[i];
    char num[64];
    uint64_t nb = (uint64_t)shape_bytes(t->ndim, t->shape, rt_dtype_size(t->dtype));
    if (i || nmeta > 0) buf_str(&hdr, ",");
    buf_json_string(&hdr, t->name);
    buf_str(&hdr, ":{\"dtype\":\"");
    buf_str(&hdr, rt_dtype_name(t->dtype));
    buf_str(&hdr, "\",\"shape\":[");
    for (int d = 0; d < t->ndim; d++) {
      snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
      buf_str(&hdr, num);
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
             (unsigned long long)(offset + nb));
    buf_str(&hdr, num);
    offset += nb;
  }
  buf_str(&hdr, "}");
  while (hdr.n % 8) buf_str(&hdr, " ");
  if (hdr.failed) {
    rt_errf(err, errlen, "%s: out of memory building the header", path);
    goto done;
  }

  size_t plen = strlen(path);
  if (!RT_MALLOC(tmp, plen + 32, err, errlen, path)) goto done;
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  errno = 0;
  sink.fp = fopen(tmp, "wb");
  RT_CHECK_SYS(!sink.fp, err, errlen, tmp, "fopen (temporary file)", done);

  unsigned char lenbuf[8];
  for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(((uint64_t)hdr.n >> (8 * i)) & 0xff);
  errno = 0;
  RT_CHECK_SYS(sink_put(&sink, lenbuf, 8) || sink_put(&sink, hdr.p, hdr.n), err, errlen, tmp, "fwrite", cleanup);
  for (int i = 0; i < n; i++) {
    const RtTensorOut *t = order[i];
    size_t nb = (size_t)shape_bytes(t->ndim, t->shape, rt_dtype_size(t->dtype));
    errno = 0;
    RT_CHECK_SYS(sink_put(&sink, t->data, nb), err, errlen, tmp, "fwrite", cleanup);
  }
  errno = 0;
  RT_CHECK_SYS(fflush(sink.fp) != 0, err, errlen, tmp, "fflush", cleanup);
  if (fault && fault->fail_fsync) errno = EIO;
  RT_CHECK_SYS((fault && fault->fail_fsync) || fsync(fileno(sink.fp)) != 0, err, errlen, tmp, "fsync", cleanup);
  {
    FILE *fp = sink.fp;
    sink.fp = NULL;
    RT_CHECK_SYS(fclose(fp) != 0, err, errlen, tmp, "fclose", cleanup);
  }
  if (fault && fault->fail_rename) errno = EXDEV;
  if ((fault && fault->fail_rename) || rename(tmp, path) != 0) {
    rt_errf(err, errlen, "%s: rename from %s: %s [%s:%d]", path, tmp, strerror(errno), __FILE__, __LINE__);
    goto cleanup;
  }
  rc = sync_parent_dir(path, err, errlen);
  goto done;

cleanup:
  if (sink.fp) fclose(sink.fp); /* already failing: the write error is the one to report */
  if (remove(tmp) != 0 && err) {
    size_t used = strlen(err);
    if (used + 1 < errlen)
      snprintf(err + used, errlen - used, "; also could not remove %s: %s", tmp, strerror(errno));
  }
done:
  free(tmp);
  free(hdr.p);
  free(order);
  return rc;
}

int rt_st_write(const char *path, const RtTensorOut *tensors, int n, const RtStMeta *meta, int nmeta, char *err,
                size_t errlen) {
  return rt_st_write_fault(path, tensors, n, meta, nmeta, NULL, err, errlen);
}
