/* rt_check.h: error reporting shared by the runtime's sources (internal, not
 * installed). Runtime functions never abort on bad input or a failing system
 * call: they fill a caller-provided message buffer and return an error code.
 * The message names the user's file first ("weights.safetensors: ...");
 * failed libc calls add the call, errno's text and the runtime source line,
 * so a report from the field points at the check that fired. */
#ifndef RT_CHECK_H
#define RT_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Formats a message into err (which may be NULL or errlen 0: then nothing is
 * written). Always returns -1 so that callers can `return rt_errf(...)`. */
static inline int rt_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int rt_errf(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Reports a failed libc call on `path`: "path: call: strerror(errno) [file:line]".
 * Captures errno before formatting so the message shows the call's own error. */
#define RT_SYSERR(err, errlen, path, call)                                    \
  rt_errf((err), (errlen), "%s: %s: %s [%s:%d]", (path), (call),             \
          strerror(errno), __FILE__, __LINE__)

/* Checks a libc call that signals failure by a true `failed` expression;
 * on failure fills err through RT_SYSERR and jumps to `label`. */
#define RT_CHECK_SYS(failed, err, errlen, path, call, label)                  \
  do {                                                                        \
    if (failed) {                                                             \
      RT_SYSERR(err, errlen, path, call);                                     \
      goto label;                                                             \
    }                                                                         \
  } while (0)

/* malloc that reports failure as an error naming the file being handled
 * and the size asked for, and the runtime source line. Never returns NULL
 * for a request of 0 bytes. */
static inline void *rt_malloc_at(size_t nbytes, char *err, size_t errlen, const char *path, const char *file,
                                 int line) {
  void *p = malloc(nbytes ? nbytes : 1);
  if (!p)
    rt_errf(err, errlen, "%s: out of memory allocating %zu bytes [%s:%d]", path, nbytes, file, line);
  return p;
}

/* Allocates into ptr; evaluates to ptr (NULL with err filled on failure). */
#define RT_MALLOC(ptr, nbytes, err, errlen, path)                             \
  ((ptr) = rt_malloc_at((nbytes), (err), (errlen), (path), __FILE__, __LINE__))

#endif
