/* ---- creating a model from a file, memory or the embedded weights ----
 * (from sharpc's codegen/ship/lib/model_create.c, the same in every model.c
 * and model.cu; m_create is the target's, called with a checked max_batch) */

static model_t *m_create_batch(const unsigned char *data, size_t size, const char *what, int max_batch, char *err,
                               size_t errsize)
{
    if (max_batch < 1 || (size_t)max_batch > (size_t)-1 / sizeof(real) / (MODEL_ARENA_FLOATS + 1)) {
        snprintf(err, errsize, "model_create: max_batch %d is out of range", max_batch);
        return NULL;
    }
    return m_create(data, size, what, max_batch, err, errsize);
}

model_t *model_create_from_memory(const void *data, size_t size, int max_batch, char *err, size_t errsize)
{
    return m_create_batch((const unsigned char *)data, size, "weights in memory", max_batch, err, errsize);
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
            unsigned char *nb = (unsigned char *)realloc(buf, ncap);
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
    model_t *m = m_create_batch(buf, len, weights_path, max_batch, err, errsize);
    free(buf);
    return m;
}

#if MODEL_EMBEDDED_WEIGHTS
extern const unsigned char model_weights_data[];
extern const size_t model_weights_size;

model_t *model_create_embedded(int max_batch, char *err, size_t errsize)
{
    return m_create_batch(model_weights_data, model_weights_size, "embedded weights (model_weights.c)", max_batch, err,
                    errsize);
}
#endif

