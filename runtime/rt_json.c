/* rt_json.c: the run's logs. log.jsonl gets one JSON object per line, built
 * with RtJson; CSV rows (alphas.csv) are quoted per RFC 4180. Each append
 * opens the file, writes the whole line with one fwrite, flushes and closes,
 * checking every call, so a crash leaves complete lines only (bar the last). */
#include "rt_check.h"
#include "sharprt.h"

#include <inttypes.h>
#include <math.h>

void rt_json_init(RtJson *j) {
  memset(j, 0, sizeof *j);
  j->buf = malloc(64);
  if (!j->buf) {
    j->failed = 1;
    return;
  }
  j->cap = 64;
  j->buf[0] = '{', j->buf[1] = 0, j->len = 1;
}

void rt_json_free(RtJson *j) {
  free(j->buf);
  memset(j, 0, sizeof *j);
}

/* Appends n bytes of s. */
static void put(RtJson *j, const char *s, size_t n) {
  if (j->failed) return;
  if (j->len + n + 2 > j->cap) {
    size_t cap = j->cap * 2 > j->len + n + 2 ? j->cap * 2 : j->len + n + 64;
    char *b = realloc(j->buf, cap);
    if (!b) {
      j->failed = 1;
      return;
    }
    j->buf = b, j->cap = cap;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = 0;
}

static void puts_(RtJson *j, const char *s) {
  put(j, s, strlen(s));
}

/* A JSON string literal: quotes, backslashes and control characters
 * escaped; other bytes (UTF-8) as they are. */
static void put_string(RtJson *j, const char *s) {
  if (!s) {
    puts_(j, "null");
    return;
  }
  put(j, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    switch (*p) {
    case '"': puts_(j, "\\\""); break;
    case '\\': puts_(j, "\\\\"); break;
    case '\n': puts_(j, "\\n"); break;
    case '\r': puts_(j, "\\r"); break;
    case '\t': puts_(j, "\\t"); break;
    default:
      if (*p < 0x20) {
        snprintf(esc, sizeof esc, "\\u%04x", *p);
        puts_(j, esc);
      } else {
        put(j, (const char *)p, 1);
      }
    }
  }
  put(j, "\"", 1);
}

static void put_number(RtJson *j, double v, int digits) {
  char buf[40];
  if (!isfinite(v)) {
    puts_(j, "null");
    return;
  }
  snprintf(buf, sizeof buf, "%.*g", digits, v);
  puts_(j, buf);
}

/* Opens a member: separator, key, colon. */
static void put_key(RtJson *j, const char *key) {
  if (j->count++) put(j, ",", 1);
  put_string(j, key);
  put(j, ":", 1);
}

void rt_json_num(RtJson *j, const char *key, double v) {
  put_key(j, key);
  put_number(j, v, 17);
}

void rt_json_int(RtJson *j, const char *key, int64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  put_key(j, key);
  puts_(j, buf);
}

void rt_json_str(RtJson *j, const char *key, const char *s) {
  put_key(j, key);
  put_string(j, s);
}

void rt_json_bool(RtJson *j, const char *key, int v) {
  put_key(j, key);
  puts_(j, v ? "true" : "false");
}

void rt_json_num_array(RtJson *j, const char *key, const double *v, size_t n) {
  put_key(j, key);
  put(j, "[", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) put(j, ",", 1);
    put_number(j, v[i], 17);
  }
  put(j, "]", 1);
}

void rt_json_float_array(RtJson *j, const char *key, const float *v, size_t n) {
  put_key(j, key);
  put(j, "[", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) put(j, ",", 1);
    put_number(j, v[i], 9);
  }
  put(j, "]", 1);
}

void rt_json_str_array(RtJson *j, const char *key, const char *const *v, size_t n) {
  put_key(j, key);
  put(j, "[", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) put(j, ",", 1);
    put_string(j, v[i]);
  }
  put(j, "]", 1);
}

const char *rt_json_text(RtJson *j) {
  if (j->failed || !j->buf) return NULL;
  /* The closing brace is added on the fly and taken off again. */
  j->buf[j->len] = '}', j->buf[j->len + 1] = 0;
  return j->buf;
}

/* Appends n bytes to path with every call checked. */
static int append_bytes(const char *path, const char *s, size_t n, char *err, size_t errlen) {
  FILE *fp = fopen(path, "ab");
  if (!fp) return RT_SYSERR(err, errlen, path, "fopen");
  if (fwrite(s, 1, n, fp) != n) {
    RT_SYSERR(err, errlen, path, "fwrite");
    fclose(fp);
    return -1;
  }
  if (fflush(fp) != 0) {
    RT_SYSERR(err, errlen, path, "fflush");
    fclose(fp);
    return -1;
  }
  if (fclose(fp) != 0) return RT_SYSERR(err, errlen, path, "fclose");
  return 0;
}

int rt_json_append(const char *path, RtJson *j, char *err, size_t errlen) {
  const char *text = rt_json_text(j);
  if (!text) return rt_errf(err, errlen, "%s: out of memory building a log line", path);
  j->buf[j->len + 1] = '\n';
  int rc = append_bytes(path, text, j->len + 2, err, errlen);
  j->buf[j->len] = 0;
  return rc;
}

/* Appends field s to j quoted as CSV needs. */
static void put_csv_field(RtJson *j, const char *s) {
  if (!s) return;
  if (!strpbrk(s, ",\"\r\n")) {
    puts_(j, s);
    return;
  }
  put(j, "\"", 1);
  for (; *s; s++) put(j, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
  put(j, "\"", 1);
}

int rt_csv_append(const char *path, const char *const *fields, int n, char *err, size_t errlen) {
  RtJson row;
  rt_json_init(&row);
  row.len = 0;
  if (row.buf) row.buf[0] = 0;
  for (int i = 0; i < n; i++) {
    if (i) put(&row, ",", 1);
    put_csv_field(&row, fields[i]);
  }
  put(&row, "\n", 1);
  int rc = row.failed ? rt_errf(err, errlen, "%s: out of memory building a CSV row", path)
                      : append_bytes(path, row.buf, row.len, err, errlen);
  rt_json_free(&row);
  return rc;
}

int rt_csv_append_numbers(const char *path, const char *const *lead, int nlead, const double *v, int n, char *err,
                          size_t errlen) {
  if (nlead < 0 || n < 0) return rt_errf(err, errlen, "%s: negative CSV field count", path);
  const char **fields = malloc(((size_t)nlead + (size_t)n + 1) * sizeof *fields);
  char *nums = malloc((size_t)n * 32 + 1);
  int rc;
  if (!fields || !nums) {
    rc = rt_errf(err, errlen, "%s: out of memory building a CSV row", path);
  } else {
    for (int i = 0; i < nlead; i++) fields[i] = lead[i];
    for (int i = 0; i < n; i++) {
      char *s = nums + (size_t)i * 32;
      if (isfinite(v[i])) snprintf(s, 32, "%.9g", v[i]);
      else snprintf(s, 32, "%s", isnan(v[i]) ? "nan" : v[i] > 0 ? "inf" : "-inf");
      fields[nlead + i] = s;
    }
    rc = rt_csv_append(path, fields, nlead + n, err, errlen);
  }
  free(fields);
  free(nums);
  return rc;
}
