/* ship_train.c: the standalone training program of `sharpc emit --train`
 * (DIR/train). It is the program `sharpc build` makes, as source:
 *   kernels.c, net.c   the network's C as cg_write_c writes it (the kernel
 *                      wrappers; the programs, the sharp_net descriptor, the
 *                      .nas run settings and main() calling rt_main());
 *   runtime/           a copy of the runtime sources the program links
 *                      (libsharprt less the GPU layer), names unchanged, with
 *                      cpu_kernels_all.h written here rather than by CMake;
 *   Makefile           builds `train` from these files alone (C99, gcc or
 *                      clang; OpenMP, zlib and -march=native optional);
 *   README.md          what it is, how to build and run it, what it writes.
 * Nothing outside DIR/train is included. Built with `make OPENMP=1 NATIVE=1`
 * the kernel units get the flags `sharpc build` gives them and the runtime
 * those libsharprt is built with, so the same seed and thread count repeat
 * the `sharpc build` executable's run bit for bit. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ship.h"
#include "util.h"

/* Runtime sources a CPU training program leaves out, and why. */
static const struct {
    const char *name, *why;
} left_out[] = {
    { "rt_cuda.c", "the GPU device layer (CUDA, NVRTC, cuDNN through dlopen), unused on the CPU" },
};

/* The left-out names, NULL-terminated, for ship_list_dir. */
static const char *const *left_out_names(void)
{
    static const char *names[sizeof left_out / sizeof left_out[0] + 1];
    for (size_t i = 0; i < sizeof left_out / sizeof left_out[0]; i++) names[i] = left_out[i].name;
    return names;
}

/* Copies from_dir/name to to_dir/name. */
static bool copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/%s", from_dir, name);
    FILE *out = ship_open(to_dir, name);
    if (!out) return false;
    bool ok = ship_copy_file(out, src);
    return ship_close(out, to_dir, name) && ok;
}

static bool make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0) return true;
    fprintf(stderr, "sharpc emit: cannot create %s: %s\n", path, strerror(errno));
    return false;
}

/* The runtime's sources and headers, and the kernels', in one program. */
typedef struct {
    bool cuda;             /* with the GPU layer (--target cuda) */
    ShipNames rt_c, rt_h;  /* sources and headers in runtime/ */
    ShipNames k_c, k_h;    /* sources and headers in runtime/kernels/cpu/ */
    ShipNames d_c, d_h;    /* the device loop in runtime/device/ (cuda) */
    ShipNames cu, cuh, ch; /* the CUDA kernel sources in runtime/kernels/cuda/ (cuda) */
} Sources;

static void sources_free(Sources *s)
{
    ShipNames *all[] = { &s->rt_c, &s->rt_h, &s->k_c, &s->k_h, &s->d_c, &s->d_h, &s->cu, &s->cuh, &s->ch };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ship_names_free(all[i]);
}

/* Copies the GPU layer: runtime/device and the CUDA kernel sources. */
static bool copy_device(const char *dir, Sources *s)
{
    char dev[4200], cu[4200];
    cg_path_join(CG_PATH_RUNTIME, NULL, "/device", dev, sizeof dev);
    cg_path_join(CG_PATH_RUNTIME, NULL, "/kernels/cuda", cu, sizeof cu);
    if (!ship_list_dir(dev, ".c", NULL, &s->d_c) || !ship_list_dir(dev, ".h", NULL, &s->d_h) ||
        !ship_list_dir(cu, ".cu", NULL, &s->cu) || !ship_list_dir(cu, ".cuh", NULL, &s->cuh) ||
        !ship_list_dir(cu, ".h", NULL, &s->ch))
        return false;
    char ddir[4096], cdir[4096];
    snprintf(ddir, sizeof ddir, "%s/runtime/device", dir);
    snprintf(cdir, sizeof cdir, "%s/runtime/kernels/cuda", dir);
    if (!make_dir(ddir) || !make_dir(cdir)) return false;
    const ShipNames *dl[] = { &s->d_c, &s->d_h };
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < dl[l]->n; i++)
            if (!copy_file(dev, ddir, dl[l]->name[i])) return false;
    const ShipNames *cl[] = { &s->cu, &s->cuh, &s->ch };
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < cl[l]->n; i++)
            if (!copy_file(cu, cdir, cl[l]->name[i])) return false;
    /* the sources as C arrays for NVRTC, as CMake made them for libsharprt */
    char gen[4200];
    return copy_file(cg_path_join(CG_PATH_GEN, NULL, NULL, gen, sizeof gen), ddir, "rt_cuda_sources.c");
}

/* Copies the runtime into dir/runtime and writes cpu_kernels_all.h. */
static bool copy_runtime(const char *dir, Sources *s)
{
    const char *rt = cg_path(CG_PATH_RUNTIME);
    char kern[4200];
    cg_path_join(CG_PATH_RUNTIME, NULL, "/kernels/cpu", kern, sizeof kern);
    const char *const *out = s->cuda ? NULL : left_out_names();
    if (!ship_list_dir(rt, ".c", out, &s->rt_c) || !ship_list_dir(rt, ".h", out, &s->rt_h) ||
        !ship_list_dir(kern, ".c", out, &s->k_c) || !ship_list_dir(kern, ".h", out, &s->k_h))
        return false;
    char rdir[4096], kdir[4096];
    snprintf(rdir, sizeof rdir, "%s/runtime", dir);
    snprintf(kdir, sizeof kdir, "%s/runtime/kernels", dir);
    if (!make_dir(rdir) || !make_dir(kdir)) return false;
    snprintf(kdir, sizeof kdir, "%s/runtime/kernels/cpu", dir);
    if (!make_dir(kdir)) return false;
    const ShipNames *lists[] = { &s->rt_c, &s->rt_h, &s->k_c, &s->k_h };
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < lists[l]->n; i++)
            if (!copy_file(l < 2 ? rt : kern, l < 2 ? rdir : kdir, lists[l]->name[i])) return false;
    /* the kernel unit pastes every kernel in, as CMake's header does */
    FILE *f = ship_open(kdir, "cpu_kernels_all.h");
    if (!f) return false;
    fprintf(f, "/* cpu_kernels_all.h: every CPU kernel source, pasted into kernels.c as\n"
               " * `static inline` (kernels.c defines K_FN first). Written by sharpc emit. */\n");
    for (int i = 0; i < s->k_c.n; i++) fprintf(f, "#include \"%s\"\n", s->k_c.name[i]);
    if (!ship_close(f, kdir, "cpu_kernels_all.h")) return false;
    return !s->cuda || copy_device(dir, s);
}

/* Prints `NAME = prefix/a.c prefix/b.c ...` wrapped, one file a line. */
static void make_list(FILE *m, const char *var, const char *prefix, const ShipNames *l)
{
    fprintf(m, "%s =", var);
    for (int i = 0; i < l->n; i++) fprintf(m, " \\\n    %s%s", prefix, l->name[i]);
    fputs("\n", m);
}

static bool write_makefile(const CgProgram *p, const Sources *s, FILE *m)
{
    fprintf(m,
            "# Makefile: builds `train`, the standalone training program of network\n"
            "# '%s'. Emitted by `sharpc emit --train` from\n"
            "# %s. GNU make.\n"
            "#   make              strict C99 build (any C compiler), one thread\n"
            "#   make OPENMP=1     OpenMP threads in the kernels and augmentation (--threads)\n"
            "#   make ZLIB=1       also read gzip-compressed IDX files (links zlib)\n"
            "#   make NATIVE=1     kernels tuned for this CPU (-O3 -march=native\n"
            "#                     -ffp-contract=fast, as `sharpc build` compiles them)\n"
            "#   make CC=clang     another compiler; CFLAGS=... replaces the flags\n"
            "# NATIVE touches the kernel units only: the runtime keeps CFLAGS, so that\n"
            "# `make OPENMP=1 NATIVE=1` gives the `sharpc build` executable's numbers.\n"
            "%s"
            "CC = cc\n"
            "CFLAGS = -std=c99 -O2 -Wall -Wextra -Werror -pedantic\n"
            "CPPFLAGS = -Iruntime -Iruntime/kernels/cpu %s\n"
            "LDLIBS = -lm%s\n"
            "KFLAGS =\n\n"
            "ifeq ($(OPENMP),1)\n"
            "XFLAGS += -fopenmp\n"
            "endif\n"
            "ifeq ($(ZLIB),1)\n"
            "CPPFLAGS += -DSHARPRT_HAVE_ZLIB=1\n"
            "LDLIBS += -lz\n"
            "endif\n"
            "ifeq ($(NATIVE),1)\n"
            "KFLAGS += -O3 -march=native -ffp-contract=fast\n"
            "endif\n\n"
            "# the runtime: data sets, augmentation, optimizers, schedules,\n"
            "# checkpoints, safetensors, the training loop, the command line\n",
            p->g->name, p->source,
            s->cuda ? "# The GPU layer (runtime/device, runtime/rt_cuda.c) opens the CUDA driver and\n"
                      "# NVRTC with dlopen when the program runs (no CUDA needed to build): NVRTC\n"
                      "# compiles the kernels of runtime/kernels/cuda at the first start, into the\n"
                      "# disk cache; `make cache ARCH=90` does it ahead of time (no GPU needed).\n"
                    : "",
            s->cuda ? "-Iruntime/device -Iruntime/kernels/cuda" : "-DSHARPRT_NO_CUDA", s->cuda ? " -ldl" : "");
    make_list(m, "RT_SRCS", "runtime/", &s->rt_c);
    if (s->cuda) {
        fputs("# the device loop: the network's CUDA launch plan (in net.c) run on the GPU,\n"
              "# or on the CUDA kernels' CPU references (--device ref)\n", m);
        make_list(m, "DEV_SRCS", "runtime/device/", &s->d_c);
        fputs("DEV_SRCS += runtime/device/rt_cuda_sources.c\n", m);
    } else {
        for (size_t i = 0; i < sizeof left_out / sizeof left_out[0]; i++)
            fprintf(m, "# not here: %s, %s\n", left_out[i].name, left_out[i].why);
        fputs("DEV_SRCS =\n", m);
    }
    fputs("# the CPU kernels (the runtime calls a few; kernels.c pastes them all)\n", m);
    make_list(m, "KERNEL_SRCS", "runtime/kernels/cpu/", &s->k_c);
    fputs("HEADERS =", m);
    for (int i = 0; i < s->rt_h.n; i++) fprintf(m, " \\\n    runtime/%s", s->rt_h.name[i]);
    for (int i = 0; i < s->k_h.n; i++) fprintf(m, " \\\n    runtime/kernels/cpu/%s", s->k_h.name[i]);
    for (int i = 0; i < s->d_h.n; i++) fprintf(m, " \\\n    runtime/device/%s", s->d_h.name[i]);
    for (int i = 0; i < s->ch.n; i++) fprintf(m, " \\\n    runtime/kernels/cuda/%s", s->ch.name[i]);
    fputs(" \\\n    runtime/kernels/cpu/cpu_kernels_all.h\n", m);
    fputs("RT_OBJS = $(RT_SRCS:.c=.o) $(DEV_SRCS:.c=.o)\n"
          "KERNEL_OBJS = $(KERNEL_SRCS:.c=.o)\n\n"
          "all: train\n\n"
          "# net.c: the network's forward, backward and eval programs, settings, main();\n"
          "# kernels.c: one wrapper per kernel call, every shape a literal\n"
          "train: kernels.o net.o libsharprt.a\n"
          "\t$(CC) $(CFLAGS) $(XFLAGS) $(LDFLAGS) -o $@ kernels.o net.o libsharprt.a $(LDLIBS)\n\n"
          "kernels.o: kernels.c $(HEADERS) $(KERNEL_SRCS)\n"
          "\t$(CC) $(CPPFLAGS) $(CFLAGS) $(XFLAGS) $(KFLAGS) -c kernels.c -o $@\n\n"
          "net.o: net.c $(HEADERS)\n"
          "\t$(CC) $(CPPFLAGS) $(CFLAGS) $(XFLAGS) -c net.c -o $@\n\n"
          "libsharprt.a: $(RT_OBJS) $(KERNEL_OBJS)\n"
          "\trm -f $@\n"
          "\t$(AR) rcs $@ $(RT_OBJS) $(KERNEL_OBJS)\n\n"
          "runtime/kernels/cpu/%.o: runtime/kernels/cpu/%.c $(HEADERS)\n"
          "\t$(CC) $(CPPFLAGS) $(CFLAGS) $(XFLAGS) $(KFLAGS) -c $< -o $@\n\n"
          "runtime/%.o: runtime/%.c $(HEADERS)\n"
          "\t$(CC) $(CPPFLAGS) $(CFLAGS) $(XFLAGS) -c $< -o $@\n\n"
          "clean:\n"
          "\trm -f train kernels.o net.o libsharprt.a $(RT_OBJS) $(KERNEL_OBJS)\n\n",
          m);
    if (s->cuda)
        fputs("# the GPU kernels into the NVRTC disk cache for sm_$(ARCH) (80: A100,\n"
              "# 90: H100/H200), so the first start on such a GPU compiles nothing\n"
              "ARCH = 90\n"
              "cache: train\n"
              "\t./train cuda-compile --arch $(ARCH)\n\n"
              ".PHONY: all clean cache\n",
              m);
    else
        fputs(".PHONY: all clean\n", m);
    return true;
}

/* The .nas settings (meta facts "run.KEY=VALUE") as a list for the README. */
static void readme_settings(const CgProgram *p, FILE *r)
{
    bool any = false;
    for (int i = 0; i < p->g->nmeta; i++) {
        const char *kv = p->g->meta[i];
        if (strncmp(kv, "run.", 4) != 0 || strncmp(kv, "run.kind=", 9) == 0 || strncmp(kv, "run.network=", 12) == 0)
            continue;
        if (!any) fputs("The settings of the `.nas` file are the defaults (the flags of `./train --help`\n"
                        "override them):\n\n", r);
        any = true;
        fprintf(r, "    %s\n", kv + 4);
    }
    if (any) fputs("\n", r);
}

static bool write_readme(const CgProgram *p, bool cuda, FILE *r)
{
    fprintf(r,
            "# %s: standalone training program\n\n"
            "Emitted by `sharpc emit --train` from `%s`.\n\n"
            "It trains network `%s` from scratch as the executable that\n"
            "`sharpc build` makes from the same file does: SGD with momentum, weight\n"
            "decay and gradient clipping under Cosine Power Annealing (or cosine),\n"
            "random crop, flip and cutout, drop path, the auxiliary head's loss, an\n"
            "evaluation on the test set every epoch, checkpoints and resume. Portable\n"
            "C99 with no dependency; OpenMP and zlib are optional.\n\n"
            "| file | what |\n| --- | --- |\n"
            "| `net.c` | the network: training forward, backward and eval forward as kernel calls, its parameters, the `.nas` settings, `main()` |\n"
            "| `kernels.c` | one wrapper per kernel call, every shape a literal (the kernels pasted in as `static inline`) |\n"
            "| `runtime/` | the runtime library: data sets, augmentation, optimizers, schedules, safetensors, checkpoints, the training loop, the command line |\n"
            "| `runtime/kernels/cpu/` | the CPU kernels (plain references and tuned versions) |\n"
            "| `Makefile` | `make`, `make OPENMP=1`, `make ZLIB=1`, `make NATIVE=1`, `make clean` |\n\n"
            "## Build\n\n"
            "    make                       # strict C99 (-std=c99 -pedantic -Werror), one thread\n"
            "    make OPENMP=1 NATIVE=1     # fast: OpenMP threads, kernels for this CPU\n"
            "    make CC=clang ZLIB=1       # clang; read .gz data files too\n\n"
            "`make OPENMP=1 NATIVE=1` compiles the kernels with the flags `sharpc build`\n"
            "uses and the runtime as its library is compiled, so a run repeats the\n"
            "`sharpc build` executable's run bit for bit (same seed, same `--threads`).\n\n"
            "## Run\n\n"
            "    ./train --help                                  # every flag, with its current value\n"
            "    ./train --data DIR --out run1                   # train; --epochs, --batch, --lr, ...\n"
            "    ./train --data DIR --out run1 --subset 512 --epochs 1   # a quick try\n"
            "    ./train --resume run1                           # continue from run1's checkpoint\n"
            "    ./train --data DIR --eval-only --weights run1/weights.safetensors\n\n"
            "`--data DIR` holds the data set: Fashion-MNIST or MNIST IDX files\n"
            "(`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-...`; the\n"
            "`.gz` files need `make ZLIB=1`, or `gunzip` them) or the CIFAR-10 binary\n"
            "batches (`data_batch_1.bin` ... `test_batch.bin`, also in\n"
            "`DIR/cifar-10-batches-bin`). Without `--data`, (Fashion-)MNIST is read\n"
            "from Debian's `/usr/share/datasets/` (gzip'd: `make ZLIB=1`). `--threads N`\n"
            "sets the OpenMP threads. Ctrl-C writes a checkpoint and stops; a loss\n"
            "that is not finite stops the run with a message and keeps the last good\n"
            "checkpoint.\n\n",
            p->g->name, p->source, p->g->name);
    if (cuda)
        fputs("## On a GPU\n\n"
              "This program carries the GPU layer (`sharpc emit --target cuda --train`):\n"
              "with an NVIDIA GPU and its driver, `--device auto` (the default) or\n"
              "`--device cuda` trains on GPU 0 with weights, activations and optimizer\n"
              "states on the device, running the network's CUDA launch plan (in\n"
              "`net.c`) with the kernel templates of `runtime/kernels/cuda/`. NVRTC\n"
              "(`libnvrtc`, part of the CUDA toolkit) specializes the kernels to every\n"
              "layer's shapes at the first start and caches them on disk\n"
              "(`$XDG_CACHE_HOME/sharpc` or `~/.cache/sharpc`); `make cache ARCH=90`\n"
              "fills the cache ahead of time without a GPU. Nothing CUDA is needed to\n"
              "build: the driver and NVRTC are opened with `dlopen` at run time, and\n"
              "without them the program trains on the CPU. `--device ref` runs the GPU's\n"
              "launch plan on the CPU through the kernels' reference implementations\n"
              "(slow; a check without a GPU). `./train bench --device cuda` times steps.\n\n",
              r);
    readme_settings(p, r);
    fputs("## Output (in `--out DIR`)\n\n"
          "| file | what |\n| --- | --- |\n"
          "| `log.jsonl` | one JSON line per epoch: learning rate, drop path, train loss and accuracy, test loss, top-1, top-5, images/s |\n"
          "| `weights.safetensors` | the weights after the last epoch (PyTorch state_dict names) |\n"
          "| `weights.best.safetensors` | the weights of the epoch with the best test top-1 |\n"
          "| `checkpoint.safetensors` | weights, optimizer state and position, written atomically every epoch (`--resume DIR`) |\n\n"
          "The weights files load into the reference PyTorch model and into the\n"
          "inference library beside this directory (`../model.h`).\n",
          r);
    return true;
}

bool cg_ship_train(const CgProgram *p, const char *dir, bool cuda)
{
    char kern[4096], net[4096];
    snprintf(kern, sizeof kern, "%s/kernels.c", dir);
    snprintf(net, sizeof net, "%s/net.c", dir);
    if (!cg_write_c(p, kern, net)) return false;
    Sources s;
    memset(&s, 0, sizeof s);
    s.cuda = cuda;
    bool ok = copy_runtime(dir, &s);
    FILE *f;
    if (ok) ok = (f = ship_open(dir, "Makefile")) && write_makefile(p, &s, f) & ship_close(f, dir, "Makefile");
    if (ok) ok = (f = ship_open(dir, "README.md")) && write_readme(p, cuda, f) & ship_close(f, dir, "README.md");
    sources_free(&s);
    return ok;
}
