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

#endif
