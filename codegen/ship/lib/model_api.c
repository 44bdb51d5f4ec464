/* ---- the model: creation, arena, release ----
 * (from sharpc's codegen/ship/lib/model_api.c, the same in every model.c) */

struct model {
    real *params; /* MODEL_PARAMS floats, folded from the weights file */
    real *arena;  /* max_batch * MODEL_ARENA_FLOATS floats: every activation */
    int max_batch;
};

static model_t *m_create(const unsigned char *data, size_t size, const char *what, int max_batch, char *err,
                         size_t errsize)
{
    if (max_batch < 1 || (size_t)max_batch > (size_t)-1 / sizeof(real) / (MODEL_ARENA_FLOATS + 1)) {
        snprintf(err, errsize, "model_create: max_batch %d is out of range", max_batch);
        return NULL;
    }
    model_t *m = calloc(1, sizeof *m);
    if (m) {
        m->max_batch = max_batch;
        m->params = malloc(sizeof(real) * (MODEL_PARAMS + 1));
        m->arena = malloc(sizeof(real) * (size_t)max_batch * (MODEL_ARENA_FLOATS + 1));
    }
    if (!m || !m->params || !m->arena) {
        snprintf(err, errsize, "model_create: out of memory for %d images (%lu bytes of arena)", max_batch,
                 (unsigned long)(sizeof(real) * (size_t)max_batch * MODEL_ARENA_FLOATS));
        model_free(m);
        return NULL;
    }
    if (m_load(data, size, what, m_tensors, M_NTENSORS, m_folds, M_NFOLDS, m->params, err, errsize)) {
        model_free(m);
        return NULL;
    }
    return m;
}

model_t *model_create_from_memory(const void *data, size_t size, int max_batch, char *err, size_t errsize)
{
    return m_create(data, size, "weights in memory", max_batch, err, errsize);
}

model_t *model_create(const char *weights_path, int max_batch, char *err, size_t errsize)
{
    FILE *f = fopen(weights_path, "rb");
    if (!f) {
        snprintf(err, errsize, "%s: cannot open: %s", weights_path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                snprintf(err, errsize, "%s: out of memory reading it", weights_path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (k == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, errsize, "%s: read error", weights_path);
        free(buf);
        return NULL;
    }
    model_t *m = m_create(buf, len, weights_path, max_batch, err, errsize);
    free(buf);
    return m;
}

#if MODEL_EMBEDDED_WEIGHTS
extern const unsigned char model_weights_data[];
extern const size_t model_weights_size;

model_t *model_create_embedded(int max_batch, char *err, size_t errsize)
{
    return m_create(model_weights_data, model_weights_size, "embedded weights (model_weights.c)", max_batch, err,
                    errsize);
}
#endif

size_t model_arena_bytes(const model_t *m)
{
    return sizeof(real) * (size_t)m->max_batch * MODEL_ARENA_FLOATS;
}

void model_free(model_t *m)
{
    if (!m) return;
    free(m->params);
    free(m->arena);
    free(m);
}
