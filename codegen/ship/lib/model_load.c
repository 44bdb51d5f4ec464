/* ---- weights: reading a safetensors file and folding it ----
 * (from sharpc's codegen/ship/lib/model_load.c, the same in every model.c
 * and model.cu: C99 that is also valid C++)
 *
 * A safetensors file is an 8-byte little-endian header length, a JSON
 * header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
 * ...} and the data. m_load() checks every tensor the network needs (name,
 * dtype F32, shape, offsets inside the file, finite values), ignores the
 * others (the auxiliary head, BN counters), then runs the fold steps that
 * turn the state_dict into this model's parameters: a convolution followed
 * by batch norm becomes one convolution with a bias, w' = w * s and
 * b' = beta - mean * s with s = gamma / sqrt(var + eps); a batch norm with
 * no convolution before it becomes a per-channel scale and shift. */

typedef struct {
    const char *name;
    int rank;
    long shape[4];
} MTensor;

enum { M_FOLD_COPY, M_FOLD_CONV_BN, M_FOLD_BN };

typedef struct {
    int kind;
    int w;                  /* COPY, CONV_BN: source tensor */
    int gamma, beta;        /* CONV_BN, BN: affine tensors, or -1 */
    int mean, var;          /* CONV_BN, BN: running statistics */
    double eps;
    long c0, co;            /* channels [c0, c0 + co) of the batch norm */
    long k;                 /* CONV_BN: weights per output channel */
    long dst, bdst;         /* offsets in the parameters: weights (scale), bias (shift) */
} MFold;

typedef struct {
    const unsigned char *p, *end;
    const char *what;       /* the file, for messages */
    char *err;
    size_t errsize;
    int failed;
} MJson;

static int m_fail(MJson *j, const char *msg)
{
    if (!j->failed)
        snprintf(j->err, j->errsize, "%s: header is not valid safetensors JSON: %s", j->what, msg);
    j->failed = 1;
    return -1;
}

static void m_ws(MJson *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int m_expect(MJson *j, char c)
{
    m_ws(j);
    if (j->p >= j->end || *j->p != (unsigned char)c) {
        char msg[64];
        snprintf(msg, sizeof msg, "expected '%c'", c);
        return m_fail(j, msg);
    }
    j->p++;
    return 0;
}

/* After an element of an object or array: 1 when a ',' follows (more
 * elements), 0 when the closing character does, -1 (failed) otherwise. */
static int m_more(MJson *j, char close)
{
    m_ws(j);
    if (j->p < j->end && *j->p == ',') {
        j->p++;
        return 1;
    }
    return m_expect(j, close) ? -1 : 0;
}

/* Reads a string into buf, or skips it when buf is NULL (an escape keeps
 * the character after the backslash). */
static int m_string(MJson *j, char *buf, size_t size)
{
    size_t n = 0;
    if (m_expect(j, '"')) return -1;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = *j->p++;
        if (c == '\\') {
            if (j->p >= j->end) break;
            c = *j->p++;
        }
        if (!buf) continue;
        if (n + 1 < size) buf[n++] = (char)c;
        else return m_fail(j, "a name is too long");
    }
    if (j->p >= j->end) return m_fail(j, "unterminated string");
    j->p++;
    if (buf) buf[n] = 0;
    return 0;
}

static int m_int(MJson *j, long *v)
{
    m_ws(j);
    long x = 0;
    int digits = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (x > (LONG_MAX - 9) / 10) return m_fail(j, "a number is too large");
        x = x * 10 + (*j->p++ - '0');
        digits++;
    }
    if (!digits) return m_fail(j, "expected a non-negative integer");
    *v = x;
    return 0;
}

/* Reads [a, b, ...] of at most max integers; returns the count or -1. */
static int m_ints(MJson *j, long *v, int max)
{
    int n = 0;
    if (m_expect(j, '[')) return -1;
    m_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        long x;
        if (m_int(j, &x)) return -1;
        if (n >= max) return m_fail(j, "too many dimensions");
        v[n++] = x;
        int more = m_more(j, ']');
        if (more < 0) return -1;
        if (!more) return n;
    }
}

/* Skips any JSON value (used for __metadata__ and unknown keys). */
static int m_skip(MJson *j, int depth)
{
    m_ws(j);
    if (depth > 32) return m_fail(j, "nested too deeply");
    if (j->p >= j->end) return m_fail(j, "unexpected end");
    unsigned char c = *j->p;
    if (c == '"') return m_string(j, NULL, 0);
    if (c == '{' || c == '[') {
        unsigned char close = c == '{' ? '}' : ']';
        j->p++;
        m_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (c == '{' && (m_string(j, NULL, 0) || m_expect(j, ':'))) return -1;
            if (m_skip(j, depth + 1)) return -1;
            int more = m_more(j, (char)close);
            if (more <= 0) return more;
        }
    }
    while (j->p < j->end && *j->p != ',' && *j->p != '}' && *j->p != ']') j->p++;
    return 0;
}

static float m_f32le(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void m_shape_str(char *buf, size_t size, int rank, const long *d)
{
    size_t n = 0;
    buf[n++] = '[';
    buf[n] = 0;
    for (int i = 0; i < rank && n + 24 < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%ld", i ? "," : "", d[i]);
    snprintf(buf + n, size - n, "]");
}

/* The entry of tensor `name` (want_t in the table): {"dtype", "shape",
 * "data_offsets"} checked against the table, the offsets against the data
 * (dsize bytes), the values for NaN and infinity; *at = its data. */
static int m_entry(MJson *j, const char *name, const MTensor *want_t, const unsigned char *data, size_t dsize,
                   const unsigned char **at)
{
    char dtype[16] = "";
    long shape[8], off[2] = { -1, -1 };
    int rank = -1;
    if (m_expect(j, '{')) return -1;
    for (;;) {
        char key[64];
        if (m_string(j, key, sizeof key) || m_expect(j, ':')) return -1;
        if (strcmp(key, "dtype") == 0) {
            if (m_string(j, dtype, sizeof dtype)) return -1;
        } else if (strcmp(key, "shape") == 0) {
            if ((rank = m_ints(j, shape, 8)) < 0) return -1;
        } else if (strcmp(key, "data_offsets") == 0) {
            if (m_ints(j, off, 2) != 2) {
                m_fail(j, "data_offsets needs two integers");
                return -1;
            }
        } else if (m_skip(j, 0)) {
            return -1;
        }
        int more = m_more(j, '}');
        if (more < 0) return -1;
        if (!more) break;
    }
    char got[96], want[96];
    m_shape_str(got, sizeof got, rank < 0 ? 0 : rank, shape);
    m_shape_str(want, sizeof want, want_t->rank, want_t->shape);
    long numel = 1;
    for (int i = 0; i < want_t->rank; i++) numel *= want_t->shape[i];
    int same = rank == want_t->rank;
    for (int i = 0; same && i < rank; i++) same = shape[i] == want_t->shape[i];
    if (strcmp(dtype, "F32") != 0) {
        snprintf(j->err, j->errsize, "%s: tensor '%s' has dtype %s, the model needs F32", j->what, name,
                 dtype[0] ? dtype : "(none)");
        return -1;
    }
    if (!same) {
        snprintf(j->err, j->errsize, "%s: tensor '%s' has shape %s, the model needs %s", j->what, name, got,
                 want);
        return -1;
    }
    if (off[0] < 0 || off[1] < off[0] || (unsigned long)(off[1] - off[0]) != 4ul * (unsigned long)numel) {
        snprintf(j->err, j->errsize, "%s: tensor '%s' has data_offsets [%ld, %ld], not %ld floats", j->what,
                 name, off[0], off[1], numel);
        return -1;
    }
    if ((unsigned long)off[1] > dsize) {
        snprintf(j->err, j->errsize, "%s: the data of tensor '%s' ends at byte %ld of %lu (truncated)",
                 j->what, name, off[1], (unsigned long)dsize);
        return -1;
    }
    for (long i = 0; i < numel; i++) {
        float v = m_f32le(data + off[0] + 4 * i);
        if (v != v || v - v != 0) {
            snprintf(j->err, j->errsize, "%s: tensor '%s' holds a NaN or infinity at element %ld", j->what,
                     name, i);
            return -1;
        }
    }
    *at = data + off[0];
    return 0;
}

/* Checks the file in buf against the tensors ts and folds it into params.
 * Returns 0, or -1 with a message naming the file (what) in err. */
static int m_load(const unsigned char *buf, size_t size, const char *what, const MTensor *ts, int nt,
                  const MFold *fs, int nf, float *params, char *err, size_t errsize)
{
    if (size < 8) {
        snprintf(err, errsize, "%s: %lu bytes, too short for a safetensors file (truncated?)", what,
                 (unsigned long)size);
        return -1;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > size - 8) {
        snprintf(err, errsize, "%s: the header claims %llu bytes but the file has %lu after the length "
                               "(truncated, or not a safetensors file)",
                 what, (unsigned long long)hlen, (unsigned long)(size - 8));
        return -1;
    }
    const unsigned char *data = buf + 8 + hlen;
    size_t dsize = size - 8 - (size_t)hlen;
    const unsigned char **where = (const unsigned char **)calloc((size_t)nt + 1, sizeof *where);
    if (!where) {
        snprintf(err, errsize, "%s: out of memory", what);
        return -1;
    }
    MJson j = { buf + 8, buf + 8 + hlen, what, err, errsize, 0 };
    int rc = -1;
    if (m_expect(&j, '{')) goto done;
    m_ws(&j);
    if (j.p < j.end && *j.p == '}') j.p++;
    else
        for (;;) {
            char name[256];
            if (m_string(&j, name, sizeof name) || m_expect(&j, ':')) goto done;
            int t = -1;
            for (int i = 0; i < nt; i++)
                if (strcmp(ts[i].name, name) == 0) t = i;
            if (t < 0 ? m_skip(&j, 0) : m_entry(&j, name, &ts[t], data, dsize, &where[t])) goto done;
            int more = m_more(&j, '}');
            if (more < 0) goto done;
            if (!more) break;
        }
    for (int t = 0; t < nt; t++)
        if (!where[t]) {
            snprintf(err, errsize, "%s: tensor '%s' is missing (is this the weights file of this network?)", what,
                     ts[t].name);
            goto done;
        }
    for (int i = 0; i < nf; i++) {
        const MFold *f = &fs[i];
        if (f->kind == M_FOLD_COPY) {
            long n = 1;
            for (int d = 0; d < ts[f->w].rank; d++) n *= ts[f->w].shape[d];
            for (long e = 0; e < n; e++) params[f->dst + e] = m_f32le(where[f->w] + 4 * e);
            continue;
        }
        for (long c = 0; c < f->co; c++) {
            long ch = f->c0 + c;
            double g = f->gamma >= 0 ? m_f32le(where[f->gamma] + 4 * ch) : 1.0;
            double b = f->beta >= 0 ? m_f32le(where[f->beta] + 4 * ch) : 0.0;
            double var = m_f32le(where[f->var] + 4 * ch), mean = m_f32le(where[f->mean] + 4 * ch);
            if (var < 0) {
                snprintf(err, errsize, "%s: tensor '%s' has a negative variance at channel %ld", what,
                         ts[f->var].name, ch);
                goto done;
            }
            /* the same rounding as PyTorch: invstd = 1 / sqrt(var + eps) in float */
            double s = g * (double)(1.0f / (float)sqrt((double)(float)(var + f->eps)));
            if (f->kind == M_FOLD_CONV_BN) {
                for (long e = 0; e < f->k; e++)
                    params[f->dst + c * f->k + e] = (float)(m_f32le(where[f->w] + 4 * (c * f->k + e)) * s);
            } else {
                params[f->dst + c] = (float)s;
            }
            params[f->bdst + c] = (float)(b - mean * s);
        }
    }
    rc = 0;
done:
    free(where);
    return rc;
}
