/* cuda_test.h: helpers shared by the CUDA tests: reading the kernel sources
 * and checking that NVRTC is there (naming what to install when not). */
#ifndef SHARP_CUDA_TEST_H
#define SHARP_CUDA_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_kernels.h"
#include "sharprt.h"

/* Reads a whole file into a NUL-terminated buffer; exits on failure. */
static inline char *ct_read_file(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "FAIL: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "FAIL: cannot read %s\n", path);
        exit(1);
    }
    s[n] = 0;
    fclose(f);
    return s;
}

/* Exits with a failure naming what to install when NVRTC cannot be loaded:
 * these tests never skip silently. Prints the version otherwise. */
static inline void ct_require_nvrtc(void)
{
    int major, minor;
    char err[512];
    if (rt_nvrtc_version(&major, &minor, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: %s\n(install the CUDA toolkit, e.g. /usr/local/cuda with libnvrtc.so, "
                        "or set CUDA_HOME)\n", err);
        exit(1);
    }
    printf("NVRTC %d.%d\n", major, minor);
}

#endif
