/* build_c.c: builds an executable from the emitted C with the system C
 * compiler (`cc -O3 -march=native -fopenmp`), linked with libsharprt. The
 * kernels are compiled into the program from the runtime's sources, so that
 * every call is specialized to its layer's shapes. The executable appears
 * atomically: built under a temporary name, then renamed. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen.h"
#include "util.h"

#ifndef SHARPC_RUNTIME_DIR
#error "SHARPC_RUNTIME_DIR must name runtime/ (set by CMake)"
#endif
#ifndef SHARPC_RUNTIME_LIB
#error "SHARPC_RUNTIME_LIB must name libsharprt.a (set by CMake)"
#endif

/* Runs argv, waits; true when it exits 0. */
static bool run(char *const argv[], bool verbose)
{
    if (verbose) {
        for (int i = 0; argv[i]; i++) fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
        fputc('\n', stderr);
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "sharpc build: cannot start %s: %s\n", argv[0], strerror(errno));
        return false;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "sharpc build: cannot run the C compiler '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return false;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return true;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return false;
    fprintf(stderr, "sharpc build: the C compiler '%s' failed (%s %d)\n", argv[0],
            WIFEXITED(st) ? "exit status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return false;
}

static bool write_c(const CgProgram *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sharpc build: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    cg_emit_c(p, f);
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "sharpc build: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

bool cg_build_c(const CgProgram *p, const CgBuildOptions *opt)
{
    char dir[] = "/tmp/sharpc-build-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "sharpc build: cannot create a temporary directory: %s\n", strerror(errno));
        return false;
    }
    char src[sizeof dir + 16], tmp_out[4096];
    snprintf(src, sizeof src, "%s/net.c", dir);
    snprintf(tmp_out, sizeof tmp_out, "%s.tmp.%ld", opt->output, (long)getpid());
    bool ok = write_c(p, src);
    if (ok && opt->keep_c) ok = write_c(p, opt->keep_c);
    const char *cc = opt->cc ? opt->cc : getenv("CC");
    if (!cc || !*cc) cc = "cc";
    char *argv[32];
    int k = 0;
    argv[k++] = (char *)cc;
    argv[k++] = "-std=c11";
    if (opt->debug) {
        argv[k++] = "-O0";
        argv[k++] = "-g";
    } else {
        argv[k++] = "-O3";
        argv[k++] = "-march=native";
    }
    argv[k++] = "-fopenmp";
    argv[k++] = "-I" SHARPC_RUNTIME_DIR;
    argv[k++] = "-I" SHARPC_RUNTIME_DIR "/kernels/cpu";
    argv[k++] = "-I" SHARPC_GEN_DIR;
    argv[k++] = src;
    argv[k++] = SHARPC_RUNTIME_LIB;
    argv[k++] = "-lm";
#ifdef SHARPC_LINK_ZLIB
    argv[k++] = "-lz";
#endif
    argv[k++] = "-o";
    argv[k++] = tmp_out;
    argv[k] = NULL;
    if (ok) ok = run(argv, opt->verbose);
    if (ok && rename(tmp_out, opt->output) != 0) {
        fprintf(stderr, "sharpc build: cannot write %s: %s\n", opt->output, strerror(errno));
        ok = false;
    }
    if (!ok) unlink(tmp_out);
    unlink(src);
    rmdir(dir);
    return ok;
}
