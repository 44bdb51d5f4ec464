/* ship_files.c: the files around the model in `sharpc emit` output:
 * main.c (the classifier CLI, lib/main.c as it is), the Makefile and the
 * README.md, which names the network's own figures. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "ship.h"

static bool write_makefile(const CgProgram *p, const CgShipOptions *opt, FILE *m)
{
    fprintf(m, "# Makefile: builds `classify`, the classifier of the network '%s'\n"
               "# (emitted by `sharpc emit --target %s` from %s).\n",
            p->g->name, opt->cuda ? "cuda" : "c", p->source);
    if (opt->cuda)
        fprintf(m, "# model.cu by nvcc for the GPU architecture ARCH, main.c by the C compiler.\n"
                   "#   make                 for sm_80 (A100); make ARCH=sm_90 for H100/H200\n");
    else
        fprintf(m, "# Portable C99, no dependencies.\n"
                   "#   make            strict C99 build, one thread\n"
                   "#   make OPENMP=1   each layer on several threads (OMP_NUM_THREADS)\n"
                   "#   make NATIVE=1   tuned for this CPU (-O3 -march=native)\n");
    fprintf(m, "#   make ZLIB=1     also read gzip-compressed IDX files (links zlib)\n"
               "CC = cc\n"
               "CFLAGS = -std=c99 -O2 -Wall -Wextra -Werror -pedantic\n"
               "LDLIBS = -lm\n"
               "OBJS = main.o model.o%s\n",
            opt->embed ? " model_weights.o" : "");
    if (opt->cuda)
        fprintf(m, "NVCC = nvcc\n"
                   "ARCH = sm_80\n"
                   "NVCCFLAGS = -O3 -std=c++17 -arch=$(ARCH) --default-stream per-thread -Werror all-warnings \\\n"
                   "            -Xcompiler -Wall,-Wextra,-Werror\n"
                   "LINK = $(NVCC) -arch=$(ARCH)\n");
    else
        fprintf(m, "LINK = $(CC) $(LDFLAGS)\n\n"
                   "ifeq ($(OPENMP),1)\n"
                   "CFLAGS += -fopenmp\n"
                   "LDFLAGS += -fopenmp\n"
                   "endif\n"
                   "ifeq ($(NATIVE),1)\n"
                   "CFLAGS += -O3 -march=native -ffp-contract=fast\n"
                   "endif\n");
    fprintf(m, "ifeq ($(ZLIB),1)\n"
               "CFLAGS += -DMODEL_USE_ZLIB\n"
               "LDLIBS += -lz\n"
               "endif\n\n"
               "classify: $(OBJS)\n"
               "\t$(LINK) -o $@ $(OBJS) $(LDLIBS)\n\n"
               "main.o: main.c model.h\n"
               "\t$(CC) $(CFLAGS) -c main.c\n\n");
    if (opt->cuda) fprintf(m, "model.o: model.cu model.h\n\t$(NVCC) $(NVCCFLAGS) -c model.cu\n\n");
    else fprintf(m, "model.o: model.c model.h\n\t$(CC) $(CFLAGS) -c model.c\n\n");
    if (opt->embed) fprintf(m, "model_weights.o: model_weights.c\n\t$(CC) $(CFLAGS) -c model_weights.c\n\n");
    fprintf(m, "clean:\n\trm -f classify $(OBJS)\n\n.PHONY: clean\n");
    return true;
}

static bool write_readme(const CgProgram *p, const CgShipOptions *opt, FILE *r)
{
    fprintf(r,
            "# %s: standalone inference in C\n\n"
            "Emitted by `sharpc emit` from `%s`. %s\n\n"
            "| file | what |\n| --- | --- |\n"
            "| `model.h` | the API and the network's constants (input shape, classes, arena size, normalization) |\n"
            "| `%s` | the network fused for inference, the kernels it calls, the weights loader |\n"
            "%s"
            "| `main.c` | `classify`, a command-line classifier |\n"
            "| `Makefile` | `make`, `make OPENMP=1`, `make NATIVE=1`, `make ZLIB=1` |\n\n"
            "## Build and run\n\n"
            "    %s\n"
            "    ./classify %st10k-images-idx3-ubyte          # accuracy (labels found alone)\n"
            "    ./classify %simages.npy --logits logits.npy  # float32 [n, C, H, W] in, logits out\n"
            "    ./classify %stest_batch.bin --bench           # CIFAR-10 batch, with latency\n\n"
            "Raw pixels (IDX, CIFAR-10) are normalized as in training; a `.npy` input\n"
            "must already be normalized. `./classify --help` lists the options.\n\n"
            "## The API (model.h)\n\n"
            "    model_t *m = model_create(\"weights.safetensors\", 64, err, sizeof err);\n"
            "    model_forward(m, n, images, logits);  /* NCHW float32 in, n x MODEL_CLASSES out */\n"
            "    model_free(m);\n\n"
            "The weights file is a safetensors file with the reference PyTorch\n"
            "state_dict names (the `weights.safetensors` that training writes); a file\n"
            "with a missing tensor, a wrong shape or dtype, or truncated data is\n"
            "rejected with a message naming the tensor. At creation, batch norm is\n"
            "folded into the convolution before it. All activations live in one arena\n"
            "of `max_batch * MODEL_ARENA_FLOATS` floats planned by liveness; nothing is\n"
            "allocated after creation and nothing is global, so two models can run in\n"
            "two threads.\n",
            p->g->name, p->source,
            opt->cuda ? "CUDA: `model.cu` builds with nvcc (the CUDA toolkit, no other library);\n"
                        "`main.c` with any C compiler. The images and logits of the API are host\n"
                        "arrays; each chunk of max_batch images is copied to the GPU and back."
                      : "Portable C99: builds with any C compiler, needs no library (OpenMP and\n"
                        "zlib optional).",
            opt->cuda ? "model.cu" : "model.c",
            opt->embed ? "| `model_weights.c` | the weights, compiled in (`model_create_embedded`) |\n" : "",
            opt->cuda ? "make ARCH=sm_90            # nvcc; sm_80 for A100" : "make OPENMP=1 NATIVE=1",
            opt->embed ? "" : "--weights weights.safetensors ", opt->embed ? "" : "--weights weights.safetensors ",
            opt->embed ? "" : "--weights weights.safetensors ");
    if (opt->train)
        fprintf(r, "\n## Training\n\n`train/` holds a standalone program that trains this network from\n"
                   "scratch; see `train/README.md`.\n");
    return true;
}

bool ship_files(const CgProgram *p, const CgShipOptions *opt, const char *dir)
{
    FILE *f;
    char lib[4200];
    cg_path_join(CG_PATH_SHIP_LIB, NULL, "/main.c", lib, sizeof lib);
    bool ok = (f = ship_open(dir, "main.c")) && ship_copy_file(f, lib) & ship_close(f, dir, "main.c");
    if (ok) ok = (f = ship_open(dir, "Makefile")) && write_makefile(p, opt, f) & ship_close(f, dir, "Makefile");
    if (ok) ok = (f = ship_open(dir, "README.md")) && write_readme(p, opt, f) & ship_close(f, dir, "README.md");
    return ok;
}
