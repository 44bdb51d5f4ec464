/* test_cache.c: the NVRTC disk cache. Compiling the same instantiation twice
 * hits the cache the second time (same image, nothing compiled), the entry
 * is written atomically (no temporary file left), a damaged entry is
 * recompiled, and a different architecture is a different entry. Also checks
 * the --device semantics on this machine.
 * usage: test_cache KERNEL_DIR */
#define _DEFAULT_SOURCE /* mkdtemp, truncate, setenv */
#include <dirent.h>
#include <unistd.h>

#include "cuda_test.h"

static int failures;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
            failures++;                                    \
        }                                                  \
    } while (0)

/* Number of entries in dir whose name contains `part`. */
static int count_files(const char *dir, const char *part, char *last, size_t lastlen)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, part)) {
            n++;
            snprintf(last, lastlen, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return n;
}

/* Compiles src's expression for arch in cache dir; exits on error. */
static RtCudaImage *compile(const RtCudaSource *src, const RtCudaSource *hdr, const char *expr, int arch,
                            const char *dir)
{
    RtCudaCompile opt = { .arch = arch, .cache_dir = dir };
    RtCudaImage *img = NULL;
    char err[8192];
    if (rt_nvrtc_compile(src, hdr, 1, &expr, 1, &opt, &img, err, sizeof err) != 0) {
        printf("FAIL compile %s sm_%d: %s\n", expr, arch, err);
        exit(1);
    }
    return img;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_cache KERNEL_DIR\n");
        return 2;
    }
    ct_require_nvrtc();
    RtCudaSource hdr = { KC_HEADER, ct_read_file(argv[1], KC_HEADER) };
    RtCudaSource src = { "elementwise.cu", ct_read_file(argv[1], "elementwise.cu") };
    char dir[] = "/tmp/sharpc-cache-test-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char sub[512], last[1024];
    snprintf(sub, sizeof sub, "%s/nested/cache", dir); /* created on demand */
    const char *expr = "relu_fwd<1024>";

    RtCudaImage *a = compile(&src, &hdr, expr, 80, sub);
    CHECK(!a->from_cache, "first compile came from the cache");
    CHECK(a->size > 0 && rt_cuda_image_lowered(a, expr), "no image or lowered name");
    CHECK(count_files(sub, ".cubin", last, sizeof last) == 1, "expected one cache entry in %s", sub);
    CHECK(count_files(sub, ".tmp", last, sizeof last) == 0, "temporary file left: %s", last);

    RtCudaImage *b = compile(&src, &hdr, expr, 80, sub);
    CHECK(b->from_cache, "second compile of the same instantiation missed the cache");
    CHECK(b->size == a->size && memcmp(a->image, b->image, a->size) == 0, "cached image differs");
    CHECK(b->key == a->key, "keys differ");
    CHECK(strcmp(rt_cuda_image_lowered(a, expr), rt_cuda_image_lowered(b, expr)) == 0, "lowered names differ");
    printf("cache hit: key %016llx, %zu bytes\n", (unsigned long long)b->key, b->size);

    RtCudaImage *c = compile(&src, &hdr, expr, 90, sub);
    CHECK(!c->from_cache && c->key != a->key, "sm_90 must be a different entry");
    CHECK(count_files(sub, ".cubin", last, sizeof last) == 2, "expected two cache entries");

    /* A damaged entry (truncated) is ignored and rewritten. */
    char path[1024];
    snprintf(path, sizeof path, "%s/%016llx.cubin", sub, (unsigned long long)a->key);
    CHECK(truncate(path, 100) == 0, "truncate %s", path);
    RtCudaImage *d = compile(&src, &hdr, expr, 80, sub);
    CHECK(!d->from_cache, "a damaged entry was used");
    RtCudaImage *e = compile(&src, &hdr, expr, 80, sub);
    CHECK(e->from_cache, "the damaged entry was not rewritten");

    /* Another source text is another key. */
    RtCudaSource src2 = { "elementwise.cu", NULL };
    size_t n = strlen(src.text);
    char *t2 = malloc(n + 32);
    snprintf(t2, n + 32, "%s\n// changed\n", src.text);
    src2.text = t2;
    RtCudaImage *f = compile(&src2, &hdr, expr, 80, sub);
    CHECK(!f->from_cache, "a changed source hit the cache");

    /* The default folder follows XDG_CACHE_HOME. */
    char def[1024];
    setenv("XDG_CACHE_HOME", dir, 1);
    CHECK(rt_cuda_cache_dir(def, sizeof def) == 0 && strncmp(def, dir, strlen(dir)) == 0 &&
              strstr(def, "sharpc"), "default cache dir %s", def);

    /* --device semantics. */
    char line[512], err[512];
    RtDevice dev;
    int gpu = rt_cuda_available(NULL, 0);
    CHECK(rt_device_select(NULL, &dev, line, sizeof line, err, sizeof err) == 0, "auto: %s", err);
    printf("%s\n", line);
    CHECK(dev == (gpu ? RT_DEVICE_CUDA : RT_DEVICE_CPU), "auto picked the wrong device");
    CHECK(rt_device_select("cpu", &dev, line, sizeof line, err, sizeof err) == 0 && dev == RT_DEVICE_CPU, "cpu");
    int rc = rt_device_select("cuda", &dev, line, sizeof line, err, sizeof err);
    if (gpu)
        CHECK(rc == 0 && dev == RT_DEVICE_CUDA, "cuda with a GPU: %s", err);
    else {
        CHECK(rc != 0 && strstr(err, "--device cuda"), "cuda without a GPU must be an error");
        printf("--device cuda here: %s\n", err);
    }
    CHECK(rt_device_select("tpu", &dev, line, sizeof line, err, sizeof err) != 0, "unknown device accepted");
    size_t v;
    if (rt_cudnn_version(&v, err, sizeof err) == 0)
        printf("cuDNN %zu\n", v);
    else
        printf("note: %s\n", err);

    rt_cuda_image_free(a);
    rt_cuda_image_free(b);
    rt_cuda_image_free(c);
    rt_cuda_image_free(d);
    rt_cuda_image_free(e);
    rt_cuda_image_free(f);
    free(t2);
    free((char *)hdr.text);
    free((char *)src.text);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", dir);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
