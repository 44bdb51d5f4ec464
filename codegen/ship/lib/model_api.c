/* ---- the model on the CPU: creation, arena, release ----
 * (from sharpc's codegen/ship/lib/model_api.c, the same in every model.c) */

struct model {
    real *params; /* MODEL_PARAMS floats, folded from the weights file */
    real *arena;  /* max_batch * MODEL_ARENA_FLOATS floats: every activation */
    int max_batch;
};

const char *model_last_error(const model_t *m)
{
    (void)m;
    return ""; /* the CPU forward cannot fail */
}

static model_t *m_create(const unsigned char *data, size_t size, const char *what, int max_batch, char *err,
                         size_t errsize)
{
    model_t *m = (model_t *)calloc(1, sizeof *m);
    if (m) {
        m->max_batch = max_batch;
        m->params = (real *)malloc(sizeof(real) * (MODEL_PARAMS + 1));
        m->arena = (real *)malloc(sizeof(real) * (size_t)max_batch * (MODEL_ARENA_FLOATS + 1));
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
