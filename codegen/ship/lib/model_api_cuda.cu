/* ---- the model on the GPU: creation, device memory, release ----
 * (from sharpc's codegen/ship/lib/model_api_cuda.cu, the same in every
 * model.cu). The weights are folded on the host, then copied to the device;
 * the images of a chunk are copied in, the logits copied out. Every CUDA
 * call is checked; a failure names the call, file and line. */

struct model {
    real *params; /* device: MODEL_PARAMS floats, folded */
    real *arena;  /* device: max_batch * MODEL_ARENA_FLOATS floats */
    real *x, *y;  /* device: one chunk of images and of logits */
    int max_batch;
    char err[512];
};

const char *model_last_error(const model_t *m)
{
    return m->err;
}

/* 0 when e is cudaSuccess; else the message in err and -1. */
static int m_cuda(cudaError_t e, const char *call, const char *file, int line, char *err, size_t errsize)
{
    if (e == cudaSuccess) return 0;
    snprintf(err, errsize, "%s failed at %s:%d: %s (%s)", call, file, line, cudaGetErrorString(e),
             cudaGetErrorName(e));
    return -1;
}
#define M_CUDA(call, err, errsize) m_cuda((call), #call, __FILE__, __LINE__, (err), (errsize))

static model_t *m_create(const unsigned char *data, size_t size, const char *what, int max_batch, char *err,
                         size_t errsize)
{
    model_t *m = (model_t *)calloc(1, sizeof *m);
    real *host = (real *)malloc(sizeof(real) * (MODEL_PARAMS + 1));
    if (!m || !host) {
        snprintf(err, errsize, "model_create: out of host memory");
        free(host);
        free(m);
        return NULL;
    }
    m->max_batch = max_batch;
    size_t in = (size_t)MODEL_IN_C * MODEL_IN_H * MODEL_IN_W;
    if (m_load(data, size, what, m_tensors, M_NTENSORS, m_folds, M_NFOLDS, host, err, errsize) ||
        M_CUDA(cudaMalloc((void **)&m->params, sizeof(real) * (MODEL_PARAMS + 1)), err, errsize) ||
        M_CUDA(cudaMalloc((void **)&m->arena, sizeof(real) * (size_t)max_batch * (MODEL_ARENA_FLOATS + 1)), err,
               errsize) ||
        M_CUDA(cudaMalloc((void **)&m->x, sizeof(real) * (size_t)max_batch * in), err, errsize) ||
        M_CUDA(cudaMalloc((void **)&m->y, sizeof(real) * (size_t)max_batch * MODEL_CLASSES), err, errsize) ||
        M_CUDA(cudaMemcpy(m->params, host, sizeof(real) * MODEL_PARAMS, cudaMemcpyHostToDevice), err, errsize)) {
        free(host);
        model_free(m);
        return NULL;
    }
    free(host);
    return m;
}

size_t model_arena_bytes(const model_t *m)
{
    return sizeof(real) * (size_t)m->max_batch * MODEL_ARENA_FLOATS;
}

void model_free(model_t *m)
{
    if (!m) return;
    cudaFree(m->params);
    cudaFree(m->arena);
    cudaFree(m->x);
    cudaFree(m->y);
    free(m);
}

/* Grid of kernel k with template arguments a at batch N (cuda_kernels.h). */
static dim3 m_grid(KcKernel k, const int *a, int N)
{
    KcLaunch l;
    kc_launch(k, a, N, &l);
    return dim3(l.grid[0], l.grid[1], l.grid[2]);
}
