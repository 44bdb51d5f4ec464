/* rt_loops.c: the search loop (sharpdarts.md §5: first and second order,
 * Adam on the alphas, SGD with clipping on the weights under Cosine Power
 * Annealing or cosine) and the final-training loop (§6.3, §6.5: auxiliary
 * loss, drop path, cutout, evaluation on the test set every epoch). Both
 * write log.jsonl and checkpoints into --out; the search also alphas.csv and
 * genotype.nas, the training weights.safetensors (last) and
 * weights.best.safetensors. Every random draw is a function of (seed, epoch,
 * step, sample), so a resumed run repeats an uninterrupted one bit for bit.
 *
 * With --device cuda (or ref) the steps, the evaluation and the optimizers
 * run on the device loop (device/rt_dev.h); the host keeps the parameters
 * and optimizer states as mirrors, read back before anything is written
 * (mirror_get) and sent after initializing or resuming (mirror_put). The
 * next batch is prepared on the CPU while the device computes the last. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_kernels.h"
#include "rt_check.h"
#include "rt_run.h"
#include "sharprt.h"
#ifndef SHARPRT_NO_CUDA
#include "rt_dev.h"
#else
typedef struct RtDev RtDev;
#endif

typedef struct {
    const RtNetDesc *d;
    RtConfig *c;
    RtNet *net;
    RtDataset train, test;
    RtDataset test101;         /* CIFAR-10.1, when its files are in --data */
    int has101;
    const RtNorm *norm;
    RtAugment aug;
    int64_t ntrain, ntest;
    float *x;
    int32_t *y;
    float *mask;
    float *mom;                /* SGD momentum of the weights */
    float *am, *av;            /* Adam moments of the alphas */
    int sgd_first;
    int64_t adam_step, gstep;  /* Adam steps; global weight steps */
    double *lr;
    int epoch;                 /* epochs completed */
    int ckpt_epochs;           /* the resumed run's epochs (its checkpoint), 0 if not known */
    int64_t step_in_epoch;     /* steps of the current epoch done (resume) */
    double loss_sum, best_acc;
    int64_t correct, seen;
    RtDev *dev;                /* the device loop, or NULL on the CPU */
    struct {                   /* the last step's outcome (step_begin) */
        double loss, loss_main;
        int64_t top1;
    } out;
    char path[1200];
    char err[1024];
} Run;

/* ---- set-up ---- */

static const char *default_dir(const char *dataset)
{
    if (!strcmp(dataset, "fashion-mnist")) return "/usr/share/datasets/fashion-mnist";
    if (!strcmp(dataset, "mnist")) return "/usr/share/datasets/mnist";
    return NULL;
}

static int load_data(Run *R)
{
    RtConfig *c = R->c;
    const RtNetDesc *d = R->d;
    if (!c->data[0]) {
        const char *dir = default_dir(c->dataset);
        if (!dir) {
            snprintf(R->err, sizeof R->err, "no data: give --data DIR (CIFAR-10 binary batches, MNIST / Fashion-MNIST IDX)");
            return -1;
        }
        snprintf(c->data, sizeof c->data, "%s", dir);
    }
    const char *name = c->dataset[0] ? c->dataset : NULL;
    if (rt_dataset_load_dir(c->data, name, RT_SPLIT_TRAIN, &R->train, R->err, sizeof R->err)) return -1;
    if (rt_dataset_load_dir(c->data, name, RT_SPLIT_TEST, &R->test, R->err, sizeof R->err)) return -1;
    if (R->train.c != d->in_c || R->train.h != d->in_h || R->train.w != d->in_w || R->train.num_classes > d->classes) {
        return rt_errf(R->err, sizeof R->err,
                       "%s: the data set has %dx%dx%d images in %d classes; network %s takes %dx%dx%d in %d", c->data,
                       R->train.c, R->train.h, R->train.w, R->train.num_classes, d->name, d->in_c, d->in_h, d->in_w,
                       d->classes);
    }
    if (!c->dataset[0]) snprintf(c->dataset, sizeof c->dataset, "%s", R->train.name);
    R->norm = rt_norm_find(R->train.name);
    if (!R->norm) {
        return rt_errf(R->err, sizeof R->err, "%s: no normalization known for data set '%s'", c->data,
                       R->train.name);
    }
    R->ntrain = R->train.n;
    R->ntest = R->test.n;
    if (c->subset > 0) {
        if (c->subset < R->ntrain) R->ntrain = c->subset;
        if (c->subset < R->ntest) R->ntest = c->subset;
    }
    R->aug.pad = c->crop;
    R->aug.pad_fill = 0;
    R->aug.flip = c->flip;
    R->aug.cutout = c->cutout;
    if (c->autoaugment) {
        /* §8.1: pad with grey (128), crop, flip, one sub-policy per image,
         * normalize, cutout. The published policies were searched on RGB
         * CIFAR-10 and ImageNet, and §8.5 gives the 1-channel sets (MNIST,
         * Fashion-MNIST) crop and flip only: those refuse AutoAugment rather
         * than train with a policy nobody published for them. (rt_aa_apply
         * could run the ops on one plane, but Color would do nothing and
         * Invert/Solarize would turn light-on-dark images over.) */
        int n = 0;
        const RtAaSubPolicy *policy = rt_aa_policy_for(R->train.name, &n);
        if (!policy) {
            return rt_errf(R->err, sizeof R->err,
                           "AutoAugment is requested, but data set '%s' (%d channel%s) has no AutoAugment policy: the "
                           "published policies are for cifar10 and imagenet (sharpdarts.md §8.2); drop autoaugment "
                           "from the network's augment list or pass --autoaugment 0",
                           R->train.name, R->train.c, R->train.c == 1 ? "" : "s");
        }
        R->aug.pad_fill = 128;
        R->aug.policy = policy;
        R->aug.npolicy = n;
    }
    return 0;
}

static void init_params(Run *R)
{
    const RtNetDesc *d = R->d;
    for (int i = 0; i < d->nparams; i++) {
        const RtParamDesc *p = &d->params[i];
        if (p->kind == RT_PARAM_COUNTER) continue;
        float *v = rt_net_param_data(R->net, p);
        RtRng g = rt_rng_init(R->c->seed, rt_rng_stream(RT_STREAM_INIT, i));
        switch (p->init) {
        case RT_INIT_KAIMING_UNIFORM: rt_init_kaiming_uniform(&g, v, (size_t)p->numel, p->fan_in); break;
        case RT_INIT_BIAS_UNIFORM: rt_init_bias_uniform(&g, v, (size_t)p->numel, p->fan_in); break;
        case RT_INIT_ONES: rt_init_const(v, (size_t)p->numel, 1); break;
        case RT_INIT_ARCH_NORMAL: rt_init_normal(&g, v, (size_t)p->numel, 1e-3f); break;
        default: rt_init_const(v, (size_t)p->numel, 0); break;
        }
    }
}

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) && errno != EEXIST) goto fail;
            *p = '/';
        }
    if (mkdir(tmp, 0777) && errno != EEXIST) goto fail;
    return 0;
fail:
    return rt_errf(err, errlen, "cannot create the output directory %s: %s", tmp, strerror(errno));
}

static const char *out_path(Run *R, const char *file)
{
    snprintf(R->path, sizeof R->path, "%s/%s", R->c->out, file);
    return R->path;
}

/* Opens --out for this run: creates it, and on a fresh run (no --resume)
 * removes the logs an earlier run left there, so that log.jsonl and
 * alphas.csv hold this run's epochs only; a resumed run appends to them. */
static int open_out(Run *R)
{
    if (mkdir_p(R->c->out, R->err, sizeof R->err))
        return 1;
    if (R->c->resume[0])
        return 0;
    const char *logs[] = {"log.jsonl", "alphas.csv"};
    for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++)
        if (remove(out_path(R, logs[i])) && errno != ENOENT) {
            snprintf(R->err, sizeof R->err, "cannot remove the earlier run's %.880s: %.64s", R->path, strerror(errno));
            return 1;
        }
    return 0;
}

/* The steps run on the device loop (--device cuda or ref, rt_main's choice). */
static int on_device(const RtConfig *c)
{
    return !strcmp(c->device, "cuda") || !strcmp(c->device, "ref");
}

/* The learning rate of every epoch of c->epochs into R->lr. */
static int schedule(Run *R)
{
    const RtConfig *c = R->c;
    int n;
    if (c->cpa)
        return rt_cpa_schedule(c->epochs, c->lr, c->lr_min, c->cpa_order, c->warmup, 1, 1, R->lr, &n, R->err,
                               sizeof R->err);
    for (int e = 0; e < c->epochs; e++) R->lr[e] = rt_cosine_lr(c->epochs, c->lr, c->lr_min, e);
    return 0;
}

static int setup(Run *R, const RtNetDesc *d, RtConfig *c)
{
    memset(R, 0, sizeof *R);
    R->d = d;
    R->c = c;
#ifdef _OPENMP
    if (c->threads > 0) omp_set_num_threads(c->threads);
#endif
    if (load_data(R)) return -1;
    R->net = rt_net_new(d, R->err, sizeof R->err);
    if (!R->net) return -1;
    /* the CPU programs' activations (the device loop keeps its own) */
    if (!on_device(c) && rt_net_reserve(R->net, c->batch, R->err, sizeof R->err)) return -1;
    size_t img = (size_t)d->in_c * d->in_h * d->in_w;
    R->x = malloc(sizeof(float) * img * (size_t)c->batch);
    R->y = malloc(sizeof(int32_t) * (size_t)c->batch);
    R->mask = malloc(sizeof(float) * (size_t)(d->drop_sites > 0 ? d->drop_sites : 1) * (size_t)c->batch);
    R->mom = calloc((size_t)(d->n_w > 0 ? d->n_w : 1), sizeof(float));
    R->am = calloc((size_t)(d->n_arch > 0 ? d->n_arch : 1), sizeof(float));
    R->av = calloc((size_t)(d->n_arch > 0 ? d->n_arch : 1), sizeof(float));
    R->lr = calloc((size_t)c->epochs, sizeof(double));
    if (!R->x || !R->y || !R->mask || !R->mom || !R->am || !R->av || !R->lr) {
        snprintf(R->err, sizeof R->err, "out of memory");
        return -1;
    }
    if (schedule(R)) return -1;
    init_params(R);
    R->sgd_first = 1;
    R->best_acc = -1;
    if (c->resume[0] && !strcmp(c->out, c->search ? "search-out" : "train-out"))
        snprintf(c->out, sizeof c->out, "%s", c->resume);
    if (rt_signal_install(R->err, sizeof R->err)) return -1;
    return 0;
}

static void teardown(Run *R)
{
#ifndef SHARPRT_NO_CUDA
    rt_dev_close(R->dev);
#endif
    rt_dataset_free(&R->train);
    rt_dataset_free(&R->test);
    if (R->has101) rt_dataset_free(&R->test101);
    rt_net_free(R->net);
    free(R->x);
    free(R->y);
    free(R->mask);
    free(R->mom);
    free(R->am);
    free(R->av);
    free(R->lr);
}

/* ---- checkpoints ---- */

typedef struct {
    RtCkptTensor *t;
    char **names;
    int n;
} CkptList;

static void ckpt_add(CkptList *l, const char *prefix, const RtParamDesc *p, void *data)
{
    size_t len = strlen(prefix) + strlen(p->name) + 1;
    char *name = malloc(len);
    if (!name) return;
    snprintf(name, len, "%s%s", prefix, p->name);
    RtCkptTensor *t = &l->t[l->n];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = p->kind == RT_PARAM_COUNTER ? RT_DTYPE_I64 : RT_DTYPE_F32;
    t->ndim = p->ndim;
    for (int k = 0; k < p->ndim; k++) t->shape[k] = p->shape[k];
    t->data = data;
    l->names[l->n++] = name;
}

static int ckpt_list(Run *R, CkptList *l)
{
    const RtNetDesc *d = R->d;
    l->n = 0;
    l->t = calloc((size_t)d->nparams * 3 + 1, sizeof *l->t);
    l->names = calloc((size_t)d->nparams * 3 + 1, sizeof *l->names);
    if (!l->t || !l->names) return -1;
    for (int i = 0; i < d->nparams; i++) {
        const RtParamDesc *p = &d->params[i];
        ckpt_add(l, "", p, rt_net_param_data(R->net, p));
        if (p->kind == RT_PARAM_WEIGHT) ckpt_add(l, RT_CKPT_SGD_MOMENTUM, p, R->mom + p->offset);
        if (p->kind == RT_PARAM_ARCH) {
            ckpt_add(l, RT_CKPT_ADAM_M, p, R->am + p->offset);
            ckpt_add(l, RT_CKPT_ADAM_V, p, R->av + p->offset);
        }
    }
    return 0;
}

static void ckpt_free(CkptList *l)
{
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    free(l->t);
}

static int save_checkpoint(Run *R)
{
    CkptList l;
    int rc = -1;
    if (ckpt_list(R, &l) == 0) {
        RtCkptState st;
        memset(&st, 0, sizeof st);
        st.epoch = R->epoch;
        st.step = R->gstep;
        st.rng = rt_rng_init(R->c->seed, 0);
        char v[7][40];
        snprintf(v[0], sizeof v[0], "%lld", (long long)R->step_in_epoch);
        snprintf(v[1], sizeof v[1], "%.17g", R->loss_sum);
        snprintf(v[2], sizeof v[2], "%lld", (long long)R->correct);
        snprintf(v[3], sizeof v[3], "%lld", (long long)R->seen);
        snprintf(v[4], sizeof v[4], "%.17g", R->best_acc);
        snprintf(v[5], sizeof v[5], "%d %lld", R->sgd_first, (long long)R->adam_step);
        snprintf(v[6], sizeof v[6], "%d", R->c->epochs);
        RtStMeta meta[7] = { { "step_in_epoch", v[0] }, { "loss_sum", v[1] }, { "correct", v[2] },
                             { "seen", v[3] }, { "best_acc", v[4] }, { "optim", v[5] }, { "epochs", v[6] } };
        rc = rt_ckpt_save(out_path(R, "checkpoint.safetensors"), l.t, l.n, &st, meta, 7, R->err, sizeof R->err);
    } else {
        snprintf(R->err, sizeof R->err, "out of memory");
    }
    ckpt_free(&l);
    return rc;
}

static int load_checkpoint(Run *R)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", R->c->resume);
    CkptList l;
    if (ckpt_list(R, &l)) {
        snprintf(R->err, sizeof R->err, "out of memory");
        return -1;
    }
    RtCkptState st;
    RtTensorFile *f = rt_ckpt_open(path, &st, NULL, R->err, sizeof R->err);
    int rc = -1;
    if (f && rt_ckpt_read(f, path, l.t, l.n, R->err, sizeof R->err) == 0) {
        const char *s;
        R->epoch = (int)st.epoch;
        R->gstep = st.step;
        if ((s = rt_st_meta(f, "step_in_epoch"))) R->step_in_epoch = strtoll(s, NULL, 10);
        if ((s = rt_st_meta(f, "loss_sum"))) R->loss_sum = strtod(s, NULL);
        if ((s = rt_st_meta(f, "correct"))) R->correct = strtoll(s, NULL, 10);
        if ((s = rt_st_meta(f, "seen"))) R->seen = strtoll(s, NULL, 10);
        if ((s = rt_st_meta(f, "best_acc"))) R->best_acc = strtod(s, NULL);
        if ((s = rt_st_meta(f, "epochs"))) R->ckpt_epochs = (int)strtol(s, NULL, 10);
        if ((s = rt_st_meta(f, "optim"))) {
            long long a = 0;
            sscanf(s, "%d %lld", &R->sgd_first, &a);
            R->adam_step = a;
        }
        rc = 0;
    }
    rt_st_close(f);
    ckpt_free(&l);
    if (rc == 0)
        fprintf(stderr, "resuming %s at epoch %d, step %lld\n", path, R->epoch + 1, (long long)R->step_in_epoch);
    return rc;
}

/* ---- the device loop's mirrors ---- */

#ifndef SHARPRT_NO_CUDA
/* The host mirror of device array a. */
static float *mirror(Run *R, RtDevArray a)
{
    switch (a) {
    case RT_DEV_W: return R->net->w;
    case RT_DEV_GW: return R->net->gw;
    case RT_DEV_ARCH: return R->net->arch;
    case RT_DEV_GARCH: return R->net->garch;
    case RT_DEV_BUF: return R->net->buf;
    case RT_DEV_MOM: return R->mom;
    case RT_DEV_ADAM_M: return R->am;
    case RT_DEV_ADAM_V: return R->av;
    default: return NULL;
    }
}

/* Device array a into its host mirror (nothing on the CPU, where the
 * mirror is the array), or the mirror onto the device. Only whole states
 * cross: the steps, the optimizers and the second-order step stay on the
 * device. */
static int mirror_get(Run *R, RtDevArray a)
{
    return R->dev ? rt_dev_get(R->dev, a, mirror(R, a), R->err, sizeof R->err) : 0;
}

static int mirror_put(Run *R, RtDevArray a)
{
    return R->dev ? rt_dev_put(R->dev, a, mirror(R, a), R->err, sizeof R->err) : 0;
}

/* The parameters and optimizer states (not the gradients). */
static const RtDevArray state[] = { RT_DEV_W, RT_DEV_ARCH, RT_DEV_BUF, RT_DEV_MOM, RT_DEV_ADAM_M, RT_DEV_ADAM_V };

/* Every parameter and optimizer state, device to host (before a
 * checkpoint, a weights file, a genotype) or host to device (after
 * initializing or resuming). */
static int mirrors_get(Run *R)
{
    for (size_t i = 0; i < sizeof state / sizeof state[0]; i++)
        if (mirror_get(R, state[i])) return -1;
    return 0;
}

static int mirrors_put(Run *R)
{
    for (size_t i = 0; i < sizeof state / sizeof state[0]; i++)
        if (mirror_put(R, state[i])) return -1;
    return 0;
}
#else
static int mirrors_get(Run *R) { (void)R; return 0; }
#endif

/* Opens the device loop when the run asked for one, with the host's
 * parameters and optimizer states (initialized, loaded or resumed). */
static int dev_start(Run *R)
{
    if (!on_device(R->c)) return 0;
#ifndef SHARPRT_NO_CUDA
    RtDevKind kind = !strcmp(R->c->device, "ref") ? RT_DEV_REF : RT_DEV_CUDA;
    R->dev = rt_dev_open(R->net, kind, R->c->batch, R->err, sizeof R->err);
    if (!R->dev && R->c->device_auto) {
        /* the GPU was only the default: say why, and run on the CPU */
        fprintf(stderr, "warning: the GPU could not start (%s); running on the CPU (--device cpu)\n", R->err);
        snprintf(R->c->device, sizeof R->c->device, "cpu");
        return rt_net_reserve(R->net, R->c->batch, R->err, sizeof R->err);
    }
    if (!R->dev) return -1;
    return mirrors_put(R);
#else
    return rt_errf(R->err, sizeof R->err, "--device %s: built without the GPU layer", R->c->device);
#endif
}

/* ---- steps ---- */

/* Prepares batch indices idx[0..n) into R->x / R->y, augmented or not. */
static int batch(Run *R, const RtDataset *ds, const int64_t *idx, int64_t n, int augment, int64_t key)
{
    return rt_augment_batch(ds, R->norm, idx, n, augment ? &R->aug : NULL, R->c->seed, key, R->x, R->y, R->err,
                            sizeof R->err);
}

static void drop_masks(Run *R, int N, double keep);

/* Starts a training forward on R->x / R->y (drop path at keep < 1) and the
 * backward when any gradient is asked for (on the device loop: always all
 * of them). Its outcome (R->out) is ready at step_end; on the device the
 * step is still running, so R->x and R->y may take the next batch. */
static int step_begin(Run *R, int N, int want_w, int want_arch, double keep)
{
    const RtNetDesc *d = R->d;
    const float *mask = NULL;
    if (keep < 1 && d->drop_sites) {
        drop_masks(R, N, keep);
        mask = R->mask;
    }
#ifndef SHARPRT_NO_CUDA
    if (R->dev)
        return rt_dev_batch(R->dev, N, R->x, R->y, mask, R->err, sizeof R->err) ||
                       rt_dev_train(R->dev, (float)keep, (float)R->c->aux_weight, R->err, sizeof R->err)
                   ? -1
                   : 0;
#endif
    RtNetRun r;
    rt_net_run(R->net, &r, N);
    r.images = R->x;
    r.labels = R->y;
    r.gw = want_w ? R->net->gw : NULL;
    r.garch = want_arch && d->n_arch ? R->net->garch : NULL;
    r.aux_weight = (float)R->c->aux_weight;
    r.keep_prob = (float)keep;
    r.drop_mask = mask;
    d->forward(&r);
    if (want_w || want_arch) d->backward(&r);
    R->out.loss = r.loss;
    R->out.loss_main = r.loss_main;
    R->out.top1 = k_topk_correct(N, d->classes, 1, r.logits, R->y);
    return 0;
}

/* Waits for the step of step_begin; its losses and top-1 hits in R->out. */
static int step_end(Run *R)
{
#ifndef SHARPRT_NO_CUDA
    if (R->dev) {
        double lm, la;
        int64_t t5;
        if (rt_dev_result(R->dev, &lm, &la, &R->out.top1, &t5, R->err, sizeof R->err)) return -1;
        R->out.loss_main = lm;
        R->out.loss = lm + (R->d->has_aux ? (double)(float)R->c->aux_weight * la : 0.0);
    }
#else
    (void)R;
#endif
    return 0;
}

/* A whole step (begin and end). */
static int step(Run *R, int N, int want_w, int want_arch, double keep)
{
    return step_begin(R, N, want_w, want_arch, keep) || step_end(R) ? -1 : 0;
}

/* Clip and SGD on the weights at learning rate lr. */
static int weight_update(Run *R, double lr)
{
    RtConfig *c = R->c;
    int first = R->sgd_first;
    R->sgd_first = 0;
#ifndef SHARPRT_NO_CUDA
    if (R->dev) return rt_dev_sgd(R->dev, lr, c->momentum, c->wd, c->clip, first, R->err, sizeof R->err);
#endif
    RtSpan g = { R->net->gw, (size_t)R->d->n_w };
    if (c->clip > 0) rt_clip_grad_norm(&g, 1, c->clip);
    rt_sgd_step(R->net->w, R->net->gw, R->mom, (size_t)R->d->n_w, lr, c->momentum, c->wd, first);
    return 0;
}

static int arch_update(Run *R)
{
    RtConfig *c = R->c;
    R->adam_step++;
#ifndef SHARPRT_NO_CUDA
    if (R->dev)
        return rt_dev_adam(R->dev, R->adam_step, c->arch_lr, c->arch_b1, c->arch_b2, c->arch_eps, c->arch_wd,
                           R->err, sizeof R->err);
#endif
    rt_adam_step(R->net->arch, R->net->garch, R->am, R->av, (size_t)R->d->n_arch, R->adam_step, c->arch_lr,
                 c->arch_b1, c->arch_b2, c->arch_eps, c->arch_wd);
    return 0;
}

/* The batch-norm running statistics and counters, saved around steps
 * whose effect on them is thrown away (the second-order step's copy, the
 * time budget's timing steps). */
typedef struct {
    float *buf;
    int64_t *cnt;
} BnState;

/* Saves R's statistics into b (allocated); -1 when out of memory. */
static int bn_save(const Run *R, BnState *b)
{
    const RtNetDesc *d = R->d;
    b->buf = malloc(sizeof(float) * (size_t)(d->n_buf ? d->n_buf : 1));
    b->cnt = malloc(sizeof(int64_t) * (size_t)(d->n_cnt ? d->n_cnt : 1));
    if (!b->buf || !b->cnt) return -1;
    memcpy(b->buf, R->net->buf, sizeof(float) * (size_t)d->n_buf);
    memcpy(b->cnt, R->net->cnt, sizeof(int64_t) * (size_t)d->n_cnt);
    return 0;
}

/* Puts the saved statistics back into R and frees b. */
static void bn_restore(Run *R, BnState *b)
{
    memcpy(R->net->buf, b->buf, sizeof(float) * (size_t)R->d->n_buf);
    memcpy(R->net->cnt, b->cnt, sizeof(int64_t) * (size_t)R->d->n_cnt);
    free(b->buf), free(b->cnt);
    b->buf = NULL, b->cnt = NULL;
}

/* The unrolled architecture gradient (§5.5) into net->garch, or on the
 * device loop into the device's (rt_dev_unrolled: the same steps, all on
 * the device); the train batch is in xt/yt, the validation batch in
 * xv/yv. R->x / R->y hold the train batch on return (its last steps run
 * on it; the device path leaves them alone). */
static int second_order(Run *R, const float *xt, const int32_t *yt, int Nt, int Nv, const float *xv,
                        const int32_t *yv, double lr)
{
#ifndef SHARPRT_NO_CUDA
    if (R->dev)
        return rt_dev_unrolled(R->dev, xt, yt, Nt, xv, yv, Nv, lr, R->c->momentum, R->c->wd, R->sgd_first,
                               (float)R->c->aux_weight, R->err, sizeof R->err);
#endif
    const RtNetDesc *d = R->d;
    size_t nw = (size_t)d->n_w, na = (size_t)d->n_arch;
    size_t img = (size_t)d->in_c * d->in_h * d->in_w;
    float *theta = malloc(sizeof(float) * nw), *v = malloc(sizeof(float) * nw), *dalpha = malloc(sizeof(float) * na);
    float *hp = malloc(sizeof(float) * na);
    BnState bn = { NULL, NULL };
    int rc = -1;
    if (!theta || !v || !dalpha || !hp) {
        snprintf(R->err, sizeof R->err, "out of memory in the second-order step");
        goto out;
    }
    float *w = R->net->w, *gw = R->net->gw;
    /* 1-2: g = grad L_train + wd*theta; theta' = theta - lr*(momentum*b + g) */
    memcpy(R->x, xt, sizeof(float) * (size_t)Nt * img);
    memcpy(R->y, yt, sizeof(int32_t) * (size_t)Nt);
    if (step(R, Nt, 1, 0, 1)) goto out;
    memcpy(theta, w, sizeof(float) * nw);
    for (size_t i = 0; i < nw; i++) {
        float m = R->sgd_first ? 0 : (float)R->c->momentum * R->mom[i];
        w[i] = theta[i] - (float)lr * (m + gw[i] + (float)R->c->wd * theta[i]);
    }
    /* 3: in the copy (its BN statistics are thrown away afterwards) */
    if (bn_save(R, &bn)) {
        snprintf(R->err, sizeof R->err, "out of memory in the second-order step");
        goto out;
    }
    memcpy(R->x, xv, sizeof(float) * (size_t)Nv * img);
    memcpy(R->y, yv, sizeof(int32_t) * (size_t)Nv);
    if (step(R, Nv, 1, 1, 1)) goto out;
    memcpy(dalpha, R->net->garch, sizeof(float) * na);
    memcpy(v, gw, sizeof(float) * nw);
    bn_restore(R, &bn);
    /* 4-6: finite-difference Hessian-vector product on the training batch */
    RtSpan vs = { v, nw };
    double rr = 0.01 / rt_grad_norm(&vs, 1);
    memcpy(R->x, xt, sizeof(float) * (size_t)Nt * img);
    memcpy(R->y, yt, sizeof(int32_t) * (size_t)Nt);
    for (size_t i = 0; i < nw; i++) w[i] = theta[i] + (float)rr * v[i];
    if (step(R, Nt, 0, 1, 1)) goto out;
    memcpy(hp, R->net->garch, sizeof(float) * na);
    for (size_t i = 0; i < nw; i++) w[i] = theta[i] - (float)rr * v[i];
    if (step(R, Nt, 0, 1, 1)) goto out;
    memcpy(w, theta, sizeof(float) * nw);
    /* 7: g_alpha = d_alpha - lr*h */
    for (size_t i = 0; i < na; i++)
        R->net->garch[i] = dalpha[i] - (float)(lr * (hp[i] - R->net->garch[i]) / (2 * rr));
    rc = 0;
out:
    free(theta); free(v); free(dalpha); free(hp); free(bn.buf); free(bn.cnt);
    return rc;
}

/* Evaluates images [first, first + n) of ds in eval mode: mean loss,
 * top-1, top-5. */
static int evaluate(Run *R, const RtDataset *ds, int64_t first, int64_t n, double *loss, double *top1, double *top5)
{
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)R->c->batch);
    if (!idx) return rt_errf(R->err, sizeof R->err, "out of memory");
    double ls = 0;
    int64_t c1 = 0, c5 = 0;
    int k5 = R->d->classes < 5 ? R->d->classes : 5;
    for (int64_t s = 0; s < n; s += R->c->batch) {
        int N = (int)(n - s < R->c->batch ? n - s : R->c->batch);
        for (int i = 0; i < N; i++) idx[i] = first + s + i;
        if (batch(R, ds, idx, N, 0, 0)) {
            free(idx);
            return -1;
        }
#ifndef SHARPRT_NO_CUDA
        if (R->dev) {
            double lm, la;
            int64_t h1, h5;
            if (rt_dev_batch(R->dev, N, R->x, R->y, NULL, R->err, sizeof R->err) ||
                rt_dev_eval(R->dev, R->err, sizeof R->err) ||
                rt_dev_result(R->dev, &lm, &la, &h1, &h5, R->err, sizeof R->err)) {
                free(idx);
                return -1;
            }
            ls += lm * N;
            c1 += h1;
            c5 += h5;
            continue;
        }
#endif
        RtNetRun r;
        rt_net_run(R->net, &r, N);
        r.images = R->x;
        r.labels = R->y;
        R->d->eval_forward(&r);
        ls += r.loss * N;
        c1 += k_topk_correct(N, R->d->classes, 1, r.logits, R->y);
        c5 += k_topk_correct(N, R->d->classes, k5, r.logits, R->y);
    }
    free(idx);
    *loss = ls / (double)n;
    *top1 = (double)c1 / (double)n;
    *top5 = (double)c5 / (double)n;
    return 0;
}

/* --time-budget: the epochs of training that fit in the budget, at most
 * --epochs, into c->epochs (and its schedule). A resumed run keeps the
 * epochs its checkpoint was written with. Otherwise a few training steps on
 * the first batch are timed with its augmentation (their gradients are not
 * applied, and the batch-norm statistics they move are put back, so the run
 * is the one `--epochs N` with the N printed gives) and a test batch; an
 * epoch is its steps plus the test set. */
static int fit_epochs(Run *R, int64_t steps)
{
    RtConfig *c = R->c;
    int fit;
    if (R->ckpt_epochs > 0) {
        fit = R->ckpt_epochs < c->epochs ? R->ckpt_epochs : c->epochs;
        fprintf(stderr, "time budget: the resumed run trains %d epochs, as when it started\n", fit);
    } else {
        int N = (int)(R->ntrain < c->batch ? R->ntrain : c->batch), timed = 4;
        int64_t *idx = malloc(sizeof(int64_t) * (size_t)N);
        BnState bn = { NULL, NULL };
        if (!idx || bn_save(R, &bn)) {
            free(idx), free(bn.buf), free(bn.cnt);
            return rt_errf(R->err, sizeof R->err, "out of memory");
        }
        for (int i = 0; i < N; i++) idx[i] = i;
        double t0 = 0, tl, t1, t5;
        int bad = 0;
        for (int k = 0; k <= timed && !bad; k++) {
            if (k == 1) t0 = rt_clock_seconds(); /* the first step warms up */
            bad = batch(R, &R->train, idx, N, 1, 1) || step(R, N, 1, 0, 1);
        }
        double t_step = (rt_clock_seconds() - t0) / timed * ((double)c->batch / N);
        bn_restore(R, &bn); /* the gradients are overwritten by the next backward */
        free(idx);
#ifndef SHARPRT_NO_CUDA
        if (!bad && R->dev) bad = mirrors_put(R);
#endif
        int64_t ne = R->ntest < c->batch ? R->ntest : c->batch;
        double te = rt_clock_seconds();
        if (bad || evaluate(R, &R->test, 0, ne, &tl, &t1, &t5)) return -1;
        double t_img = (rt_clock_seconds() - te) / (double)ne;
        double epoch_s = (double)steps * t_step + t_img * (double)(R->ntest + (R->has101 ? R->test101.n : 0));
        double n = floor(c->time_budget * 60 / epoch_s);
        fit = n < 1 ? 1 : n < c->epochs ? (int)n : c->epochs;
        fprintf(stderr, "time budget %g min: a step takes %.3f s, an epoch with its test about %.0f s; "
                "training %d epochs%s\n", c->time_budget, t_step, epoch_s, fit,
                n < 1 ? " (one epoch is over the budget)" : fit == c->epochs ? " (--epochs)" : "");
    }
    c->epochs = fit;
    if (c->warmup >= c->epochs) c->warmup = c->epochs > 1 ? c->epochs - 1 : 0;
    return schedule(R);
}

/* Softmaxed alphas (both roles, row by row) into w. */
static void softmax_alphas(const Run *R, float *w)
{
    k_arch_softmax_fwd((int)(R->d->n_arch / R->d->arch_cols), R->d->arch_cols, R->net->arch, w);
}

/* Stops the run on a non-finite loss (the last checkpoint stays). */
static int check_loss(Run *R, double loss, int epoch, int64_t s)
{
    if (isfinite(loss)) return 0;
    return rt_errf(R->err, sizeof R->err,
                   "the loss became %g at epoch %d, step %lld: stopping (the last good checkpoint in %s is kept; "
                   "try a lower --lr)", loss, epoch, (long long)s + 1, R->c->out);
}

/* SIGINT / SIGTERM: checkpoint the state as it is, then stop. */
static int interrupted(Run *R, int64_t s)
{
    int sig = rt_signal_pending();
    if (!sig) return 0;
    R->step_in_epoch = s;
    fprintf(stderr, "\nsignal %d: writing a checkpoint and stopping\n", sig);
    if (mirrors_get(R) || save_checkpoint(R))
        fprintf(stderr, "error: %s\n", R->err);
    else
        fprintf(stderr, "checkpoint written: %s (continue with --resume %s)\n", R->path, R->c->out);
    return 128 + sig;
}

/* ---- the search ---- */

int rt_search_run(const RtNetDesc *d, RtConfig *c)
{
    Run R_, *R = &R_;
    int rc = 1;
    int64_t *order = NULL, *vidx = NULL;
    float *xt = NULL, *xv = NULL, *wsoft = NULL;
    int32_t *yt = NULL, *yv = NULL;
    if (setup(R, d, c)) goto done;
    RtSearchSplit sp;
    if (rt_search_split(R->ntrain, c->split, &sp, R->err, sizeof R->err)) goto done;
    if (c->resume[0] && load_checkpoint(R)) goto done;
    if (open_out(R) || dev_start(R)) goto done;
    size_t img = (size_t)d->in_c * d->in_h * d->in_w;
    order = malloc(sizeof(int64_t) * (size_t)sp.train_n);
    vidx = malloc(sizeof(int64_t) * (size_t)(sp.valid_n + c->batch));
    xt = malloc(sizeof(float) * img * (size_t)c->batch);
    yt = malloc(sizeof(int32_t) * (size_t)c->batch);
    xv = malloc(sizeof(float) * img * (size_t)c->batch);
    yv = malloc(sizeof(int32_t) * (size_t)c->batch);
    wsoft = malloc(sizeof(float) * (size_t)(d->n_arch ? d->n_arch : 1));
    if (!order || !vidx || !xt || !yt || !xv || !yv || !wsoft) {
        snprintf(R->err, sizeof R->err, "out of memory");
        goto done;
    }
    int64_t steps = (sp.train_n + c->batch - 1) / c->batch;
    int64_t vb = c->batch < sp.valid_n ? c->batch : sp.valid_n;
    RtProgress pg;
    rt_progress_init(&pg, stderr, c->epochs, steps, -1);
    fprintf(stderr, "search %s: %lld weight / %lld architecture images, batch %d, %d epochs, %s order, %s\n", d->name,
            (long long)sp.train_n, (long long)sp.valid_n, c->batch, c->epochs, c->second_order ? "second" : "first",
            d->weighting ? "max_w" : "scalar");
    for (int e = R->epoch + 1; e <= c->epochs; e++) {
        double lr = R->lr[e - 1], t0 = rt_clock_seconds();
        rt_search_epoch_order(c->seed, e, &sp, order, NULL);
        int64_t s0 = R->step_in_epoch;
        if (s0 == 0) R->loss_sum = 0, R->correct = 0, R->seen = 0;
        int vready = 0; /* the next architecture batch is in R->x / R->y */
        for (int64_t s = s0; s < steps; s++) {
            if ((rc = interrupted(R, s))) goto done_rc;
            int Nt = (int)(sp.train_n - s * c->batch < c->batch ? sp.train_n - s * c->batch : c->batch);
            /* the architecture step on a random batch of the other half */
            if (!vready) {
                rt_sample_batch(c->seed, e, s, sp.valid_first, sp.valid_n, vb, vidx);
                if (batch(R, &R->train, vidx, vb, 1, ((int64_t)e << 24) + s + 1)) goto done;
            }
            vready = 0;
            if (c->second_order) {
                memcpy(xv, R->x, sizeof(float) * img * (size_t)vb);
                memcpy(yv, R->y, sizeof(int32_t) * (size_t)vb);
                if (batch(R, &R->train, order + s * c->batch, Nt, 1, e)) goto done;
                memcpy(xt, R->x, sizeof(float) * img * (size_t)Nt);
                memcpy(yt, R->y, sizeof(int32_t) * (size_t)Nt);
                /* R->x / R->y still hold the training batch afterwards */
                if (second_order(R, xt, yt, Nt, (int)vb, xv, yv, lr)) goto done;
            } else {
                /* the weight batch is prepared while the device computes */
                if (step_begin(R, (int)vb, 0, 1, 1) || batch(R, &R->train, order + s * c->batch, Nt, 1, e) ||
                    step_end(R))
                    goto done;
                if (check_loss(R, R->out.loss, e, s)) goto done;
            }
            if (arch_update(R)) goto done;
            /* the weight step with the updated alphas; then the next
             * architecture batch, while the device computes */
            if (step_begin(R, Nt, 1, 0, 1) || weight_update(R, lr)) goto done;
            if (!c->second_order && s + 1 < steps) {
                rt_sample_batch(c->seed, e, s + 1, sp.valid_first, sp.valid_n, vb, vidx);
                if (batch(R, &R->train, vidx, vb, 1, ((int64_t)e << 24) + s + 2)) goto done;
                vready = 1;
            }
            if (step_end(R)) goto done;
            if (check_loss(R, R->out.loss, e, s)) goto done;
            R->gstep++;
            R->loss_sum += R->out.loss * Nt;
            R->correct += R->out.top1;
            R->seen += Nt;
            rt_progress_step(&pg, e, s + 1, R->loss_sum / (double)R->seen, (double)R->correct / (double)R->seen, Nt);
        }
        R->step_in_epoch = 0;
        double vl, v1, v5, dt = rt_clock_seconds() - t0;
        if (evaluate(R, &R->train, sp.valid_first, sp.valid_n, &vl, &v1, &v5) || mirrors_get(R)) goto done;
        R->epoch = e;
        char geno[9000];
        if (rt_genotype_text(d, c, R->net->arch, geno, sizeof geno)) snprintf(geno, sizeof geno, "?");
        char extra[160];
        snprintf(extra, sizeof extra, "valid loss %.4f acc %.2f%% lr %.3g", vl, 100 * v1, lr);
        rt_progress_epoch_end(&pg, e, R->loss_sum / (double)R->seen, (double)R->correct / (double)R->seen, extra);
        fprintf(stderr, "epoch %d genotype: %s\n", e, geno);
        softmax_alphas(R, wsoft);
        RtJson j;
        rt_json_init(&j);
        rt_json_int(&j, "epoch", e);
        rt_json_num(&j, "lr", lr);
        rt_json_num(&j, "train_loss", R->loss_sum / (double)R->seen);
        rt_json_num(&j, "train_acc", (double)R->correct / (double)R->seen);
        rt_json_num(&j, "valid_loss", vl);
        rt_json_num(&j, "valid_acc", v1);
        rt_json_num(&j, "images_per_s", dt > 0 ? (double)R->seen / dt : 0);
        rt_json_num(&j, "seconds", dt);
        rt_json_str(&j, "genotype", geno);
        rt_json_float_array(&j, "alphas_softmax", wsoft, (size_t)d->n_arch);
        int bad = rt_json_append(out_path(R, "log.jsonl"), &j, R->err, sizeof R->err);
        rt_json_free(&j);
        if (bad) goto done;
        char ep[16];
        snprintf(ep, sizeof ep, "%d", e);
        const char *lead[1] = { ep };
        double *wd = malloc(sizeof(double) * (size_t)d->n_arch);
        if (!wd) goto done;
        for (int64_t i = 0; i < d->n_arch; i++) wd[i] = wsoft[i];
        bad = rt_csv_append_numbers(out_path(R, "alphas.csv"), lead, 1, wd, (int)d->n_arch, R->err, sizeof R->err);
        free(wd);
        if (bad) goto done;
        if (rt_genotype_write(d, c, R->net->arch, out_path(R, "genotype.nas"), e, R->err, sizeof R->err)) goto done;
        if (v1 > R->best_acc) {
            R->best_acc = v1;
            if (rt_net_save(R->net, out_path(R, "weights.best.safetensors"), 1, R->err, sizeof R->err)) goto done;
        }
        if (save_checkpoint(R)) goto done;
        if (e == c->stop_after && e < c->epochs) {
            printf("stopped after epoch %d as asked; continue with --resume %s\n", e, c->out);
            break;
        }
    }
    printf("search done: genotype in %s/genotype.nas\n", c->out);
    rc = 0;
    goto done_rc;
done:
    fprintf(stderr, "error: %s\n", R->err);
    rc = 1;
done_rc:
    free(order);
    free(vidx);
    free(xt);
    free(yt);
    free(xv);
    free(yv);
    free(wsoft);
    teardown(R);
    return rc;
}

/* ---- final training ---- */

static void drop_masks(Run *R, int N, double keep)
{
    RtRng g = rt_rng_init(R->c->seed, rt_rng_stream(RT_STREAM_DROPPATH, R->gstep));
    for (int i = 0; i < R->d->drop_sites * N; i++) R->mask[i] = (float)rt_rng_bernoulli(&g, keep);
}

int rt_train_run(const RtNetDesc *d, RtConfig *c)
{
    Run R_, *R = &R_;
    int rc = 1;
    int64_t *order = NULL;
    if (setup(R, d, c)) goto done;
    if (c->eval_only) {
        if (!c->weights[0]) {
            snprintf(R->err, sizeof R->err, "--eval-only needs --weights FILE");
            goto done;
        }
        if (rt_net_load(R->net, c->weights, 0, R->err, sizeof R->err) || dev_start(R)) goto done;
        double l, t1, t5;
        if (evaluate(R, &R->test, 0, R->ntest, &l, &t1, &t5)) goto done;
        printf("test: %lld images, loss %.4f, top-1 %.2f%%, top-5 %.2f%%\n", (long long)R->ntest, l, 100 * t1, 100 * t5);
        rc = 0;
        goto done_rc;
    }
    if (c->resume[0] && load_checkpoint(R)) goto done;
    if (!strcmp(c->dataset, "cifar10")) {
        /* CIFAR-10.1 (§8.3) is evaluated too when its .npy files are there */
        char e101[512];
        R->has101 = rt_dataset_load_dir(c->data, "cifar10.1", RT_SPLIT_TEST, &R->test101, e101, sizeof e101) == 0;
        if (R->has101 && (R->test101.c != d->in_c || R->test101.h != d->in_h || R->test101.w != d->in_w)) {
            rt_dataset_free(&R->test101);
            R->has101 = 0;
        }
    }
    if (open_out(R) || dev_start(R)) goto done;
    order = malloc(sizeof(int64_t) * (size_t)R->ntrain);
    if (!order) {
        snprintf(R->err, sizeof R->err, "out of memory");
        goto done;
    }
    int64_t steps = (R->ntrain + c->batch - 1) / c->batch;
    if (c->time_budget > 0 && fit_epochs(R, steps)) goto done;
    RtProgress pg;
    rt_progress_init(&pg, stderr, c->epochs, steps, -1);
    fprintf(stderr, "train %s: %lld images, batch %d, %d epochs, drop path %g, aux weight %g\n", d->name,
            (long long)R->ntrain, c->batch, c->epochs, c->drop_path, d->has_aux ? c->aux_weight : 0.0);
    double t1 = 0, t5 = 0, tl = 0;
    int first_epoch = R->epoch + 1;
    for (int e = first_epoch; e <= c->epochs; e++) {
        double lr = R->lr[e - 1], t0 = rt_clock_seconds();
        double keep = 1 - rt_drop_path_prob(c->drop_path, e, c->epochs);
        rt_shuffle(c->seed, e, RT_STREAM_SHUFFLE, 0, R->ntrain, order);
        int64_t s0 = R->step_in_epoch;
        if (s0 == 0) R->loss_sum = 0, R->correct = 0, R->seen = 0;
        int64_t ready = -1; /* the step whose batch is in R->x / R->y */
        for (int64_t s = s0; s < steps; s++) {
            if ((rc = interrupted(R, s))) goto done_rc;
            int N = (int)(R->ntrain - s * c->batch < c->batch ? R->ntrain - s * c->batch : c->batch);
            if (ready != s && batch(R, &R->train, order + s * c->batch, N, 1, e)) goto done;
            if (step_begin(R, N, 1, 0, keep) || weight_update(R, lr)) goto done;
            if (R->dev && s + 1 < steps) {
                /* the next batch, while the device computes this one */
                int64_t n1 = R->ntrain - (s + 1) * c->batch < c->batch ? R->ntrain - (s + 1) * c->batch : c->batch;
                if (batch(R, &R->train, order + (s + 1) * c->batch, n1, 1, e)) goto done;
                ready = s + 1;
            }
            if (step_end(R) || check_loss(R, R->out.loss, e, s)) goto done;
            R->gstep++;
            R->loss_sum += R->out.loss_main * N;
            R->correct += R->out.top1;
            R->seen += N;
            rt_progress_step(&pg, e, s + 1, R->loss_sum / (double)R->seen, (double)R->correct / (double)R->seen, N);
        }
        R->step_in_epoch = 0;
        double dt = rt_clock_seconds() - t0;
        if (evaluate(R, &R->test, 0, R->ntest, &tl, &t1, &t5) || mirrors_get(R)) goto done;
        R->epoch = e;
        char extra[160];
        snprintf(extra, sizeof extra, "test loss %.4f top-1 %.2f%% top-5 %.2f%% lr %.3g", tl, 100 * t1, 100 * t5, lr);
        rt_progress_epoch_end(&pg, e, R->loss_sum / (double)R->seen, (double)R->correct / (double)R->seen, extra);
        RtJson j;
        rt_json_init(&j);
        rt_json_int(&j, "epoch", e);
        rt_json_int(&j, "epochs", c->epochs);
        rt_json_num(&j, "lr", lr);
        rt_json_num(&j, "drop_path", 1 - keep);
        rt_json_num(&j, "train_loss", R->loss_sum / (double)R->seen);
        rt_json_num(&j, "train_acc", (double)R->correct / (double)R->seen);
        rt_json_num(&j, "test_loss", tl);
        rt_json_num(&j, "test_top1", t1);
        rt_json_num(&j, "test_top5", t5);
        if (R->has101) {
            double l101, a101, b101;
            if (evaluate(R, &R->test101, 0, R->test101.n, &l101, &a101, &b101)) goto done;
            rt_json_num(&j, "cifar10_1_top1", a101);
            rt_json_num(&j, "cifar10_1_top5", b101);
            fprintf(stderr, "CIFAR-10.1: top-1 %.2f%%, top-5 %.2f%%\n", 100 * a101, 100 * b101);
        }
        rt_json_num(&j, "images_per_s", dt > 0 ? (double)R->seen / dt : 0);
        rt_json_num(&j, "seconds", dt);
        int bad = rt_json_append(out_path(R, "log.jsonl"), &j, R->err, sizeof R->err);
        rt_json_free(&j);
        if (bad) goto done;
        if (t1 > R->best_acc) {
            R->best_acc = t1;
            if (rt_net_save(R->net, out_path(R, "weights.best.safetensors"), 0, R->err, sizeof R->err)) goto done;
        }
        if (rt_net_save(R->net, out_path(R, "weights.safetensors"), 0, R->err, sizeof R->err)) goto done;
        if (save_checkpoint(R)) goto done;
        if (e == c->stop_after && e < c->epochs) {
            printf("stopped after epoch %d as asked; continue with --resume %s\n", e, c->out);
            break;
        }
    }
    if (R->epoch < first_epoch)
        printf("the run in %s had trained its %d epochs already (best test top-1 %.2f%%); nothing to do\n", c->out,
               R->epoch, 100 * R->best_acc);
    else
        printf("training done: test top-1 %.2f%% (best %.2f%%), top-5 %.2f%%; weights in %s/weights.safetensors\n",
               100 * t1, 100 * R->best_acc, 100 * t5, c->out);
    rc = 0;
    goto done_rc;
done:
    fprintf(stderr, "error: %s\n", R->err);
    rc = 1;
done_rc:
    free(order);
    teardown(R);
    return rc;
}
