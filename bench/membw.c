/* membw.c: what the machine moves between memory and the cores, the
 * figures the memory-bound kernels are judged against: per buffer size,
 * the best of several passes of a read (a sum), a copy with plain stores
 * and a copy with streaming stores (read and write both counted), on the
 * OpenMP threads (OMP_NUM_THREADS). Sizes of a few MiB sit in L2 or L3,
 * 1 GiB in memory.
 * Without AVX-512 the streaming copy is a plain one.
 * Usage: membw [MiB ...]   (default 1 8 32 128 1024) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <time.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

static double now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds of one copy of n floats from a to b (stream: streaming stores). */
static double copy_pass(const float *a, float *b, size_t n, int stream)
{
    double t = now();
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i += 16) {
#if defined(__AVX512F__)
        if (stream)
            _mm512_stream_ps(b + i, _mm512_load_ps(a + i));
        else
            _mm512_store_ps(b + i, _mm512_load_ps(a + i));
#else
        (void)stream;
        memcpy(b + i, a + i, 16 * sizeof(float));
#endif
    }
    return now() - t;
}

/* One size: n floats in a and b. */
static void measure(size_t mib)
{
    size_t n = mib << 18;
    float *a = aligned_alloc(64, n * sizeof(float)), *b = aligned_alloc(64, n * sizeof(float));
    if (!a || !b) {
        fprintf(stderr, "membw: out of memory for %zu MiB\n", mib);
        exit(1);
    }
    memset(a, 0, n * sizeof(float));
    memset(b, 0, n * sizeof(float));
    double best[3] = {1e9, 1e9, 1e9}, sink = 0;
    int reps = mib >= 1024 ? 3 : (int)(4096 / mib);
    for (int r = 0; r < reps; r++) {
        double t = now(), s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
        for (size_t i = 0; i < n; i += 64) {
#if defined(__AVX512F__)
            __m512 v = _mm512_add_ps(_mm512_add_ps(_mm512_load_ps(a + i), _mm512_load_ps(a + i + 16)),
                                     _mm512_add_ps(_mm512_load_ps(a + i + 32), _mm512_load_ps(a + i + 48)));
            s += _mm512_reduce_add_ps(v);
#else
            float v = 0;
            for (size_t j = i; j < i + 64; j++)
                v += a[j];
            s += v;
#endif
        }
        t = now() - t;
        sink += s;
        if (t < best[0])
            best[0] = t;
        for (int k = 1; k <= 2; k++) {
            t = copy_pass(a, b, n, k == 2);
            if (t < best[k])
                best[k] = t;
        }
    }
    double bytes = (double)n * sizeof(float);
    printf("%6zu MiB: read %6.1f GB/s, copy %6.1f GB/s, copy with streaming stores %6.1f GB/s%s\n", mib,
           bytes / best[0] / 1e9, 2 * bytes / best[1] / 1e9, 2 * bytes / best[2] / 1e9,
           sink == 1234.5 ? " " : "");
    free(a);
    free(b);
}

int main(int argc, char **argv)
{
    static const size_t def[] = {1, 8, 32, 128, 1024};
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("membw: %d threads\n", threads);
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            measure((size_t)strtoul(argv[i], NULL, 10));
    else
        for (size_t i = 0; i < sizeof def / sizeof def[0]; i++)
            measure(def[i]);
    return 0;
}
