/* test_loader.c: the weights loader every emitted model.c carries
 * (codegen/ship/lib/model_load.c), on a small hand-made safetensors file:
 * the folds compute w*s and beta - mean*s with s = gamma/sqrt(var+eps); a
 * missing tensor, a wrong dtype or shape, bad offsets, NaN and a negative
 * variance are errors naming the tensor; and every truncation and 20000
 * seeded random corruptions of the file are rejected or loaded without a
 * crash (run under ASan/UBSan in the sanitizer build). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../codegen/ship/lib/model_load.c"

static int failures;
#define CHECK(c, ...)                                                                                             \
    do {                                                                                                          \
        if (!(c)) {                                                                                               \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                           \
            printf(__VA_ARGS__);                                                                                  \
            printf("\n");                                                                                         \
            failures++;                                                                                           \
        }                                                                                                         \
    } while (0)

#include "loader_table.h"

static const float values[][4] = {
    { 2, 3, -1, 0.5f }, { 1, 2 }, { 0.5f, -1 }, { 1, 0 }, { 3, 0.25f }, { 7, -7 },
};

/* Writes a safetensors file; dtype/shape of tensor `bad` replaced by bad_json. */
static size_t make_file(unsigned char *buf, size_t cap, int skip, const char *bad_json)
{
    char h[2048];
    size_t n = 0, off = 0;
    n += (size_t)snprintf(h + n, sizeof h - n, "{\"__metadata__\":{\"format\":\"pt\",\"x\":\"{[\\\"]}\"}");
    for (int t = 0; t < 6; t++) {
        long numel = 1;
        for (int d = 0; d < tensors[t].rank; d++) numel *= tensors[t].shape[d];
        if (t == skip) {
            off += 4 * (size_t)numel;
            continue;
        }
        if (bad_json && t == 0) {
            n += (size_t)snprintf(h + n, sizeof h - n, ",\"%s\":%s", tensors[t].name, bad_json);
        } else {
            n += (size_t)snprintf(h + n, sizeof h - n, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", tensors[t].name);
            for (int d = 0; d < tensors[t].rank; d++)
                n += (size_t)snprintf(h + n, sizeof h - n, "%s%ld", d ? "," : "", tensors[t].shape[d]);
            n += (size_t)snprintf(h + n, sizeof h - n, "],\"data_offsets\":[%lu,%lu]}", (unsigned long)off,
                                  (unsigned long)(off + 4 * (size_t)numel));
        }
        off += 4 * (size_t)numel;
    }
    n += (size_t)snprintf(h + n, sizeof h - n, "}");
    size_t total = 8 + n + off;
    if (total > cap) abort();
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, h, n);
    unsigned char *d = buf + 8 + n;
    for (int t = 0; t < 6; t++) {
        long numel = 1;
        for (int k = 0; k < tensors[t].rank; k++) numel *= tensors[t].shape[k];
        for (long e = 0; e < numel; e++) {
            uint32_t u;
            memcpy(&u, &values[t][e], 4);
            for (int b = 0; b < 4; b++) *d++ = (unsigned char)(u >> (8 * b));
        }
    }
    return total;
}

static int load(const unsigned char *buf, size_t n, float *p, char *err)
{
    return m_load(buf, n, "test.safetensors", tensors, 6, folds, 3, p, err, 512);
}

int main(void)
{
    static unsigned char buf[8192], mut[8192];
    float p[12];
    char err[512];
    size_t n = make_file(buf, sizeof buf, -1, NULL);
    CHECK(load(buf, n, p, err) == 0, "valid file: %s", err);
    for (int c = 0; c < 2; c++) {
        double s = values[1][c] / sqrt((double)values[4][c] + 1e-5);
        for (int k = 0; k < 2; k++)
            CHECK(fabs(p[c * 2 + k] - values[0][c * 2 + k] * s) < 1e-6, "folded weight %d,%d: %g", c, k,
                  p[c * 2 + k]);
        CHECK(fabs(p[4 + c] - (values[2][c] - values[3][c] * s)) < 1e-6, "folded bias %d: %g", c, p[4 + c]);
        CHECK(fabs(p[8 + c] - s) < 1e-6 && fabs(p[10 + c] - (values[2][c] - values[3][c] * s)) < 1e-6,
              "bn scale/shift %d", c);
    }
    CHECK(p[6] == 7 && p[7] == -7, "copied tensor");

    struct {
        int skip;
        const char *json, *want;
    } bad[] = {
        { 3, NULL, "'bn.running_mean' is missing" },
        { -1, "{\"dtype\":\"F16\",\"shape\":[2,1,1,2],\"data_offsets\":[0,16]}", "dtype F16" },
        { -1, "{\"dtype\":\"F32\",\"shape\":[2,1,2],\"data_offsets\":[0,16]}", "has shape [2,1,2]" },
        { -1, "{\"dtype\":\"F32\",\"shape\":[2,1,1,2],\"data_offsets\":[0,12]}", "data_offsets" },
        { -1, "{\"dtype\":\"F32\",\"shape\":[2,1,1,2],\"data_offsets\":[1000,1016]}", "truncated" },
        { -1, "{\"dtype\":\"F32\",\"shape\":[2,1,1,2,1,1,1,1,1]}", "too many" },
        { -1, "[1,2", "not valid" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t m = make_file(buf, sizeof buf, bad[i].skip, bad[i].json);
        err[0] = 0;
        CHECK(load(buf, m, p, err) != 0 && strstr(err, bad[i].want), "case %zu: want '%s', got '%s'", i,
              bad[i].want, err);
        printf("rejected as expected: %s\n", err);
    }
    /* NaN and a negative variance */
    n = make_file(buf, sizeof buf, -1, NULL);
    memcpy(mut, buf, n);
    size_t data = n - 4 * (4 + 2 + 2 + 2 + 2 + 2);
    mut[data + 3] = 0x7f, mut[data + 2] = 0xc0; /* conv.weight[0] = NaN */
    CHECK(load(mut, n, p, err) != 0 && strstr(err, "NaN"), "NaN: %s", err);
    memcpy(mut, buf, n);
    mut[data + 4 * 10 + 3] |= 0x80; /* bn.running_var[0] < 0 */
    CHECK(load(mut, n, p, err) != 0 && strstr(err, "negative variance"), "negative variance: %s", err);

    /* every truncation */
    int rejected = 0;
    for (size_t k = 0; k < n; k++) rejected += load(buf, k, p, err) != 0;
    CHECK(rejected == (int)n, "%d of %zu truncations rejected", rejected, n);
    /* seeded random corruptions: 1-4 bytes each */
    uint64_t x = 88172645463325252ull;
    int loaded = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(mut, buf, n);
        int flips = 1 + it % 4;
        for (int f = 0; f < flips; f++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            mut[x % n] = (unsigned char)(x >> 32);
        }
        loaded += load(mut, n, p, err) == 0;
    }
    printf("truncations: %d of %zu rejected; random corruptions: %d of 20000 still load (data bytes), "
           "the rest rejected, no crash\n",
           rejected, n, loaded);
    printf("test_loader: %d failure(s)\n", failures);
    return failures != 0;
}
