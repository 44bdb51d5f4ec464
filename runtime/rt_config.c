/* rt_config.c: the configuration of a search or training run. Three layers,
 * each overriding the one before: the spec's defaults (sharpdarts.md §5.2
 * for search, §6.5 for final training), the settings of the .nas file's
 * search or train block (compiled into the executable), and command-line
 * flags. `--help` prints every flag with its current value. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_run.h"

#define EXIT_USAGE 2

const char *rt_setting(const RtConfig *c, const char *key)
{
    size_t k = strlen(key);
    for (int i = 0; i < c->nsettings; i++)
        if (strncmp(c->settings[i], key, k) == 0 && c->settings[i][k] == '=') return c->settings[i] + k + 1;
    return NULL;
}

static void set_num(const RtConfig *c, const char *key, double *v)
{
    const char *s = rt_setting(c, key);
    if (s) *v = strtod(s, NULL);
}

static void set_int(const RtConfig *c, const char *key, int *v)
{
    const char *s = rt_setting(c, key);
    if (s) *v = (int)strtol(s, NULL, 10);
}

static void set_str(const RtConfig *c, const char *key, char *v, size_t n)
{
    const char *s = rt_setting(c, key);
    if (s) snprintf(v, n, "%s", s);
}

/* The .nas names data sets with underscores; the runtime with dashes. */
static void dataset_name(char *s)
{
    for (; *s; s++)
        if (*s == '_') *s = '-';
}

static void defaults(const RtNetDesc *d, RtConfig *c)
{
    c->search = d->is_search;
    c->epochs = c->search ? 50 : 2000;
    c->batch = 64;
    c->seed = c->search ? 2 : 0;
    snprintf(c->out, sizeof c->out, "%s", c->search ? "search-out" : "train-out");
    c->lr = 0.025;
    c->lr_min = c->search ? 1e-4 : 1e-8;
    c->momentum = 0.9;
    c->wd = 3e-4;
    c->clip = 5;
    c->cpa = 1;
    c->cpa_order = 2;
    c->warmup = 5;
    c->arch_lr = 3e-4;
    c->arch_b1 = 0.5;
    c->arch_b2 = 0.999;
    c->arch_eps = 1e-8;
    c->arch_wd = 1e-3;
    c->split = 0.5;
    c->crop = 4;
    c->flip = 1;
    c->cutout = c->search ? 0 : 16;
    c->drop_path = c->search ? 0 : 0.2;
    c->aux_weight = 0.4;
    c->final_C = 36;
    c->final_layers = 20;
    c->final_epochs = 600;
    c->final_aux = d->in_h >= 29;
    c->skip_none = 1;
    snprintf(c->device, sizeof c->device, "auto");
}

static void from_settings(RtConfig *c)
{
    set_int(c, "run.epochs", &c->epochs);
    set_int(c, "run.batch", &c->batch);
    set_int(c, "run.threads", &c->threads);
    if (rt_setting(c, "run.seed")) c->seed = strtoull(rt_setting(c, "run.seed"), NULL, 10);
    set_num(c, "run.split", &c->split);
    if (rt_setting(c, "run.order")) c->second_order = !strcmp(rt_setting(c, "run.order"), "second");
    set_num(c, "run.weights.lr", &c->lr);
    set_num(c, "run.weights.momentum", &c->momentum);
    set_num(c, "run.weights.decay", &c->wd);
    set_num(c, "run.weights.clip", &c->clip);
    if (rt_setting(c, "run.schedule")) c->cpa = !strcmp(rt_setting(c, "run.schedule"), "cosine_power");
    set_num(c, "run.schedule.min", &c->lr_min);
    set_num(c, "run.schedule.max", &c->lr);
    set_num(c, "run.schedule.order", &c->cpa_order);
    set_int(c, "run.schedule.warmup", &c->warmup);
    if (rt_setting(c, "run.schedule") && !c->cpa) c->warmup = 0;
    set_num(c, "run.arch.lr", &c->arch_lr);
    const char *b = rt_setting(c, "run.arch.betas");
    if (b) {
        char *end;
        c->arch_b1 = strtod(b, &end);
        if (*end == ',') c->arch_b2 = strtod(end + 1, NULL);
    }
    set_num(c, "run.arch.eps", &c->arch_eps);
    set_num(c, "run.arch.decay", &c->arch_wd);
    const char *aug = rt_setting(c, "run.augment");
    if (aug) {
        /* the file's list replaces the default augmentation */
        char list[512];
        snprintf(list, sizeof list, ",%s,", aug);
        c->crop = strstr(list, ",crop,") ? 4 : 0;
        c->flip = strstr(list, ",flip,") != NULL;
        c->cutout = strstr(list, ",cutout,") ? 16 : 0;
        c->autoaugment = strstr(list, ",autoaugment,") != NULL;
        set_int(c, "run.augment.crop.pad", &c->crop);
        set_int(c, "run.augment.cutout.length", &c->cutout);
    }
    set_num(c, "run.drop_path", &c->drop_path);
    set_num(c, "run.auxiliary", &c->aux_weight);
    set_str(c, "run.data", c->data, sizeof c->data);
    set_str(c, "run.dataset", c->dataset, sizeof c->dataset);
    dataset_name(c->dataset);
    if (rt_setting(c, "run.skip")) c->skip_none = !strcmp(rt_setting(c, "run.skip"), "none");
}

static void help(const RtNetDesc *d, const RtConfig *c, const char *prog)
{
    printf("usage: %s [COMMAND] [OPTIONS]\n\n", prog);
    printf("%s of network %s, compiled by sharpc from %s.\n\n", c->search ? "Architecture search" : "Training",
           d->name, d->source);
    printf("commands:\n");
    printf("  %-10s %s\n", c->search ? "search" : "train",
           c->search ? "(default) search the architecture; writes genotype.nas, alphas.csv, log.jsonl"
                     : "(default) train the network; writes weights.safetensors, log.jsonl");
    printf("  info       describe the network: parameters, memory per sample\n");
    printf("  gradients  one forward and backward on a given batch (see `%s gradients --help`)\n\n", prog);
    printf("options (current values: the spec's defaults, then %s's settings):\n", d->source);
    printf("  --data DIR          data set directory (%s)\n", c->data[0] ? c->data : "by --dataset");
    printf("  --dataset NAME      fashion-mnist, mnist, cifar10 (%s)\n", c->dataset[0] ? c->dataset : "from --data");
    printf("  --out DIR           output directory (%s)\n", c->out);
    printf("  --epochs N          (%d)\n", c->epochs);
    printf("  --batch N           (%d)\n", c->batch);
    printf("  --seed N            (%llu)\n", (unsigned long long)c->seed);
    printf("  --lr X              maximum weight learning rate (%g)\n", c->lr);
    printf("  --lr-min X          minimum weight learning rate (%g)\n", c->lr_min);
    printf("  --momentum X        (%g)\n", c->momentum);
    printf("  --weight-decay X    (%g)\n", c->wd);
    printf("  --clip X            gradient norm clipping (%g)\n", c->clip);
    printf("  --schedule S        cosine_power or cosine (%s)\n", c->cpa ? "cosine_power" : "cosine");
    printf("  --power X           cosine power annealing exponent order (%g)\n", c->cpa_order);
    printf("  --warmup N          warmup epochs (%d)\n", c->warmup);
    printf("  --threads N         worker threads (%d; 0 = all cores)\n", c->threads);
    printf("  --device D          cpu, cuda or auto (%s: the GPU when there is one); ref runs the\n"
           "                      GPU's launch plan on the CPU through reference kernels (slow; checks\n"
           "                      the device loop without a GPU)\n", c->device);
    printf("  --resume DIR        continue the run whose checkpoint is in DIR\n");
    printf("  --stop-after N      stop after epoch N of the schedule (checkpointed; --resume continues)\n");
    printf("  --subset N          use only N training images (quick runs; %lld = all)\n", (long long)c->subset);
    printf("  --crop N            random crop padding (%d)\n", c->crop);
    printf("  --flip 0|1          horizontal flips (%d)\n", c->flip);
    printf("  --cutout N          cutout length (%d)\n", c->cutout);
    printf("  --autoaugment 0|1   AutoAugment policy (cifar10 only; %d)\n", c->autoaugment);
    if (c->search) {
        printf("  --order first|second  architecture gradient (%s)\n", c->second_order ? "second" : "first");
        printf("  --arch-lr X         Adam learning rate of the alphas (%g)\n", c->arch_lr);
        printf("  --split X           weight-training portion of the training set (%g)\n", c->split);
        printf("  --final-C N         C of the network genotype.nas describes (%d)\n", c->final_C);
        printf("  --final-layers N    its cells (%d)\n", c->final_layers);
        printf("  --final-epochs N    its training epochs (%d)\n", c->final_epochs);
        printf("  --final-aux 0|1     its auxiliary head (%d)\n", c->final_aux);
    } else {
        printf("  --drop-path X       drop path probability (%g)\n", c->drop_path);
        printf("  --aux-weight X      auxiliary loss weight (%g)\n", c->aux_weight);
        printf("  --time-budget MIN   train as many epochs as fit in MIN minutes, at most --epochs: a few\n"
               "                      steps and a test batch are timed first (%g; 0 = off, train --epochs)\n",
               c->time_budget);
        printf("  --eval-only         evaluate --weights on the test set and exit\n");
        printf("  --weights FILE      weights to evaluate (safetensors)\n");
    }
    printf("  -h, --help          this text\n");
}

/* Flags with a value: name, kind (d double, i int, s string, u seed), field. */
typedef struct {
    const char *name;
    char kind;
    size_t off;
} Flag;

#define F(name, kind, field) { name, kind, offsetof(RtConfig, field) }
static const Flag flags[] = {
    F("--epochs", 'i', epochs), F("--batch", 'i', batch), F("--threads", 'i', threads), F("--seed", 'u', seed),
    F("--data", 's', data), F("--out", 's', out), F("--resume", 's', resume), F("--dataset", 's', dataset),
    F("--weights", 's', weights), F("--lr", 'd', lr), F("--lr-min", 'd', lr_min), F("--momentum", 'd', momentum),
    F("--weight-decay", 'd', wd), F("--clip", 'd', clip), F("--power", 'd', cpa_order), F("--warmup", 'i', warmup),
    F("--arch-lr", 'd', arch_lr), F("--split", 'd', split), F("--crop", 'i', crop), F("--flip", 'i', flip),
    F("--cutout", 'i', cutout), F("--drop-path", 'd', drop_path), F("--aux-weight", 'd', aux_weight),
    F("--subset", 'l', subset), F("--final-C", 'i', final_C), F("--final-layers", 'i', final_layers),
    F("--final-epochs", 'i', final_epochs), F("--final-aux", 'i', final_aux), F("--stop-after", 'i', stop_after),
    F("--autoaugment", 'i', autoaugment), F("--device", 's', device), F("--time-budget", 'd', time_budget),
};
#undef F

int rt_config(const RtNetDesc *d, const char *const *settings, int nsettings, int argc, char **argv, RtConfig *c)
{
    memset(c, 0, sizeof *c);
    c->settings = settings;
    c->nsettings = nsettings;
    defaults(d, c);
    from_settings(c);
    const char *prog = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            help(d, c, prog);
            return 0;
        }
        if (!strcmp(s, "--eval-only")) { c->eval_only = 1; continue; }
        if (!strcmp(s, "--order") || !strcmp(s, "--schedule")) {
            if (i + 1 >= argc) goto needs;
            const char *v = argv[++i];
            if (!strcmp(s, "--order") && (!strcmp(v, "first") || !strcmp(v, "second"))) c->second_order = v[0] == 's';
            else if (!strcmp(s, "--schedule") && (!strcmp(v, "cosine_power") || !strcmp(v, "cosine"))) c->cpa = !strcmp(v, "cosine_power");
            else {
                fprintf(stderr, "%s: %s does not take '%s'\n", prog, s, v);
                return EXIT_USAGE;
            }
            continue;
        }
        const Flag *f = NULL;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (!strcmp(flags[k].name, s)) f = &flags[k];
        if (!f) {
            fprintf(stderr, "%s: unknown option '%s'\nTry `%s --help`.\n", prog, s, prog);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) goto needs;
        const char *v = argv[++i];
        char *end = NULL, *p = (char *)c + f->off;
        if (f->kind == 's') {
            size_t size = f->off == offsetof(RtConfig, dataset)  ? sizeof c->dataset
                          : f->off == offsetof(RtConfig, device) ? sizeof c->device
                                                                 : 1024;
            if (strlen(v) >= size) {
                fprintf(stderr, "%s: %s: value too long\n", prog, s);
                return EXIT_USAGE;
            }
            snprintf(p, size, "%s", v);
            if (f->off == offsetof(RtConfig, dataset)) dataset_name(c->dataset);
            continue;
        }
        double x = strtod(v, &end);
        if (!*v || *end || x < 0 || (f->kind != 'd' && x != (double)(long long)x)) {
            fprintf(stderr, "%s: %s needs a %s, not '%s'\n", prog, s,
                    f->kind == 'd' ? "non-negative number" : "non-negative integer", v);
            return EXIT_USAGE;
        }
        if (f->kind == 'd') *(double *)p = x;
        else if (f->kind == 'i') *(int *)p = (int)x;
        else if (f->kind == 'l') *(int64_t *)p = (int64_t)x;
        else *(uint64_t *)p = (uint64_t)x;
    }
    if (c->epochs < 1 || c->batch < 1) {
        fprintf(stderr, "%s: --epochs and --batch must be at least 1\n", prog);
        return EXIT_USAGE;
    }
    if (c->search && c->time_budget > 0) {
        fprintf(stderr, "%s: --time-budget applies to training, not to the search (set --epochs)\n", prog);
        return EXIT_USAGE;
    }
    if (c->warmup >= c->epochs) c->warmup = c->epochs > 1 ? c->epochs - 1 : 0;
    if (c->split <= 0 || c->split >= 1) {
        fprintf(stderr, "%s: --split must be within (0, 1)\n", prog);
        return EXIT_USAGE;
    }
    return -1;
needs:
    fprintf(stderr, "%s: %s needs a value\n", prog, argv[argc - 1]);
    return EXIT_USAGE;
}
