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
 * spaces to a multiple of 8 bytes. Output depends only on the tensor set. */
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

#endif
