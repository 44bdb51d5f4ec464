/* sharprt.h: the public header of libsharprt, the runtime every generated
 * program links. One section per runtime source file. The runtime depends on
 * no compiler folder, so a shipped program never carries the compiler. */
#ifndef SHARPRT_H
#define SHARPRT_H

#include <stddef.h>
#include <stdint.h>

#define SHARPRT_VERSION "0.1.0"

/* ---- rt_version.c ---- */
/* The runtime's version string. */
const char *rt_version(void);

/* ---- rt_safetensors.c ---- */
/* safetensors files (docs/weights-format.md). Every function that can fail
 * returns 0 / non-NULL on success and -1 / NULL on failure, filling the
 * caller's err[errlen] with a message that names the file (err may be NULL). */

/* Element types the reader and writer support; others are rejected. */
typedef enum RtDtype {
  RT_DTYPE_F32, /* float32, "F32": weights, activations */
  RT_DTYPE_F64, /* float64, "F64" */
  RT_DTYPE_I64, /* int64, "I64": BN num_batches_tracked, shape () */
  RT_DTYPE_I32, /* int32, "I32" */
  RT_DTYPE_U8,  /* uint8, "U8" */
} RtDtype;

/* Most dimensions a tensor may have. */
#define RT_ST_MAX_DIMS 8

/* One tensor of an open file, as its header describes it. */
typedef struct RtTensorInfo {
  const char *name;                /* unique, valid UTF-8, owned by the file */
  RtDtype dtype;                   /* element type */
  int ndim;                        /* 0 for a scalar */
  int64_t shape[RT_ST_MAX_DIMS];   /* sizes, outermost first */
  uint64_t begin, end;             /* byte range in the data section */
} RtTensorInfo;

/* One tensor to write. */
typedef struct RtTensorOut {
  const char *name;                /* unique, non-empty, not "__metadata__" */
  RtDtype dtype;                   /* element type */
  int ndim;                        /* 0 for a scalar */
  int64_t shape[RT_ST_MAX_DIMS];   /* sizes, outermost first */
  const void *data;                /* numel * element size bytes, little-endian */
} RtTensorOut;

/* One "__metadata__" entry (string to string). */
typedef struct RtStMeta {
  const char *key, *value;
} RtStMeta;

/* Test hook: failures to inject into the atomic writer. */
typedef struct RtStFault {
  int64_t write_limit; /* fail with ENOSPC once this many bytes are written; -1: never */
  int fail_fsync;      /* make fsync of the temporary file fail with EIO */
  int fail_rename;     /* make the final rename fail with EXDEV */
} RtStFault;

/* An open safetensors file: header parsed and validated, data read on demand. */
typedef struct RtTensorFile RtTensorFile;

/* Size in bytes of one element of dtype d (0 for an invalid value). */
size_t rt_dtype_size(RtDtype d);
/* The file's name of dtype d ("F32", ...). */
const char *rt_dtype_name(RtDtype d);
/* Opens path and validates its whole header and layout: header length within
 * the file, JSON syntax, unique names, known dtypes, byte ranges that match
 * dtype*shape and tile the data section exactly. NULL on any failure. */
RtTensorFile *rt_st_open(const char *path, char *err, size_t errlen);
/* Closes f (NULL is allowed). */
void rt_st_close(RtTensorFile *f);
/* Number of tensors in f. */
int rt_st_count(const RtTensorFile *f);
/* The i-th tensor in header order, NULL when i is out of range. */
const RtTensorInfo *rt_st_info(const RtTensorFile *f, int i);
/* The tensor named name, NULL when there is none (to skip optional tensors). */
const RtTensorInfo *rt_st_find(const RtTensorFile *f, const char *name);
/* Number of __metadata__ entries. */
int rt_st_meta_count(const RtTensorFile *f);
/* The i-th metadata key in header order, NULL when out of range. */
const char *rt_st_meta_key(const RtTensorFile *f, int i);
/* The metadata value for key, NULL when absent. */
const char *rt_st_meta(const RtTensorFile *f, const char *key);
/* Reads tensor name into dst after checking that it exists and has exactly
 * the given dtype and shape; the error names the tensor and both shapes, or
 * suggests the nearest name when it is missing. */
int rt_st_read(RtTensorFile *f, const char *name, RtDtype dtype, int ndim, const int64_t *shape, void *dst,
               char *err, size_t errlen);
/* Reads the bytes of tensor t (from rt_st_info/rt_st_find) into dst. */
int rt_st_read_raw(RtTensorFile *f, const RtTensorInfo *t, void *dst, char *err, size_t errlen);
/* Writes n tensors and nmeta metadata entries to path atomically: into
 * "<path>.tmp.<pid>", flushed and fsync'ed, then renamed over path. On any
 * failure the temporary file is removed and a previous file at path is left
 * intact. Layout: by dtype, widest first (I64, F64, F32, I32, U8), then by
 * name, as the reference writer; the header is compact JSON padded with
 * spaces to a multiple of 8 bytes. Output depends only on the tensor set.
 * Two threads of one process must not write the same path at once (they
 * would share the temporary name). */
int rt_st_write(const char *path, const RtTensorOut *tensors, int n, const RtStMeta *meta, int nmeta, char *err,
                size_t errlen);
/* rt_st_write with injected failures (fault may be NULL), for tests. */
int rt_st_write_fault(const char *path, const RtTensorOut *tensors, int n, const RtStMeta *meta, int nmeta,
                      const RtStFault *fault, char *err, size_t errlen);

/* ---- rt_schedule.c ---- */
/* Per-epoch learning-rate and drop-path schedules. */

/* Cosine Power Annealing (sharpdarts.md §7) for epochs e = 1..epochs: writes
 * lr[0] = lr_1, ... into lr (room for `epochs` values) and the number written
 * into *count. p >= 1 is the exponent order (1: rescaled cosine); warmup W >= 0
 * (0: none) ramps linearly over e = 1..W+1 and needs W < epochs. Resuming with
 * start_epoch > 1 and restart_lr false returns lr_{start_epoch}..lr_E (count 0
 * when start_epoch > epochs); otherwise the whole curve. For epochs = 1
 * without warmup the single value is max_lr. */
int rt_cpa_schedule(int epochs, double max_lr, double min_lr, double p, int warmup, int start_epoch, int restart_lr,
                    double *lr, int *count, char *err, size_t errlen);
/* Cosine annealing as PyTorch's CosineAnnealingLR(T_max = epochs) stepped
 * once at the end of each epoch: the epoch with 0-based index e (0..epochs-1)
 * trains at min + (max-min)(1 + cos(pi e / epochs))/2, so the first epoch gets
 * max_lr and the last one a little more than min_lr. The original DARTS loop
 * stepped the scheduler at the start of each epoch, i.e. used e + 1; pass
 * e + 1 (e = epochs gives exactly min_lr) to reproduce it. */
double rt_cosine_lr(int epochs, double max_lr, double min_lr, int e);
/* rt_cosine_lr for e = 0..epochs-1 into lr[0..epochs). */
int rt_cosine_schedule(int epochs, double max_lr, double min_lr, double *lr, char *err, size_t errlen);
/* Drop-path probability for epoch e (numbered from 1) of `epochs`:
 * drop_path_prob * e / epochs (§6.3). Exceeds drop_path_prob when a resumed
 * run's epoch passes `epochs`; 0 when epochs < 1. */
double rt_drop_path_prob(double drop_path_prob, int e, int epochs);

/* ---- rt_dataset.c ---- */
/* Image classification data sets in memory (sharpdarts.md §8): MNIST and
 * Fashion-MNIST IDX files (raw or gzip), CIFAR-10 binary batches, CIFAR-10.1
 * .npy pairs. Loaders fill an RtDataset or return -1 with err naming the file
 * (truncation reports expected and actual bytes); free with rt_dataset_free. */

/* Which half of a data set to load. */
typedef enum RtSplit {
  RT_SPLIT_TRAIN, /* train-*, data_batch_1..5 */
  RT_SPLIT_TEST,  /* t10k-*, test_batch, CIFAR-10.1 */
} RtSplit;

/* A loaded data set. */
typedef struct RtDataset {
  int64_t n;        /* number of images */
  int c, h, w;      /* channels, height, width */
  int num_classes;  /* labels are 0..num_classes-1 */
  uint8_t *pixels;  /* n*c*h*w bytes, NCHW, 0..255 */
  int32_t *labels;  /* n labels */
  const char *name; /* "mnist", "fashion-mnist", "cifar10" or "cifar10.1": picks the RtNorm */
} RtDataset;

/* Per-channel normalization constants of a data set (§8.1, §8.4, §8.5). */
typedef struct RtNorm {
  const char *name; /* data set name */
  int channels;     /* 1 or 3 */
  double mean[3];   /* per channel, on the [0, 1] scale */
  double std[3];    /* per channel */
} RtNorm;

/* Most dimensions of an .npy array. */
#define RT_NPY_MAX_DIMS 8

/* A loaded .npy array of plain numbers. */
typedef struct RtNpy {
  char kind;                       /* 'u', 'i', 'f' or 'b' (numpy dtype kind) */
  int itemsize;                    /* bytes per element: 1, 2, 4 or 8 */
  int big_endian;                  /* data is big-endian ('>' in descr) */
  int fortran_order;               /* column-major data */
  int ndim;                        /* 0 for a scalar */
  int64_t shape[RT_NPY_MAX_DIMS];  /* sizes, outermost first */
  size_t count;                    /* number of elements */
  size_t nbytes;                   /* count * itemsize */
  const unsigned char *data;       /* the elements as stored */
  unsigned char *buf;              /* owned allocation behind data */
} RtNpy;

/* Loads an IDX image file (idx3-ubyte) and its label file (idx1-ubyte), each
 * raw or gzip (detected by magic). Checks magic numbers, dimensions, that the
 * counts match, labels < num_classes, exact file sizes. Sets name "mnist". */
int rt_idx_load(const char *images_path, const char *labels_path, int num_classes, RtDataset *ds, char *err,
                size_t errlen);
/* Loads and concatenates CIFAR-10 binary batches (records of 1 label byte +
 * 3072 CHW pixel bytes). Sets name "cifar10". */
int rt_cifar10_load(const char *const *paths, int npaths, RtDataset *ds, char *err, size_t errlen);
/* Loads CIFAR-10.1: uint8 data [N, 32, 32, 3] (transposed to NCHW) and
 * integer labels [N] (any integer descr, either byte order). Sets name
 * "cifar10.1". */
int rt_cifar101_load(const char *data_path, const char *labels_path, RtDataset *ds, char *err, size_t errlen);
/* Loads a split from what dir holds: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 * (MNIST / Fashion-MNIST), data_batch_1..5.bin / test_batch.bin in dir or
 * dir/cifar-10-batches-bin (CIFAR-10), cifar10.1-{data,labels}.npy or
 * cifar10.1_v6_{data,labels}.npy (CIFAR-10.1, test only). name (NULL or ""
 * for automatic) forces one of "mnist", "fashion-mnist", "cifar10",
 * "cifar10.1". IDX files cannot tell MNIST from Fashion-MNIST: automatic mode
 * calls them "fashion-mnist" when the directory path contains "fashion". */
int rt_dataset_load_dir(const char *dir, const char *name, RtSplit split, RtDataset *ds, char *err, size_t errlen);
/* Frees the data set's arrays and zeroes it (NULL is allowed). */
void rt_dataset_free(RtDataset *ds);
/* Normalization constants by data set name ("mnist", "fashion-mnist",
 * "emnist", "cifar10", "cifar10.1", "svhn", "stl10", "imagenet"), NULL if
 * unknown. ImageNet's are the intended ones, not the HEAD defect's (§8.4). */
const RtNorm *rt_norm_find(const char *name);
/* Converts count images to float NCHW in out (count*c*h*w floats):
 * ((x / 255) - mean[c]) / std[c] in float32 as torchvision does. The images
 * are indices[0..count) or, when indices is NULL, start..start+count-1. */
int rt_dataset_normalize(const RtDataset *ds, const RtNorm *norm, const int64_t *indices, int64_t start,
                         int64_t count, float *out, char *err, size_t errlen);
/* Loads a .npy file (format versions 1-3, raw or gzip) of integer, float or
 * bool elements; checks the header dict and the exact data size. */
int rt_npy_load(const char *path, RtNpy *a, char *err, size_t errlen);
/* Element i of an integer or bool array as int64; -1 if out of range or
 * not an integer type (or a uint64 above INT64_MAX). */
int rt_npy_get_int(const RtNpy *a, size_t i, int64_t *out);
/* Frees an RtNpy and zeroes it (NULL is allowed). */
void rt_npy_free(RtNpy *a);

/* ---- rt_rng.c ---- */
/* A counter-based generator, Philox4x32-10 (Salmon et al., SC'11): every
 * value is a pure function of (seed, stream, counter), so results depend on
 * neither thread count nor call order. Key = seed (64 bits); counter block =
 * (counter low, counter high, stream low, stream high). The stateful RtRng
 * consumes one block per draw; its three fields are its whole state (save
 * them in a checkpoint to resume the exact sequence). */

/* A generator: the next draw uses block (seed, stream, counter). */
typedef struct RtRng {
  uint64_t seed;    /* the run's seed (Philox key) */
  uint64_t stream;  /* independent sequence for one purpose (init, shuffle, augment, ...) */
  uint64_t counter; /* index of the next block; incremented by every draw */
} RtRng;

/* Streams the runtime uses, so that its purposes never share blocks. */
enum {
  RT_STREAM_INIT = 1,     /* weight initialization */
  RT_STREAM_SHUFFLE = 2,  /* per-epoch permutations (epoch in the high bits) */
  RT_STREAM_AUGMENT = 3,  /* per-sample augmentation (epoch in the high bits) */
  RT_STREAM_SAMPLE = 4,   /* per-step random batches (architecture half) */
  RT_STREAM_DROPPATH = 5, /* drop-path masks */
  RT_STREAM_USER = 256,   /* first stream free for callers */
};

/* One Philox4x32-10 block: four 32-bit words of (seed, stream, counter). */
void rt_philox4x32(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]);
/* Stream number of `purpose` (an RT_STREAM_*) in epoch `epoch`. */
uint64_t rt_rng_stream(uint64_t purpose, int64_t epoch);
/* A generator at counter 0. */
RtRng rt_rng_init(uint64_t seed, uint64_t stream);
/* Uniform 32-bit integer. */
uint32_t rt_rng_u32(RtRng *r);
/* Uniform 64-bit integer (two words of one block). */
uint64_t rt_rng_u64(RtRng *r);
/* Uniform float in [0, 1): 24 random bits. */
float rt_rng_uniform(RtRng *r);
/* Uniform float in [lo, hi). */
float rt_rng_uniform_range(RtRng *r, float lo, float hi);
/* Standard normal by Box-Muller on one block (the cosine branch). */
float rt_rng_normal(RtRng *r);
/* Uniform integer in [0, n) for n >= 1 (0 when n == 0): 64 random bits
 * reduced modulo n, bias below n / 2^64. */
uint64_t rt_rng_below(RtRng *r, uint64_t n);
/* 1 with probability p, else 0 (p <= 0: always 0; p >= 1: always 1). */
int rt_rng_bernoulli(RtRng *r, double p);

/* PyTorch's default initialization (sharpdarts.md §0), deterministic but not
 * bitwise equal to torch. fan_in = in_channels/groups * kh * kw for a conv,
 * in_features for a linear layer. */
/* kaiming_uniform_(a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void rt_init_kaiming_uniform(RtRng *r, float *w, size_t n, int64_t fan_in);
/* Bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void rt_init_bias_uniform(RtRng *r, float *b, size_t n, int64_t fan_in);
/* scale * N(0, 1) (architecture parameters: scale 1e-3). */
void rt_init_normal(RtRng *r, float *w, size_t n, float scale);
/* Every element set to value (BN gamma 1, beta 0, running stats). */
void rt_init_const(float *w, size_t n, float value);

/* ---- rt_optim.c ---- */
/* Optimizers on flat float32 arrays with PyTorch 1.13's semantics (the
 * single-tensor CPU path): same update order, float32 element arithmetic,
 * double hyperparameters as Python floats are. The loops call them once per
 * parameter block (or once on the planner's single block). */

/* One gradient (or parameter) array: n floats at p. */
typedef struct RtSpan {
  float *p;  /* the elements */
  size_t n;  /* how many */
} RtSpan;

/* torch.optim.SGD step (dampening 0, no Nesterov) on n elements:
 * d = g + wd*p; buf = d on the first step (first != 0), else
 * buf = momentum*buf + d; p -= lr*buf. With momentum 0 buf is unused (may
 * be NULL) and p -= lr*d. */
void rt_sgd_step(float *p, const float *g, float *buf, size_t n, double lr, double momentum, double weight_decay,
                 int first);
/* torch.optim.Adam step (not AdamW) on n elements; step is the 1-based step
 * number after this update (the bias corrections use it):
 * g' = g + wd*p; m = b1*m + (1-b1)*g'; v = b2*v + (1-b2)*g'^2;
 * p -= lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps). */
void rt_adam_step(float *p, const float *g, float *m, float *v, size_t n, int64_t step, double lr, double beta1,
                  double beta2, double eps, double weight_decay);
/* The global L2 norm over count gradient arrays (accumulated in double). */
double rt_grad_norm(const RtSpan *grads, int count);
/* torch.nn.utils.clip_grad_norm_: total = the global L2 norm; when
 * coef = max_norm/(total + 1e-6) < 1, every gradient is scaled by coef.
 * Returns total (before clipping); a non-finite total leaves the gradients
 * as they are and is returned for the caller to report. */
double rt_clip_grad_norm(const RtSpan *grads, int count, double max_norm);

/* ---- rt_checkpoint.c ---- */
/* Checkpoints: one safetensors file written atomically by rt_st_write (a
 * failed save leaves the previous checkpoint intact) holding any list of
 * named tensors (weights, BN buffers, alphas, optimizer states under
 * "optim.sgd.momentum/<name>", "optim.adam.m/<name>", "optim.adam.v/<name>")
 * and, in __metadata__, the format tag and version, the run state (epoch,
 * step, RNG, source hash), a checksum of all tensor bytes, and any extra
 * key/value pairs the caller adds. Loading checks all of it; every error
 * names the file and, where one is at fault, the tensor. */

/* Version written into "sharprt.checkpoint"; a file with another is rejected. */
#define RT_CKPT_VERSION 1

/* Prefixes of optimizer-state tensors, followed by the parameter's name. */
#define RT_CKPT_SGD_MOMENTUM "optim.sgd.momentum/"
#define RT_CKPT_ADAM_M "optim.adam.m/"
#define RT_CKPT_ADAM_V "optim.adam.v/"

/* One tensor to save or to load into. */
typedef struct RtCkptTensor {
  const char *name;              /* unique name in the file */
  RtDtype dtype;                 /* RT_DTYPE_F32 or RT_DTYPE_I64 (others allowed too) */
  int ndim;                      /* 0 for a scalar */
  int64_t shape[RT_ST_MAX_DIMS]; /* sizes, outermost first */
  void *data;                    /* numel * element size bytes */
  int optional;                  /* load: absent is allowed (*loaded tells) */
  int loaded;                    /* load: set to 1 when read, 0 when absent */
} RtCkptTensor;

/* The run state a resumed run needs besides tensors. */
typedef struct RtCkptState {
  int64_t epoch;          /* epochs completed */
  int64_t step;           /* optimizer steps taken in all (Adam's step count) */
  RtRng rng;              /* the run's generator state */
  char source_hash[72];   /* hash of the .nas source the program was built from ("" if none) */
} RtCkptState;

/* Saves tensors[0..n) with state and nextra extra metadata pairs (keys must
 * not start with "sharprt.") to path atomically. */
int rt_ckpt_save(const char *path, const RtCkptTensor *tensors, int n, const RtCkptState *state,
                 const RtStMeta *extra, int nextra, char *err, size_t errlen);
/* rt_ckpt_save with injected write failures (fault may be NULL), for tests. */
int rt_ckpt_save_fault(const char *path, const RtCkptTensor *tensors, int n, const RtCkptState *state,
                       const RtStMeta *extra, int nextra, const RtStFault *fault, char *err, size_t errlen);
/* Opens a checkpoint and validates its header and metadata: the format tag
 * and version, the state fields (into *state), and, when expect_hash is
 * non-NULL and non-empty, that the source hash matches. Extra metadata is
 * then available through rt_st_meta; close with rt_st_close. */
RtTensorFile *rt_ckpt_open(const char *path, RtCkptState *state, const char *expect_hash, char *err,
                           size_t errlen);
/* Reads tensors[0..n) from an open checkpoint: each must exist (unless
 * optional) with exactly its dtype and shape, the file may hold no tensor
 * that is not asked for, and the checksum of all bytes must match. On
 * failure the destination arrays may have been partly overwritten: do not
 * resume from them. */
int rt_ckpt_read(RtTensorFile *f, const char *path, RtCkptTensor *tensors, int n, char *err, size_t errlen);
/* rt_ckpt_open + rt_ckpt_read + rt_st_close. */
int rt_ckpt_load(const char *path, RtCkptTensor *tensors, int n, RtCkptState *state, const char *expect_hash,
                 char *err, size_t errlen);

/* ---- rt_cuda.c ---- */
/* The device layer. libcuda, libnvrtc and libcudnn are opened with dlopen on
 * first use (never linked), so a program runs without them on the CPU. Every
 * driver / NVRTC / cuDNN call is checked; a failure's message names the call,
 * its error and the runtime source line. Functions return 0 / -1 with err
 * filled (err may be NULL). */

/* Where a program computes. */
typedef enum RtDevice {
  RT_DEVICE_CPU,  /* the reference CPU kernels */
  RT_DEVICE_CUDA, /* GPU 0 through the CUDA driver */
} RtDevice;

/* A device pointer (CUdeviceptr). */
typedef uint64_t RtDevPtr;

/* One source text handed to NVRTC: the main file or an included header. */
typedef struct RtCudaSource {
  const char *name; /* file name as #included / as shown in messages */
  const char *text; /* contents */
} RtCudaSource;

/* How rt_nvrtc_compile compiles. */
typedef struct RtCudaCompile {
  int arch;                     /* 80 for sm_80, ...; 0: the present GPU's */
  const char *cache_dir;        /* NULL: $XDG_CACHE_HOME/sharpc or ~/.cache/sharpc; "": no cache */
  int ptxas_verbose;            /* put ptxas's register/spill report in the log */
  const char *const *extra_opts; /* more NVRTC options (part of the cache key) */
  int nextra;
} RtCudaCompile;

/* A compiled program: a cubin and its kernels' lowered names. */
typedef struct RtCudaImage {
  unsigned char *image; /* cubin for the requested architecture */
  size_t size;          /* bytes of image */
  int nnames;           /* name expressions compiled */
  char **exprs;         /* name expressions, e.g. "relu_fwd<1024>" */
  char **lowered;       /* their mangled names in image */
  char *log;            /* the NVRTC log (warnings, ptxas report) */
  int from_cache;       /* 1 when read from the disk cache */
  uint64_t key;         /* cache key (FNV-1a 64) */
} RtCudaImage;

/* Loaded module of an image on the GPU. */
typedef struct RtCudaModule RtCudaModule;

/* 1 when the CUDA driver loads and reports a GPU; else 0 with the reason in
 * why (may be NULL). The answer is computed once. */
int rt_cuda_available(char *why, size_t whylen);
/* GPU 0's name and architecture (10*major + minor); -1 without a GPU. */
int rt_cuda_device_info(char *name, size_t namelen, int *arch, char *err, size_t errlen);
/* Resolves `--device want` (NULL, "" or "auto": the GPU when there is one;
 * "cpu"; "cuda": the GPU, and an error naming why when none is usable).
 * line gets what a program prints: "device: GPU 0, NVIDIA H100 ... (sm_90)"
 * or "device: CPU (no CUDA GPU: ...)". */
int rt_device_select(const char *want, RtDevice *dev, char *line, size_t linelen, char *err, size_t errlen);
/* NVRTC's version; -1 (naming what to install) when libnvrtc is absent. */
int rt_nvrtc_version(int *major, int *minor, char *err, size_t errlen);
/* cuDNN's version number (e.g. 91300); -1 when libcudnn is absent. */
int rt_cudnn_version(size_t *version, char *err, size_t errlen);
/* Checks that cuDNN answers a call through the checked-call path. */
int rt_cudnn_check(char *err, size_t errlen);
/* FNV-1a 64 of data[0..n) continuing from h (start: 0xcbf29ce484222325). */
uint64_t rt_fnv1a64(const void *data, size_t n, uint64_t h);
/* The default kernel cache folder ($XDG_CACHE_HOME/sharpc or ~/.cache/sharpc). */
int rt_cuda_cache_dir(char *buf, size_t len);
/* Compiles src (with in-memory headers) to a cubin holding the instantiations
 * named by exprs, for opt->arch (no GPU needed) or the present GPU. A cache
 * hit returns the stored image without compiling; a fresh image is stored
 * atomically. Compile errors return -1 with NVRTC's log in err. */
int rt_nvrtc_compile(const RtCudaSource *src, const RtCudaSource *headers, int nheaders, const char *const *exprs,
                     int nexprs, const RtCudaCompile *opt, RtCudaImage **out, char *err, size_t errlen);
/* The lowered name of expr in img, NULL if it was not compiled. */
const char *rt_cuda_image_lowered(const RtCudaImage *img, const char *expr);
/* Frees an image (NULL is allowed). */
void rt_cuda_image_free(RtCudaImage *img);
/* Makes GPU 0's primary context current (once). */
int rt_cuda_init(char *err, size_t errlen);
/* Loads img on the GPU; img must outlive the module. */
int rt_cuda_module_load(const RtCudaImage *img, RtCudaModule **mod, char *err, size_t errlen);
/* Unloads a module (NULL is allowed). */
void rt_cuda_module_free(RtCudaModule *m);
/* The kernel of name expression expr (a CUfunction), NULL on error. */
void *rt_cuda_function(RtCudaModule *m, const char *expr, char *err, size_t errlen);
/* Launches fn with cuLaunchKernel's argument array on the default stream. */
int rt_cuda_launch(void *fn, const unsigned grid[3], const unsigned block[3], void **args, char *err,
                   size_t errlen);
/* Waits for the GPU; reports errors of earlier launches. */
int rt_cuda_sync(char *err, size_t errlen);
/* Device memory: allocate, free, copy in and out, zero. */
int rt_cuda_alloc(RtDevPtr *p, size_t nbytes, char *err, size_t errlen);
void rt_cuda_free(RtDevPtr p);
int rt_cuda_h2d(RtDevPtr dst, const void *src, size_t nbytes, char *err, size_t errlen);
int rt_cuda_d2h(void *dst, RtDevPtr src, size_t nbytes, char *err, size_t errlen);
int rt_cuda_memset0(RtDevPtr dst, size_t nbytes, char *err, size_t errlen);

/* ---- rt_augment.c ---- */
/* Training batches (sharpdarts.md §5.1, §8.1, §8.2): per-sample pad-crop,
 * horizontal flip, AutoAugment sub-policies on the uint8 image, normalization
 * and cutout, each sample's randomness drawn from its own RtRng keyed by
 * (seed, epoch, sample index), so a batch is the same whatever the thread
 * count or batch composition. Plus the deterministic per-epoch permutations
 * and the search split. */

/* AutoAugment operations (§8.2); magnitudes m = 0..9. */
typedef enum RtAaOp {
  RT_AA_SHEAR_X,      /* x += v*y, v = 0.3*m/9, random sign, bicubic */
  RT_AA_SHEAR_Y,      /* y += v*x, likewise */
  RT_AA_TRANSLATE_X,  /* shift by (150/331)*m/9 * width, random sign, nearest */
  RT_AA_TRANSLATE_Y,  /* shift by (150/331)*m/9 * height, random sign, nearest */
  RT_AA_ROTATE,       /* 30*m/9 degrees counter-clockwise (always positive), nearest */
  RT_AA_COLOR,        /* saturation: blend with the grey image, factor 1 +- 0.9*m/9 */
  RT_AA_POSTERIZE,    /* keep round(8 - 4*m/9) high bits */
  RT_AA_SOLARIZE,     /* invert pixels >= 256 - 256*m/9 */
  RT_AA_CONTRAST,     /* blend with the mean grey level, factor 1 +- 0.9*m/9 */
  RT_AA_SHARPNESS,    /* blend with a 3x3 smoothed image, factor 1 +- 0.9*m/9 */
  RT_AA_BRIGHTNESS,   /* blend with black, factor 1 +- 0.9*m/9 */
  RT_AA_AUTOCONTRAST, /* stretch each channel to 0..255 */
  RT_AA_EQUALIZE,     /* histogram equalization per channel */
  RT_AA_INVERT,       /* 255 - x */
  RT_AA_CUTOUT,       /* a no-op inside the policy (§8.2) */
  RT_AA_COUNT
} RtAaOp;

/* One sub-policy: op1 with probability p1 at magnitude m1, then op2. */
typedef struct RtAaSubPolicy {
  RtAaOp op1;
  float p1;
  int m1;
  RtAaOp op2;
  float p2;
  int m2;
} RtAaSubPolicy;

/* What to do to each training sample, in this order. */
typedef struct RtAugment {
  int pad;                      /* random crop back to HxW after padding by pad (0: none) */
  int pad_fill;                 /* padding value: 0 (plain pipeline) or 128 (with AutoAugment) */
  int flip;                     /* horizontal flip with probability 0.5 */
  const RtAaSubPolicy *policy;  /* AutoAugment sub-policies, one drawn per image (NULL: none) */
  int npolicy;                  /* number of sub-policies */
  int cutout;                   /* cutout side length after normalization (0: none) */
} RtAugment;

/* Name of an AutoAugment op ("ShearX", ...), NULL when out of range. */
const char *rt_aa_op_name(RtAaOp op);
/* The op named name, ignoring case ("ShearX", "translateY", "autocontrast"):
 * the spellings of the published policy tables. RT_AA_COUNT when none. */
RtAaOp rt_aa_op_find(const char *name);
/* Applies op at magnitude m (0..9) to one uint8 image, planar (c planes of
 * h*w; c is 1 or 3), drawing its random sign from r. -1 on a bad argument. */
int rt_aa_apply(RtAaOp op, int m, RtRng *r, uint8_t *img, int c, int h, int w);
/* The §8.1 CIFAR-10 training augmentation: crop 32 with padding 4 (fill 128
 * with a policy, 0 without), flip, the given policy (NULL: none), cutout. */
RtAugment rt_augment_cifar10(int cutout, const RtAaSubPolicy *policy, int npolicy);
/* Builds a batch from images indices[0..count): x (count*c*h*w floats,
 * NCHW) normalized with norm, y (count labels, may be NULL). aug NULL means
 * evaluation (normalize only). Sample i's randomness comes from
 * RtRng {seed, rt_rng_stream(RT_STREAM_AUGMENT, epoch), indices[i] << 24}:
 * a sample drawn twice in one epoch is augmented the same way twice; pass
 * another epoch key to vary it. Runs samples in parallel under OpenMP. */
int rt_augment_batch(const RtDataset *ds, const RtNorm *norm, const int64_t *indices, int64_t count,
                     const RtAugment *aug, uint64_t seed, int64_t epoch, float *x, int32_t *y, char *err,
                     size_t errlen);
/* A permutation of first..first+n-1 into out[0..n), a function of (seed,
 * epoch, purpose) only (Fisher-Yates on RtRng stream (purpose, epoch)). */
void rt_shuffle(uint64_t seed, int64_t epoch, uint64_t purpose, int64_t first, int64_t n, int64_t *out);
/* The search split (§5.1): the first floor(portion*n) images train the
 * weights, the rest the architecture. */
typedef struct RtSearchSplit {
  int64_t train_first, train_n; /* weight half: [train_first, train_first + train_n) */
  int64_t valid_first, valid_n; /* architecture half */
} RtSearchSplit;
/* Fills s for n images and train portion in (0, 1) (sharpDARTS: 0.5). */
int rt_search_split(int64_t n, double portion, RtSearchSplit *s, char *err, size_t errlen);
/* The weight half's order for one epoch (a fresh permutation, purpose
 * RT_STREAM_SHUFFLE) and, when valid_order is non-NULL, one of the
 * architecture half (purpose RT_STREAM_SHUFFLE + 16). */
void rt_search_epoch_order(uint64_t seed, int64_t epoch, const RtSearchSplit *s, int64_t *train_order,
                           int64_t *valid_order);
/* The first `batch` images of a fresh permutation of first..first+n-1 keyed
 * by (seed, epoch, step): the architecture batch of §5.3, drawn without
 * replacement within a batch and with replacement across steps. */
void rt_sample_batch(uint64_t seed, int64_t epoch, int64_t step, int64_t first, int64_t n, int64_t batch,
                     int64_t *out);

/* ---- rt_autoaugment_policies.c ---- */
/* The published AutoAugment policies (§8.2) as tables of sub-policies; one
 * is drawn uniformly per image (RtAugment.policy). */
enum {
  RT_AA_CIFAR10_SUBPOLICIES = 95, /* TF AutoAugment sets exp0_0..exp0_3, exp1_0..exp1_6, exp2_0..exp2_7, 5 each */
  RT_AA_IMAGENET_SUBPOLICIES = 24 /* the standard ImageNet sub-policies */
};
/* The policy of data set `dataset` ("cifar10" or "imagenet", as RtDataset
 * and RtNorm name them) and its number of sub-policies in *n; NULL and
 * *n = 0 for a data set the spec gives no policy (MNIST, Fashion-MNIST, ...). */
const RtAaSubPolicy *rt_aa_policy_for(const char *dataset, int *n);

/* ---- rt_progress.c ---- */
#include <stdio.h>

/* The progress reporter. On a terminal: one line redrawn in place (epoch
 * e/E, step s/S, loss, accuracy, images/s, ETA) at most every 0.1 s. Else
 * (a log file, a pipe): one line per finished epoch. */

/* A reporter; fill it with rt_progress_init. */
typedef struct RtProgress {
  FILE *out;             /* where to write (stderr) */
  int tty;               /* redraw in place */
  int epochs;            /* E */
  int64_t steps;         /* S, steps per epoch */
  double (*clock)(void); /* seconds, monotonic (tests substitute their own) */
  double t_start;        /* clock at init */
  double t_epoch;        /* clock at the previous epoch's end (or init) */
  double t_drawn;        /* clock at the last redraw */
  int64_t done_steps;    /* steps reported since init */
  int64_t epoch_images;  /* images in the current epoch so far */
  int line_len;          /* characters of the line now on screen */
  int redraws;           /* number of redraws so far */
} RtProgress;

/* Seconds from a monotonic clock. */
double rt_clock_seconds(void);
/* Sets p up for epochs x steps_per_epoch; tty: 1 or 0 to force, -1 to ask
 * isatty on out. */
void rt_progress_init(RtProgress *p, FILE *out, int epochs, int64_t steps_per_epoch, int tty);
/* Reports step `step` (1-based) of epoch `epoch` (1-based) with the running
 * loss and accuracy (0..1) and the batch's image count. Redraws the line on
 * a terminal when 0.1 s have passed or on the epoch's last step. */
void rt_progress_step(RtProgress *p, int epoch, int64_t step, double loss, double acc, int64_t images);
/* Ends an epoch: on a terminal finishes the line; otherwise prints one
 * line "epoch e/E loss .. acc .. img/s .. time .. ETA ..". extra (may be
 * NULL) is appended, e.g. "valid_acc 0.8416 lr 0.025". */
void rt_progress_epoch_end(RtProgress *p, int epoch, double loss, double acc, const char *extra);
/* Formats seconds as "1h02m03s" / "2m03s" / "3s" into buf. */
void rt_format_duration(double seconds, char *buf, size_t len);

/* ---- rt_spin.c ---- */
/* The OpenMP spin count (GOMP_SPINCOUNT) for this run: 10,000 when the
 * other processes leave the CPUs idle over a 50 ms look at /proc/stat,
 * else (or without /proc/stat) 1,000. */
int rt_spin_count(void);

/* ---- rt_signal.c ---- */
/* SIGINT/SIGTERM: the first sets a flag that the loops poll to write a
 * checkpoint and exit; a second one exits at once (status 128 + signal). */

/* Installs the handlers; 0 or -1 with err. */
int rt_signal_install(char *err, size_t errlen);
/* The signal number received (SIGINT, SIGTERM) or 0. */
int rt_signal_pending(void);
/* Forgets a received signal (tests; a loop that chose to go on). */
void rt_signal_clear(void);

/* ---- rt_json.c ---- */
/* Logs: log.jsonl (one JSON object per line) and CSV tables (alphas.csv).
 * Strings are escaped; JSON numbers that are not finite are written as null
 * (JSON has no NaN). Appends open, write, flush and close the file so that a
 * crash loses at most the line being written. */

/* A JSON object being built. Any append that runs out of memory marks it
 * failed, and rt_json_write then reports it. */
typedef struct RtJson {
  char *buf;    /* the text so far, NUL-terminated */
  size_t len;   /* its length */
  size_t cap;   /* allocated bytes */
  int count;    /* members so far */
  int failed;   /* an allocation failed */
} RtJson;

/* Starts an empty object. */
void rt_json_init(RtJson *j);
/* Frees the text. */
void rt_json_free(RtJson *j);
/* Adds "key": number (%.17g; integers exactly). */
void rt_json_num(RtJson *j, const char *key, double v);
/* Adds "key": integer. */
void rt_json_int(RtJson *j, const char *key, int64_t v);
/* Adds "key": "string" (NULL writes null). */
void rt_json_str(RtJson *j, const char *key, const char *s);
/* Adds "key": true/false. */
void rt_json_bool(RtJson *j, const char *key, int v);
/* Adds "key": [numbers] from doubles. */
void rt_json_num_array(RtJson *j, const char *key, const double *v, size_t n);
/* Adds "key": [numbers] from floats (%.9g, exact for float32). */
void rt_json_float_array(RtJson *j, const char *key, const float *v, size_t n);
/* Adds "key": ["strings"]. */
void rt_json_str_array(RtJson *j, const char *key, const char *const *v, size_t n);
/* The object's text, "{...}" (valid until the next change). */
const char *rt_json_text(RtJson *j);
/* Appends the object as one line to path. */
int rt_json_append(const char *path, RtJson *j, char *err, size_t errlen);
/* Appends one CSV row (RFC 4180: fields with a comma, quote, CR or LF are
 * quoted, quotes doubled; NULL is an empty field) to path. */
int rt_csv_append(const char *path, const char *const *fields, int n, char *err, size_t errlen);
/* Appends a row of leading text fields followed by numbers (%.9g). */
int rt_csv_append_numbers(const char *path, const char *const *lead, int nlead, const double *v, int n, char *err,
                          size_t errlen);

#endif
