/* rt_cuda.c: the device layer. libcuda (driver API), libnvrtc and libcudnn
 * are opened with dlopen at run time, never linked, so one executable runs
 * on a machine without a GPU (and says it uses the CPU) and on one with a GPU
 * (and says which). NVRTC compiles kernel templates with name expressions
 * for the present GPU or for a given architecture; results are cached on
 * disk under a FNV-1a 64 key of source, headers, options, name expressions,
 * NVRTC version and architecture, written atomically (temp + rename).
 * Every driver, NVRTC and cuDNN call goes through RT_CU / RT_NVRTC / RT_CUDNN,
 * which report the call, its error and the source line. */
#define _POSIX_C_SOURCE 200809L /* fsync, fileno */
#include "sharprt.h"

#include "rt_check.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the parts of cuda.h / nvrtc.h / cudnn.h we use, declared here so
 * that the runtime builds without the CUDA toolkit ---- */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef unsigned long long CUdeviceptr;
typedef int nvrtcResult;
typedef void *nvrtcProgram;
typedef int cudnnStatus_t;
#define CU_ATTR_CC_MAJOR 75
#define CU_ATTR_CC_MINOR 76

/* Driver API entry points (versioned names where cuda.h maps them). */
static struct {
    void *lib;
    CUresult (*cuInit)(unsigned);
    CUresult (*cuDeviceGetCount)(int *);
    CUresult (*cuDeviceGet)(CUdevice *, int);
    CUresult (*cuDeviceGetName)(char *, int, CUdevice);
    CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*cuCtxSetCurrent)(CUcontext);
    CUresult (*cuCtxSynchronize)(void);
    CUresult (*cuModuleLoadData)(CUmodule *, const void *);
    CUresult (*cuModuleUnload)(CUmodule);
    CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                               unsigned, CUstream, void **, void **);
    CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
    CUresult (*cuMemFree)(CUdeviceptr);
    CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
    CUresult (*cuGetErrorName)(CUresult, const char **);
    CUresult (*cuGetErrorString)(CUresult, const char **);
} cu;

static struct {
    void *lib;
    nvrtcResult (*nvrtcVersion)(int *, int *);
    const char *(*nvrtcGetErrorString)(nvrtcResult);
    nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram *, const char *, const char *, int, const char *const *,
                                      const char *const *);
    nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram *);
    nvrtcResult (*nvrtcAddNameExpression)(nvrtcProgram, const char *);
    nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char *const *);
    nvrtcResult (*nvrtcGetLoweredName)(nvrtcProgram, const char *, const char **);
    nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t *);
    nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char *);
    nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram, size_t *);
    nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram, char *);
    nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t *);
    nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char *);
} nv;

static struct {
    void *lib;
    size_t (*cudnnGetVersion)(void);
    const char *(*cudnnGetErrorString)(cudnnStatus_t);
} dnn;

/* Why each library failed to load ("" when it loaded). */
static char cu_why[256], nv_why[256], dnn_why[256];
static pthread_once_t cu_once = PTHREAD_ONCE_INIT, nv_once = PTHREAD_ONCE_INIT, dnn_once = PTHREAD_ONCE_INIT;
/* GPU 0 once the driver is up: count, handle, name, arch (10*major+minor). */
static int cu_ndev;
static CUdevice cu_dev;
static char cu_name[256];
static int cu_arch;
static CUcontext cu_ctx;

/* ---- checked calls ---- */

/* "call: NAME (text) [file:line]" for a failed driver call. */
static int cu_fail(CUresult r, const char *call, const char *file, int line, char *err, size_t errlen)
{
    const char *name = "?", *text = "?";
    if (cu.cuGetErrorName)
        cu.cuGetErrorName(r, &name);
    if (cu.cuGetErrorString)
        cu.cuGetErrorString(r, &text);
    return rt_errf(err, errlen, "%s: %s (%s) [%s:%d]", call, name ? name : "?", text ? text : "?", file, line);
}

/* Runs a driver call through the table; on failure fills err and jumps to label. */
#define RT_CU(call, label)                                                              \
    do {                                                                                \
        CUresult rt_cu_r_ = cu.call;                                                    \
        if (rt_cu_r_ != 0) {                                                            \
            cu_fail(rt_cu_r_, #call, __FILE__, __LINE__, err, errlen);                  \
            goto label;                                                                 \
        }                                                                               \
    } while (0)

/* The same for NVRTC calls. */
#define RT_NVRTC(call, label)                                                           \
    do {                                                                                \
        nvrtcResult rt_nv_r_ = nv.call;                                                 \
        if (rt_nv_r_ != 0) {                                                            \
            rt_errf(err, errlen, "%s: %s [%s:%d]", #call, nv.nvrtcGetErrorString(rt_nv_r_), \
                    __FILE__, __LINE__);                                                \
            goto label;                                                                 \
        }                                                                               \
    } while (0)

/* The same for cuDNN calls. */
#define RT_CUDNN(call, label)                                                           \
    do {                                                                                \
        cudnnStatus_t rt_dnn_r_ = dnn.call;                                             \
        if (rt_dnn_r_ != 0) {                                                           \
            rt_errf(err, errlen, "%s: %s [%s:%d]", #call, dnn.cudnnGetErrorString(rt_dnn_r_), \
                    __FILE__, __LINE__);                                                \
            goto label;                                                                 \
        }                                                                               \
    } while (0)

/* ---- loading ---- */

/* dlopens the first of names that loads, also under $CUDA_HOME/lib64 and
 * /usr/local/cuda/lib64; NULL with why filled when none does. */
static void *open_first(const char *const *names, char *why, size_t whylen)
{
    const char *home = getenv("CUDA_HOME");
    const char *dirs[] = { "", home, "/usr/local/cuda/lib64/", "/usr/local/cuda/lib/" };
    /* dlerror's text lives only until the next dl call: copy it */
    char last[256] = "not found";
    for (const char *const *n = names; *n; n++)
        for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
            if (!dirs[d])
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s%s%s", dirs[d],
                     dirs[d][0] && dirs[d][strlen(dirs[d]) - 1] != '/' ? "/" : "", *n);
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h)
                return h;
            const char *e = dlerror();
            if (d == 0 && e)
                snprintf(last, sizeof last, "%s", e);
        }
    snprintf(why, whylen, "%s", last);
    return NULL;
}

/* Resolves symbol `name` into *slot; false (and why) if missing. */
static int sym(void *lib, const char *name, void *slot, char *why, size_t whylen)
{
    void *p = dlsym(lib, name);
    if (!p) {
        snprintf(why, whylen, "symbol %s missing", name);
        return 0;
    }
    memcpy(slot, &p, sizeof p);
    return 1;
}

#define SYM(tab, why, fn) sym((tab).lib, #fn, &(tab).fn, why, sizeof why)
#define SYMV(tab, why, fn, versioned) sym((tab).lib, versioned, &(tab).fn, why, sizeof why)

/* Opens libcuda, initializes the driver and reads GPU 0's name and arch. */
static void cu_load(void)
{
    static const char *const names[] = { "libcuda.so.1", "libcuda.so", NULL };
    cu.lib = open_first(names, cu_why, sizeof cu_why);
    if (!cu.lib)
        return;
    int ok = SYM(cu, cu_why, cuInit) && SYM(cu, cu_why, cuDeviceGetCount) && SYM(cu, cu_why, cuDeviceGet) &&
             SYM(cu, cu_why, cuDeviceGetName) && SYM(cu, cu_why, cuDeviceGetAttribute) &&
             SYM(cu, cu_why, cuDevicePrimaryCtxRetain) && SYM(cu, cu_why, cuCtxSetCurrent) &&
             SYM(cu, cu_why, cuCtxSynchronize) && SYM(cu, cu_why, cuModuleLoadData) &&
             SYM(cu, cu_why, cuModuleUnload) && SYM(cu, cu_why, cuModuleGetFunction) &&
             SYM(cu, cu_why, cuLaunchKernel) && SYMV(cu, cu_why, cuMemAlloc, "cuMemAlloc_v2") &&
             SYMV(cu, cu_why, cuMemFree, "cuMemFree_v2") && SYMV(cu, cu_why, cuMemcpyHtoD, "cuMemcpyHtoD_v2") &&
             SYMV(cu, cu_why, cuMemcpyDtoH, "cuMemcpyDtoH_v2") && SYMV(cu, cu_why, cuMemsetD8, "cuMemsetD8_v2") &&
             SYM(cu, cu_why, cuGetErrorName) && SYM(cu, cu_why, cuGetErrorString);
    if (!ok)
        return;
    char *err = cu_why;
    size_t errlen = sizeof cu_why;
    int major = 0, minor = 0;
    RT_CU(cuInit(0), fail);
    RT_CU(cuDeviceGetCount(&cu_ndev), fail);
    if (cu_ndev < 1) {
        snprintf(cu_why, sizeof cu_why, "the CUDA driver reports no GPU");
        return;
    }
    RT_CU(cuDeviceGet(&cu_dev, 0), fail);
    RT_CU(cuDeviceGetName(cu_name, (int)sizeof cu_name, cu_dev), fail);
    RT_CU(cuDeviceGetAttribute(&major, CU_ATTR_CC_MAJOR, cu_dev), fail);
    RT_CU(cuDeviceGetAttribute(&minor, CU_ATTR_CC_MINOR, cu_dev), fail);
    cu_arch = major * 10 + minor;
    cu_why[0] = 0;
    return;
fail:
    cu_ndev = 0;
}

/* Opens libnvrtc. */
static void nv_load(void)
{
    static const char *const names[] = { "libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", NULL };
    nv.lib = open_first(names, nv_why, sizeof nv_why);
    if (!nv.lib)
        return;
    int ok = SYM(nv, nv_why, nvrtcVersion) && SYM(nv, nv_why, nvrtcGetErrorString) &&
             SYM(nv, nv_why, nvrtcCreateProgram) && SYM(nv, nv_why, nvrtcDestroyProgram) &&
             SYM(nv, nv_why, nvrtcAddNameExpression) && SYM(nv, nv_why, nvrtcCompileProgram) &&
             SYM(nv, nv_why, nvrtcGetLoweredName) && SYM(nv, nv_why, nvrtcGetProgramLogSize) &&
             SYM(nv, nv_why, nvrtcGetProgramLog) && SYM(nv, nv_why, nvrtcGetCUBINSize) &&
             SYM(nv, nv_why, nvrtcGetCUBIN) && SYM(nv, nv_why, nvrtcGetPTXSize) && SYM(nv, nv_why, nvrtcGetPTX);
    if (!ok) {
        dlclose(nv.lib);
        nv.lib = NULL;
        return;
    }
    nv_why[0] = 0;
}

/* Opens libcudnn. */
static void dnn_load(void)
{
    static const char *const names[] = { "libcudnn.so.9", "libcudnn.so", NULL };
    dnn.lib = open_first(names, dnn_why, sizeof dnn_why);
    if (!dnn.lib)
        return;
    if (!SYM(dnn, dnn_why, cudnnGetVersion) || !SYM(dnn, dnn_why, cudnnGetErrorString)) {
        dlclose(dnn.lib);
        dnn.lib = NULL;
        return;
    }
    dnn_why[0] = 0;
}

int rt_cuda_available(char *why, size_t whylen)
{
    pthread_once(&cu_once, cu_load);
    if (cu_ndev > 0)
        return 1;
    if (why && whylen)
        snprintf(why, whylen, "%s", cu.lib ? cu_why : "no CUDA driver (libcuda.so.1 not found)");
    return 0;
}

int rt_cuda_device_info(char *name, size_t namelen, int *arch, char *err, size_t errlen)
{
    char why[256];
    if (!rt_cuda_available(why, sizeof why))
        return rt_errf(err, errlen, "no CUDA GPU: %s", why);
    if (name && namelen)
        snprintf(name, namelen, "%s", cu_name);
    if (arch)
        *arch = cu_arch;
    return 0;
}

int rt_device_select(const char *want, RtDevice *dev, char *line, size_t linelen, char *err, size_t errlen)
{
    char why[256];
    int auto_ = !want || !*want || strcmp(want, "auto") == 0;
    if (!auto_ && strcmp(want, "cpu") != 0 && strcmp(want, "cuda") != 0)
        return rt_errf(err, errlen, "--device %s: expected cpu, cuda, ref or auto", want);
    if (!auto_ && strcmp(want, "cpu") == 0) {
        *dev = RT_DEVICE_CPU;
        if (line && linelen)
            snprintf(line, linelen, "device: CPU (--device cpu)");
        return 0;
    }
    if (rt_cuda_available(why, sizeof why)) {
        *dev = RT_DEVICE_CUDA;
        if (line && linelen)
            snprintf(line, linelen, "device: GPU 0, %s (sm_%d)", cu_name, cu_arch);
        return 0;
    }
    if (!auto_)
        return rt_errf(err, errlen, "--device cuda: no usable CUDA GPU: %s", why);
    *dev = RT_DEVICE_CPU;
    if (line && linelen)
        snprintf(line, linelen, "device: CPU (no CUDA GPU: %s)", why);
    return 0;
}

int rt_nvrtc_version(int *major, int *minor, char *err, size_t errlen)
{
    pthread_once(&nv_once, nv_load);
    if (!nv.lib)
        return rt_errf(err, errlen, "NVRTC unavailable (%s): install the CUDA toolkit's NVRTC (libnvrtc.so)",
                       nv_why);
    RT_NVRTC(nvrtcVersion(major, minor), fail);
    return 0;
fail:
    return -1;
}

int rt_cudnn_version(size_t *version, char *err, size_t errlen)
{
    pthread_once(&dnn_once, dnn_load);
    if (!dnn.lib)
        return rt_errf(err, errlen, "cuDNN unavailable (%s): install cuDNN 9 (libcudnn.so.9)", dnn_why);
    *version = dnn.cudnnGetVersion();
    return 0;
}

/* ---- hashing and the disk cache ---- */

uint64_t rt_fnv1a64(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Hashes a NUL-terminated field and a separator, so fields never run together. */
static uint64_t fnv_str(uint64_t h, const char *s)
{
    h = rt_fnv1a64(s ? s : "", s ? strlen(s) : 0, h);
    return rt_fnv1a64("", 1, h);
}

int rt_cuda_cache_dir(char *buf, size_t len)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (x && *x)
        n = snprintf(buf, len, "%s/sharpc", x);
    else if (home && *home)
        n = snprintf(buf, len, "%s/.cache/sharpc", home);
    else
        return -1;
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* mkdir -p of dir (0755). */
static int mkdirs(const char *dir, char *err, size_t errlen)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return RT_SYSERR(err, errlen, p, "mkdir");
            *s = '/';
        }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return RT_SYSERR(err, errlen, p, "mkdir");
    return 0;
}

#define CACHE_MAGIC "SHRPCU01"

/* Appends n bytes to a growing buffer. */
typedef struct {
    unsigned char *p;
    size_t n, cap;
} Buf;
static int buf_put(Buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    return 0;
}
static int buf_u64(Buf *b, uint64_t v) { return buf_put(b, &v, sizeof v); }
static int buf_str(Buf *b, const char *s)
{
    size_t n = strlen(s);
    return buf_u64(b, n) || buf_put(b, s, n);
}

/* Serializes img (magic, key, names, log, image, checksum). */
static int cache_encode(const RtCudaImage *img, Buf *b)
{
    if (buf_put(b, CACHE_MAGIC, 8) || buf_u64(b, img->key) || buf_u64(b, (uint64_t)img->nnames))
        return -1;
    for (int i = 0; i < img->nnames; i++)
        if (buf_str(b, img->exprs[i]) || buf_str(b, img->lowered[i]))
            return -1;
    if (buf_str(b, img->log) || buf_u64(b, img->size) || buf_put(b, img->image, img->size))
        return -1;
    return buf_u64(b, rt_fnv1a64(b->p, b->n, 0xcbf29ce484222325ULL));
}

/* Reads a length-prefixed string at *off of p[0..n). */
static char *get_str(const unsigned char *p, size_t n, size_t *off)
{
    uint64_t len;
    if (*off + 8 > n)
        return NULL;
    memcpy(&len, p + *off, 8);
    *off += 8;
    if (len > n - *off)
        return NULL;
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    memcpy(s, p + *off, len);
    s[len] = 0;
    *off += len;
    return s;
}

void rt_cuda_image_free(RtCudaImage *img)
{
    if (!img)
        return;
    for (int i = 0; i < img->nnames; i++) {
        free(img->exprs ? img->exprs[i] : NULL);
        free(img->lowered ? img->lowered[i] : NULL);
    }
    free(img->exprs);
    free(img->lowered);
    free(img->log);
    free(img->image);
    free(img);
}

/* Parses a cache file; NULL when it is damaged or for another key. */
static RtCudaImage *cache_decode(const unsigned char *p, size_t n, uint64_t key)
{
    uint64_t v, sum;
    if (n < 8 + 8 + 8 + 8 || memcmp(p, CACHE_MAGIC, 8) != 0)
        return NULL;
    memcpy(&sum, p + n - 8, 8);
    if (sum != rt_fnv1a64(p, n - 8, 0xcbf29ce484222325ULL))
        return NULL;
    memcpy(&v, p + 8, 8);
    if (v != key)
        return NULL;
    RtCudaImage *img = calloc(1, sizeof *img);
    if (!img)
        return NULL;
    img->key = key;
    size_t off = 24;
    memcpy(&v, p + 16, 8);
    if (v > 100000)
        goto bad;
    img->exprs = calloc(v ? v : 1, sizeof(char *));
    img->lowered = calloc(v ? v : 1, sizeof(char *));
    if (!img->exprs || !img->lowered)
        goto bad;
    img->nnames = (int)v;
    for (int i = 0; i < img->nnames; i++)
        if (!(img->exprs[i] = get_str(p, n - 8, &off)) || !(img->lowered[i] = get_str(p, n - 8, &off)))
            goto bad;
    if (!(img->log = get_str(p, n - 8, &off)))
        goto bad;
    if (off + 8 > n - 8)
        goto bad;
    memcpy(&v, p + off, 8);
    off += 8;
    if (v != n - 8 - off)
        goto bad;
    img->size = (size_t)v;
    img->image = malloc(img->size ? img->size : 1);
    if (!img->image)
        goto bad;
    memcpy(img->image, p + off, img->size);
    img->from_cache = 1;
    return img;
bad:
    rt_cuda_image_free(img);
    return NULL;
}

/* Loads the cached image for key from dir, NULL on a miss. */
static RtCudaImage *cache_load(const char *dir, uint64_t key)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%016llx.cubin", dir, (unsigned long long)key);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    RtCudaImage *img = NULL;
    unsigned char *p = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto done;
    p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) == (size_t)n)
        img = cache_decode(p, (size_t)n, key);
done:
    free(p);
    fclose(f);
    return img;
}

/* Writes img to dir atomically: a temporary file, fsync, rename. */
static int cache_store(const char *dir, const RtCudaImage *img, char *err, size_t errlen)
{
    static int counter;
    char path[1200], tmp[1300];
    Buf b = { 0 };
    int rc = -1;
    if (mkdirs(dir, err, errlen) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%016llx.cubin", dir, (unsigned long long)img->key);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%d", path, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    if (cache_encode(img, &b) != 0) {
        free(b.p);
        return rt_errf(err, errlen, "%s: out of memory encoding the cache entry [%s:%d]", path, __FILE__, __LINE__);
    }
    FILE *f = fopen(tmp, "wb");
    RT_CHECK_SYS(!f, err, errlen, tmp, "fopen", out);
    if (fwrite(b.p, 1, b.n, f) != b.n) {
        RT_SYSERR(err, errlen, tmp, "fwrite");
        fclose(f);
        goto unlink_tmp;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        RT_SYSERR(err, errlen, tmp, "fsync");
        fclose(f);
        goto unlink_tmp;
    }
    RT_CHECK_SYS(fclose(f) != 0, err, errlen, tmp, "fclose", unlink_tmp);
    RT_CHECK_SYS(rename(tmp, path) != 0, err, errlen, tmp, "rename", unlink_tmp);
    rc = 0;
    goto out;
unlink_tmp:
    unlink(tmp);
out:
    free(b.p);
    return rc;
}

/* ---- NVRTC compilation ---- */

const char *rt_cuda_image_lowered(const RtCudaImage *img, const char *expr)
{
    for (int i = 0; i < img->nnames; i++)
        if (strcmp(img->exprs[i], expr) == 0)
            return img->lowered[i];
    return NULL;
}

/* Duplicates s or returns NULL. */
static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int rt_nvrtc_compile(const RtCudaSource *src, const RtCudaSource *headers, int nheaders, const char *const *exprs,
                     int nexprs, const RtCudaCompile *opt, RtCudaImage **out, char *err, size_t errlen)
{
    int major, minor, arch = opt ? opt->arch : 0;
    *out = NULL;
    if (rt_nvrtc_version(&major, &minor, err, errlen) != 0)
        return -1;
    if (arch <= 0 && rt_cuda_device_info(NULL, 0, &arch, err, errlen) != 0)
        return -1;
    /* Options: a cubin for exactly this architecture. */
    const char *opts[40];
    char archopt[64];
    int nopts = 0;
    snprintf(archopt, sizeof archopt, "--gpu-architecture=sm_%d", arch);
    opts[nopts++] = archopt;
    opts[nopts++] = "-std=c++17";
    opts[nopts++] = "--device-as-default-execution-space";
    if (opt && opt->ptxas_verbose)
        opts[nopts++] = "--ptxas-options=-v";
    for (int i = 0; opt && i < opt->nextra && nopts < 40; i++)
        opts[nopts++] = opt->extra_opts[i];

    /* The cache key. */
    uint64_t key = fnv_str(0xcbf29ce484222325ULL, "sharpc-nvrtc-cache-1");
    key = fnv_str(fnv_str(key, src->name), src->text);
    for (int i = 0; i < nheaders; i++)
        key = fnv_str(fnv_str(key, headers[i].name), headers[i].text);
    for (int i = 0; i < nopts; i++)
        key = fnv_str(key, opts[i]);
    for (int i = 0; i < nexprs; i++)
        key = fnv_str(key, exprs[i]);
    char ver[64];
    snprintf(ver, sizeof ver, "nvrtc %d.%d sm_%d", major, minor, arch);
    key = fnv_str(key, ver);

    char dir[1024];
    int use_cache = 1;
    if (opt && opt->cache_dir) {
        use_cache = opt->cache_dir[0] != 0;
        snprintf(dir, sizeof dir, "%s", opt->cache_dir);
    } else if (rt_cuda_cache_dir(dir, sizeof dir) != 0) {
        use_cache = 0;
    }
    if (use_cache && (*out = cache_load(dir, key)) != NULL)
        return 0;

    const char *hnames[64], *htexts[64];
    if (nheaders > 64)
        return rt_errf(err, errlen, "%s: too many headers (%d) [%s:%d]", src->name, nheaders, __FILE__, __LINE__);
    for (int i = 0; i < nheaders; i++) {
        hnames[i] = headers[i].name;
        htexts[i] = headers[i].text;
    }
    nvrtcProgram prog = NULL;
    RtCudaImage *img = calloc(1, sizeof *img);
    size_t logsize = 0;
    if (!img)
        return rt_errf(err, errlen, "out of memory [%s:%d]", __FILE__, __LINE__);
    img->key = key;
    img->exprs = calloc((size_t)(nexprs ? nexprs : 1), sizeof(char *));
    img->lowered = calloc((size_t)(nexprs ? nexprs : 1), sizeof(char *));
    if (!img->exprs || !img->lowered) {
        rt_errf(err, errlen, "out of memory [%s:%d]", __FILE__, __LINE__);
        goto fail;
    }
    RT_NVRTC(nvrtcCreateProgram(&prog, src->text, src->name, nheaders, htexts, hnames), fail);
    for (int i = 0; i < nexprs; i++)
        RT_NVRTC(nvrtcAddNameExpression(prog, exprs[i]), fail);
    nvrtcResult cr = nv.nvrtcCompileProgram(prog, nopts, opts);
    RT_NVRTC(nvrtcGetProgramLogSize(prog, &logsize), fail);
    img->log = malloc(logsize + 1);
    if (!img->log) {
        rt_errf(err, errlen, "out of memory [%s:%d]", __FILE__, __LINE__);
        goto fail;
    }
    img->log[0] = 0;
    RT_NVRTC(nvrtcGetProgramLog(prog, img->log), fail);
    img->log[logsize] = 0;
    if (cr != 0) {
        rt_errf(err, errlen, "%s: nvrtcCompileProgram: %s (sm_%d) [%s:%d]\n%s", src->name,
                nv.nvrtcGetErrorString(cr), arch, __FILE__, __LINE__, img->log);
        goto fail;
    }
    for (int i = 0; i < nexprs; i++) {
        const char *low = NULL;
        RT_NVRTC(nvrtcGetLoweredName(prog, exprs[i], &low), fail);
        img->exprs[i] = dupstr(exprs[i]);
        img->lowered[i] = dupstr(low);
        img->nnames = i + 1;
        if (!img->exprs[i] || !img->lowered[i]) {
            rt_errf(err, errlen, "out of memory [%s:%d]", __FILE__, __LINE__);
            goto fail;
        }
    }
    RT_NVRTC(nvrtcGetCUBINSize(prog, &img->size), fail);
    img->image = malloc(img->size ? img->size : 1);
    if (!img->image) {
        rt_errf(err, errlen, "out of memory [%s:%d]", __FILE__, __LINE__);
        goto fail;
    }
    RT_NVRTC(nvrtcGetCUBIN(prog, (char *)img->image), fail);
    nv.nvrtcDestroyProgram(&prog);
    if (use_cache) {
        char cerr[512];
        if (cache_store(dir, img, cerr, sizeof cerr) != 0)
            fprintf(stderr, "sharprt: warning: kernel cache not written: %s\n", cerr);
    }
    *out = img;
    return 0;
fail:
    if (prog)
        nv.nvrtcDestroyProgram(&prog);
    rt_cuda_image_free(img);
    return -1;
}

/* ---- device memory, modules and launches ---- */

struct RtCudaModule {
    CUmodule mod;
    const RtCudaImage *img; /* for the lowered names; must outlive the module */
};

int rt_cuda_init(char *err, size_t errlen)
{
    char why[256];
    if (!rt_cuda_available(why, sizeof why))
        return rt_errf(err, errlen, "no usable CUDA GPU: %s", why);
    if (cu_ctx)
        return 0;
    RT_CU(cuDevicePrimaryCtxRetain(&cu_ctx, cu_dev), fail);
    RT_CU(cuCtxSetCurrent(cu_ctx), fail);
    return 0;
fail:
    cu_ctx = NULL;
    return -1;
}

int rt_cuda_module_load(const RtCudaImage *img, RtCudaModule **out, char *err, size_t errlen)
{
    RtCudaModule *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return rt_errf(err, errlen, "out of memory [%s:%d]", __FILE__, __LINE__);
    if (rt_cuda_init(err, errlen) != 0)
        goto fail;
    RT_CU(cuModuleLoadData(&m->mod, img->image), fail);
    m->img = img;
    *out = m;
    return 0;
fail:
    free(m);
    return -1;
}

void rt_cuda_module_free(RtCudaModule *m)
{
    if (!m)
        return;
    if (m->mod)
        cu.cuModuleUnload(m->mod);
    free(m);
}

void *rt_cuda_function(RtCudaModule *m, const char *expr, char *err, size_t errlen)
{
    const char *low = rt_cuda_image_lowered(m->img, expr);
    CUfunction f = NULL;
    if (!low) {
        rt_errf(err, errlen, "kernel %s was not compiled into this module [%s:%d]", expr, __FILE__, __LINE__);
        return NULL;
    }
    RT_CU(cuModuleGetFunction(&f, m->mod, low), fail);
    return f;
fail:
    return NULL;
}

int rt_cuda_launch(void *fn, const unsigned grid[3], const unsigned block[3], void **args, char *err,
                   size_t errlen)
{
    RT_CU(cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, NULL, args, NULL), fail);
    return 0;
fail:
    return -1;
}

int rt_cuda_sync(char *err, size_t errlen)
{
    RT_CU(cuCtxSynchronize(), fail);
    return 0;
fail:
    return -1;
}

int rt_cuda_alloc(RtDevPtr *p, size_t nbytes, char *err, size_t errlen)
{
    CUdeviceptr d = 0;
    RT_CU(cuMemAlloc(&d, nbytes ? nbytes : 1), fail);
    *p = d;
    return 0;
fail:
    *p = 0;
    return -1;
}

void rt_cuda_free(RtDevPtr p)
{
    if (p && cu.cuMemFree)
        cu.cuMemFree(p);
}

int rt_cuda_h2d(RtDevPtr dst, const void *src, size_t nbytes, char *err, size_t errlen)
{
    RT_CU(cuMemcpyHtoD(dst, src, nbytes), fail);
    return 0;
fail:
    return -1;
}

int rt_cuda_d2h(void *dst, RtDevPtr src, size_t nbytes, char *err, size_t errlen)
{
    RT_CU(cuMemcpyDtoH(dst, src, nbytes), fail);
    return 0;
fail:
    return -1;
}

int rt_cuda_memset0(RtDevPtr dst, size_t nbytes, char *err, size_t errlen)
{
    RT_CU(cuMemsetD8(dst, 0, nbytes), fail);
    return 0;
fail:
    return -1;
}

/* Keeps RT_CUDNN in use until the cuDNN convolution path lands: checks that
 * a handle-free call works. */
int rt_cudnn_check(char *err, size_t errlen)
{
    size_t v;
    if (rt_cudnn_version(&v, err, errlen) != 0)
        return -1;
    RT_CUDNN(cudnnGetVersion() == 0 ? 1 : 0, fail);
    return 0;
fail:
    return -1;
}
