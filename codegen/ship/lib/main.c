/* main.c: a command-line classifier around model.h. Emitted by `sharpc
 * emit` (from sharpc's codegen/ship/lib/main.c, the same for every model).
 * Reads images from an IDX file (MNIST / Fashion-MNIST), a CIFAR-10 binary
 * batch, or a float32 NCHW .npy array; prints the accuracy when labels are
 * known, writes the logits as a float32 .npy with --logits, and times the
 * forward pass with --bench. Run `./classify --help`. */
#define _POSIX_C_SOURCE 200112L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef MODEL_USE_ZLIB
#include <zlib.h>
#endif

#include "model.h"

static const char *usage =
    "usage: classify [options] INPUT\n"
    "\n"
    "Classifies the images of INPUT with the network " MODEL_NAME ":\n"
    "  an IDX image file (MNIST, Fashion-MNIST; gzip only when built with ZLIB=1),\n"
    "  a CIFAR-10 binary batch (labels included), or\n"
    "  a float32 .npy array of shape [n, C, H, W], already normalized.\n"
    "Raw pixels are normalized as in training. With labels, prints the top-1\n"
    "accuracy; without, one predicted class per image.\n"
    "\n"
    "options:\n"
#if !MODEL_EMBEDDED_WEIGHTS
    "  --weights FILE  the trained weights (safetensors; required)\n"
#else
    "  --weights FILE  weights to use instead of the embedded ones\n"
#endif
    "  --labels FILE   labels: an IDX label file or an integer .npy (for an IDX\n"
    "                  INPUT, the matching *-labels-idx1-ubyte is found alone)\n"
    "  --logits FILE   write the logits as a float32 .npy of shape [n, classes]\n"
    "  --batch N       images per forward pass (default 64)\n"
    "  --limit N       use the first N images only\n"
    "  --bench         time the forward pass at batch 1 and at --batch\n"
    "  -q              print only the accuracy line\n"
    "  -h, --help      show this help\n";

typedef struct {
    float *x;      /* n images, normalized */
    long *y;       /* n labels, or NULL */
    long n;
} Data;

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "classify: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return -1;
}

/* Reads the whole file (gunzipping it when built with zlib). */
static unsigned char *slurp(const char *path, size_t *size)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
#ifdef MODEL_USE_ZLIB
    gzFile f = gzopen(path, "rb");
#else
    FILE *f = fopen(path, "rb");
#endif
    if (!f) {
        fail("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                fail("%s: out of memory%s", path, "");
                break;
            }
            buf = nb;
            cap = ncap;
        }
#ifdef MODEL_USE_ZLIB
        int k = gzread(f, buf + len, (unsigned)(cap - len));
        if (k < 0) {
            free(buf);
            buf = NULL;
            fail("%s: corrupt gzip data%s", path, "");
            break;
        }
#else
        size_t k = fread(buf + len, 1, cap - len, f);
#endif
        len += (size_t)k;
        if (k == 0) break;
    }
#ifdef MODEL_USE_ZLIB
    gzclose(f);
#else
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
        fail("%s: read error%s", path, "");
    }
    fclose(f);
#endif
    if (buf && len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        free(buf);
        fail("%s: gzip-compressed: decompress it first (gunzip -k %s), or build with `make ZLIB=1`", path, path);
        return NULL;
    }
    *size = len;
    return buf;
}

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* Pixels (0..255) to the training normalization. */
static int normalize(const unsigned char *pix, long n, float *x, const char *path)
{
#ifdef MODEL_NORM_MEAN
    static const double mean[] = MODEL_NORM_MEAN, stdv[] = MODEL_NORM_STD;
    long plane = (long)MODEL_IN_H * MODEL_IN_W, i, c, p;
    (void)path;
    for (i = 0; i < n; i++)
        for (c = 0; c < MODEL_IN_C; c++)
            for (p = 0; p < plane; p++) {
                long at = (i * MODEL_IN_C + c) * plane + p;
                x[at] = ((float)pix[at] / 255.0f - (float)mean[c]) / (float)stdv[c];
            }
    return 0;
#else
    (void)pix, (void)n, (void)x;
    return fail("%s: the network's data set is unknown, so raw pixels cannot be normalized; give a "
                "normalized float32 .npy%s", path, "");
#endif
}

/* A .npy header: dtype descr, shape; returns the data offset or -1. */
static long npy_header(const unsigned char *b, size_t size, const char *path, char *descr, size_t dsize, long *shape,
                       int *rank)
{
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return fail("%s: not a .npy file%s", path, ""), -1;
    size_t hl, at;
    if (b[6] == 1) hl = (size_t)b[8] | (size_t)b[9] << 8, at = 10;
    else if (size >= 12) hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24, at = 12;
    else return fail("%s: truncated .npy header%s", path, ""), -1;
    if (at + hl > size) return fail("%s: truncated .npy header%s", path, ""), -1;
    char h[4096];
    size_t n = hl < sizeof h - 1 ? hl : sizeof h - 1;
    memcpy(h, b + at, n);
    h[n] = 0;
    char *d = strstr(h, "'descr'"), *f = strstr(h, "'fortran_order'"), *s = strstr(h, "'shape'");
    if (!d || !f || !s) return fail("%s: .npy header without descr, fortran_order or shape%s", path, ""), -1;
    char *q = strchr(d + 7, '\'');
    char *e = q ? strchr(q + 1, '\'') : NULL;
    if (!q || !e || (size_t)(e - q - 1) >= dsize) return fail("%s: bad descr in the .npy header%s", path, ""), -1;
    memcpy(descr, q + 1, (size_t)(e - q - 1));
    descr[e - q - 1] = 0;
    if (strstr(f, "True") && strstr(f, "True") < s) return fail("%s: Fortran-order .npy is not supported%s", path, ""), -1;
    char *p = strchr(s, '(');
    *rank = 0;
    if (!p) return fail("%s: bad shape in the .npy header%s", path, ""), -1;
    for (p++; *p && *p != ')';) {
        if (*p == ',' || *p == ' ') {
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || *rank >= 4) return fail("%s: bad shape in the .npy header%s", path, ""), -1;
        shape[(*rank)++] = v;
        p = end;
    }
    return (long)(at + hl);
}

static int load_labels(const char *path, long n, long **out)
{
    size_t size;
    unsigned char *b = slurp(path, &size);
    if (!b) return -1;
    long *y = malloc(sizeof(long) * (size_t)(n + 1));
    int rc = -1;
    if (!y) {
        fail("%s: out of memory%s", path, "");
    } else if (size >= 8 && b[0] == 0 && b[1] == 0 && b[2] == 8 && b[3] == 1) {
        long count = (long)be32(b + 4), i;
        if (count < n) fail("%s: fewer labels than images%s", path, "");
        else if ((size_t)(8 + count) > size) fail("%s: truncated IDX label file%s", path, "");
        else {
            for (i = 0; i < n; i++) y[i] = b[8 + i];
            rc = 0;
        }
    } else {
        char descr[16];
        long shape[4];
        int rank;
        long at = npy_header(b, size, path, descr, sizeof descr, shape, &rank);
        int w = !strcmp(descr, "<i8") ? 8 : !strcmp(descr, "<i4") ? 4 : (!strcmp(descr, "|u1") || !strcmp(descr, "<u1")) ? 1 : 0;
        long i;
        if (at < 0) {
        } else if (!w || rank != 1) {
            fail("%s: labels must be a 1-D int64, int32 or uint8 .npy (got %s)", path, descr);
        } else if (shape[0] < n || (size_t)at + (size_t)shape[0] * (size_t)w > size) {
            fail("%s: fewer labels than images, or a truncated file%s", path, "");
        } else {
            for (i = 0; i < n; i++) {
                const unsigned char *p = b + at + i * w;
                long v = p[0];
                if (w >= 4) v |= (long)p[1] << 8 | (long)p[2] << 16 | (long)(signed char)p[3] << 24;
                y[i] = v;
            }
            rc = 0;
        }
    }
    free(b);
    if (rc) free(y);
    else *out = y;
    return rc;
}

static int load_images(const char *path, Data *d, long limit)
{
    size_t size;
    unsigned char *b = slurp(path, &size);
    if (!b) return -1;
    long per = (long)MODEL_IN_C * MODEL_IN_H * MODEL_IN_W, n = 0, i;
    int rc = -1;
    char dims[64];
    if (size >= 16 && b[0] == 0 && b[1] == 0 && b[2] == 8 && b[3] == 3) {
        long cnt = (long)be32(b + 4), h = (long)be32(b + 8), w = (long)be32(b + 12);
        n = limit > 0 && limit < cnt ? limit : cnt;
        sprintf(dims, "%ldx%ld", h, w);
        if (MODEL_IN_C != 1 || h != MODEL_IN_H || w != MODEL_IN_W)
            fail("%s: IDX images are 1x%s; the network takes other images", path, dims);
        else if ((size_t)(16 + cnt * h * w) > size)
            fail("%s: truncated IDX image file%s", path, "");
        else if (!(d->x = malloc(sizeof(float) * (size_t)(n * per + 1))))
            fail("%s: out of memory%s", path, "");
        else
            rc = normalize(b + 16, n, d->x, path);
    } else if (size >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) {
        char descr[16];
        long shape[4];
        int rank;
        long at = npy_header(b, size, path, descr, sizeof descr, shape, &rank);
        if (at < 0) {
        } else if (strcmp(descr, "<f4") != 0 || rank != 4 || shape[1] != MODEL_IN_C || shape[2] != MODEL_IN_H ||
                   shape[3] != MODEL_IN_W) {
            sprintf(dims, "%dx%dx%d", MODEL_IN_C, MODEL_IN_H, MODEL_IN_W);
            fail("%s: needs a float32 (<f4) array of shape [n, %s] (NCHW)", path, dims);
        } else {
            n = limit > 0 && limit < shape[0] ? limit : shape[0];
            if ((size_t)at + (size_t)shape[0] * (size_t)per * 4 > size)
                fail("%s: truncated .npy data%s", path, "");
            else if (!(d->x = malloc(sizeof(float) * (size_t)(n * per + 1))))
                fail("%s: out of memory%s", path, "");
            else {
                for (i = 0; i < n * per; i++) {
                    const unsigned char *p = b + at + 4 * i;
                    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
                    memcpy(&d->x[i], &u, 4);
                }
                rc = 0;
            }
        }
    } else if (size > 0 && size % 3073 == 0) {
        long cnt = (long)(size / 3073);
        n = limit > 0 && limit < cnt ? limit : cnt;
        if (MODEL_IN_C != 3 || MODEL_IN_H != 32 || MODEL_IN_W != 32) {
            fail("%s: CIFAR-10 images are 3x32x32; the network takes other images%s", path, "");
        } else if (!(d->x = malloc(sizeof(float) * (size_t)(n * per + 1))) || !(d->y = malloc(sizeof(long) * (size_t)n))) {
            fail("%s: out of memory%s", path, "");
        } else {
            unsigned char *pix = malloc((size_t)(n * per + 1));
            if (!pix) {
                fail("%s: out of memory%s", path, "");
            } else {
                for (i = 0; i < n; i++) {
                    d->y[i] = b[i * 3073];
                    memcpy(pix + i * per, b + i * 3073 + 1, (size_t)per);
                }
                rc = normalize(pix, n, d->x, path);
                free(pix);
            }
        }
    } else {
        fail("%s: not an IDX image file, a CIFAR-10 binary batch or a .npy array%s", path, "");
    }
    free(b);
    d->n = n;
    return rc;
}

/* The IDX label file next to an IDX image file: *-images-idx3-ubyte -> *-labels-idx1-ubyte. */
static int find_idx_labels(const char *images, char *out, size_t size)
{
    const char *at = strstr(images, "images-idx3-ubyte");
    if (!at || strlen(images) + 1 > size) return 0;
    snprintf(out, size, "%.*slabels-idx1-ubyte%s", (int)(at - images), images, at + strlen("images-idx3-ubyte"));
    FILE *f = fopen(out, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

static int write_logits(const char *path, const float *z, long n)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return fail("%s: cannot write: %s", tmp, strerror(errno));
    char h[128];
    int k = sprintf(h, "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %d), }", n, MODEL_CLASSES);
    while ((10 + k + 1) % 64) h[k++] = ' ';
    h[k++] = '\n';
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(k & 255), (unsigned char)(k >> 8) };
    fwrite(pre, 1, 10, f);
    fwrite(h, 1, (size_t)k, f);
    long i;
    for (i = 0; i < n * MODEL_CLASSES; i++) {
        uint32_t u;
        memcpy(&u, &z[i], 4);
        unsigned char b[4] = { (unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16), (unsigned char)(u >> 24) };
        fwrite(b, 1, 4, f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return fail("%s: cannot write: %s", path, strerror(errno));
    }
    return 0;
}

static double now(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

/* Median milliseconds of forward passes of `batch` images (repeated for ~2 s). */
static double bench(model_t *m, const float *x, long n, int batch, float *z)
{
    double t[200];
    int reps = 0, i, j;
    int b = (long)batch <= n ? batch : (int)n;
    double start = now();
    while (reps < 200 && (reps < 3 || now() - start < 2.0)) {
        double t0 = now();
        if (model_forward(m, b, x, z)) return -1;
        t[reps++] = (now() - t0) * 1e3;
    }
    for (i = 1; i < reps; i++)
        for (j = i; j > 0 && t[j - 1] > t[j]; j--) {
            double s = t[j];
            t[j] = t[j - 1];
            t[j - 1] = s;
        }
    return t[reps / 2];
}

int main(int argc, char **argv)
{
    const char *input = NULL, *weights = NULL, *labels = NULL, *logits = NULL;
    long limit = 0, batch = 64;
    int do_bench = 0, quiet = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--bench")) {
            do_bench = 1;
        } else if (!strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "--weights") || !strcmp(a, "--labels") || !strcmp(a, "--logits") ||
                   !strcmp(a, "--batch") || !strcmp(a, "--limit")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "classify: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--weights")) weights = v;
            else if (!strcmp(a, "--labels")) labels = v;
            else if (!strcmp(a, "--logits")) logits = v;
            else {
                char *end;
                long x = strtol(v, &end, 10);
                if (*end || x <= 0 || x > 1000000000L) {
                    fprintf(stderr, "classify: %s needs a positive integer, not '%s'\n", a, v);
                    return 2;
                }
                if (!strcmp(a, "--batch")) batch = x;
                else limit = x;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "classify: unknown option '%s'\nTry `classify --help`.\n", a);
            return 2;
        } else if (input) {
            fprintf(stderr, "classify: one input file only (got also '%s')\n", a);
            return 2;
        } else {
            input = a;
        }
    }
    if (!input) {
        fprintf(stderr, "classify: no input file\nTry `classify --help`.\n");
        return 2;
    }
#if !MODEL_EMBEDDED_WEIGHTS
    if (!weights) {
        fprintf(stderr, "classify: give the weights: --weights FILE\n");
        return 2;
    }
#endif
    Data d = { NULL, NULL, 0 };
    int rc = 1;
    float *z = NULL;
    model_t *m = NULL;
    char err[1024], found[4096];
    if (load_images(input, &d, limit)) goto out;
    if (!labels && !d.y && find_idx_labels(input, found, sizeof found)) labels = found;
    if (labels && !d.y && load_labels(labels, d.n, &d.y)) goto out;
    if (weights) m = model_create(weights, (int)batch, err, sizeof err);
#if MODEL_EMBEDDED_WEIGHTS
    else m = model_create_embedded((int)batch, err, sizeof err);
#endif
    if (!m) {
        fprintf(stderr, "classify: %s\n", err);
        goto out;
    }
    if (!(z = malloc(sizeof(float) * (size_t)(d.n * MODEL_CLASSES + 1)))) {
        fprintf(stderr, "classify: out of memory\n");
        goto out;
    }
    if (do_bench) {
        double b1 = bench(m, d.x, d.n, 1, z), bb = bench(m, d.x, d.n, (int)batch, z);
        long nb = batch <= d.n ? batch : d.n;
        if (b1 < 0 || bb < 0) {
            fprintf(stderr, "classify: %s\n", model_last_error(m));
            goto out;
        }
        printf("latency (%s): batch 1: %.3f ms/image; batch %ld: %.3f ms (%.3f ms/image, %.1f images/s); arena %.1f MiB\n",
               MODEL_TARGET, b1, nb, bb, bb / (double)nb, 1e3 * (double)nb / bb, (double)model_arena_bytes(m) / 1048576.0);
    }
    if (model_forward(m, (int)d.n, d.x, z)) {
        fprintf(stderr, "classify: %s\n", model_last_error(m));
        goto out;
    }
    if (logits && write_logits(logits, z, d.n)) goto out;
    long correct = 0, k;
    for (i = 0; i < d.n; i++) {
        int best = 0;
        for (k = 1; k < MODEL_CLASSES; k++)
            if (z[(long)i * MODEL_CLASSES + k] > z[(long)i * MODEL_CLASSES + best]) best = (int)k;
        if (d.y) correct += best == d.y[i];
        else if (!quiet && !logits) printf("%d\n", best);
    }
    if (d.y)
        printf("accuracy: %.2f%% (%ld/%ld)\n", 100.0 * (double)correct / (double)(d.n ? d.n : 1), correct, d.n);
    rc = 0;
out:
    model_free(m);
    free(z);
    free(d.x);
    free(d.y);
    return rc;
}
