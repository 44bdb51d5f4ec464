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

#ifndef SHARPC_RUNTIME_LIB
#error "SHARPC_RUNTIME_LIB must name libsharprt.a (set by CMake)"
#endif

/* Starts argv; returns its pid, or -1. */
static pid_t start(char *const argv[], bool verbose)
{
    if (verbose) {
        for (int i = 0; argv[i]; i++) fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
        fputc('\n', stderr);
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "sharpc build: cannot start %s: %s\n", argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "sharpc build: cannot run the C compiler '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Waits for pid; true when it exited 0. */
static bool finish(pid_t pid, const char *what)
{
    if (pid < 0) return false;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return false;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return true;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return false;
    fprintf(stderr, "sharpc build: the C compiler failed on %s (%s %d)\n", what,
            WIFEXITED(st) ? "exit status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return false;
}

bool cg_write_c(const CgProgram *p, const char *kern_path, const char *net_path)
{
    FILE *k = fopen(kern_path, "w"), *n = fopen(net_path, "w");
    bool ok = k && n;
    if (ok) {
        cg_emit_c(p, k, n);
        /* the run settings of the .nas file: the executable's defaults */
        fprintf(n, "\nstatic const char *const net_settings[] = {\n");
        for (int i = 0; i < p->g->nmeta; i++) {
            fputs("    \"", n);
            for (const char *c = p->g->meta[i]; *c; c++)
                if (*c == '"' || *c == '\\') fprintf(n, "\\%c", *c);
                else if ((unsigned char)*c < 32) fputc(' ', n);
                else fputc(*c, n);
            fputs("\",\n", n);
        }
        fprintf(n, "    NULL\n};\n\nint main(int argc, char **argv)\n{\n"
                   "    return rt_main(&sharp_net, net_settings, %d, argc, argv);\n}\n", p->g->nmeta);
    }
    if (k && (ferror(k) | fclose(k))) ok = false;
    if (n && (ferror(n) | fclose(n))) ok = false;
    if (!ok) fprintf(stderr, "sharpc build: cannot write %s: %s\n", !k ? kern_path : net_path, strerror(errno));
    return ok;
}

/* Fills argv with the compile command of one unit; returns the count. */
static int compile_cmd(char **argv, const char *cc, const CgBuildOptions *opt, bool kernels, const char *src,
                       const char *obj)
{
    int k = 0;
    argv[k++] = (char *)cc;
    argv[k++] = "-std=c11";
    if (opt->debug) {
        argv[k++] = "-O0";
        argv[k++] = "-g";
    } else if (kernels) {
        argv[k++] = "-O3";
        argv[k++] = "-march=native";
        argv[k++] = "-ffp-contract=fast";
    } else {
        /* straight-line call sequences: nothing to optimize, much to parse */
        argv[k++] = "-O0";
    }
    argv[k++] = "-fopenmp";
#ifdef SHARPC_LINK_SANITIZE
    /* libsharprt was built with the sanitizers: the program must be too */
    argv[k++] = "-fsanitize=address,undefined";
#endif
    static char inc[4][4200]; /* the same for every call */
    argv[k++] = (char *)cg_path_join(CG_PATH_RUNTIME, "-I", NULL, inc[0], sizeof inc[0]);
    argv[k++] = (char *)cg_path_join(CG_PATH_RUNTIME, "-I", "/kernels/cpu", inc[1], sizeof inc[1]);
    argv[k++] = (char *)cg_path_join(CG_PATH_RUNTIME, "-I", "/device", inc[2], sizeof inc[2]);
    argv[k++] = (char *)cg_path_join(CG_PATH_GEN, "-I", NULL, inc[3], sizeof inc[3]);
    argv[k++] = "-c";
    argv[k++] = (char *)src;
    argv[k++] = "-o";
    argv[k++] = (char *)obj;
    argv[k] = NULL;
    return k;
}

bool cg_build_c(const CgProgram *p, const CgBuildOptions *opt)
{
    char dir[] = "/tmp/sharpc-build-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "sharpc build: cannot create a temporary directory: %s\n", strerror(errno));
        return false;
    }
    char ksrc[64], nsrc[64], kobj[64], nobj[64], tmp_out[4096];
    snprintf(ksrc, sizeof ksrc, "%s/kernels.c", dir);
    snprintf(nsrc, sizeof nsrc, "%s/net.c", dir);
    snprintf(kobj, sizeof kobj, "%s/kernels.o", dir);
    snprintf(nobj, sizeof nobj, "%s/net.o", dir);
    snprintf(tmp_out, sizeof tmp_out, "%s.tmp.%ld", opt->output, (long)getpid());
    bool ok = cg_write_c(p, ksrc, nsrc);
    if (ok && opt->keep_c) {
        char kk[4096], nk[4096];
        snprintf(kk, sizeof kk, "%s/kernels.c", opt->keep_c);
        snprintf(nk, sizeof nk, "%s/net.c", opt->keep_c);
        if (mkdir(opt->keep_c, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "sharpc build: cannot create %s: %s\n", opt->keep_c, strerror(errno));
            ok = false;
        } else {
            ok = cg_write_c(p, kk, nk);
        }
    }
    const char *cc = opt->cc ? opt->cc : getenv("CC");
    if (!cc || !*cc) cc = "cc";
    char *kargv[32], *nargv[32], *largv[32];
    compile_cmd(kargv, cc, opt, true, ksrc, kobj);
    compile_cmd(nargv, cc, opt, false, nsrc, nobj);
    if (ok) {
        /* the two units compile in parallel */
        pid_t kp = start(kargv, opt->verbose);
        pid_t np = start(nargv, opt->verbose);
        bool kok = finish(kp, "the kernels"), nok = finish(np, "the network");
        ok = kok && nok;
    }
    int k = 0;
    largv[k++] = (char *)cc;
    largv[k++] = "-fopenmp";
#ifdef SHARPC_LINK_SANITIZE
    largv[k++] = "-fsanitize=address,undefined";
#endif
    largv[k++] = kobj;
    largv[k++] = nobj;
    largv[k++] = (char *)cg_path(CG_PATH_RUNTIME_LIB);
    largv[k++] = "-lm";
#ifdef SHARPC_LINK_ZLIB
    largv[k++] = "-lz";
#endif
    largv[k++] = "-o";
    largv[k++] = tmp_out;
    largv[k] = NULL;
    if (ok) ok = finish(start(largv, opt->verbose), "the link");
    if (ok && rename(tmp_out, opt->output) != 0) {
        fprintf(stderr, "sharpc build: cannot write %s: %s\n", opt->output, strerror(errno));
        ok = false;
    }
    if (!ok) unlink(tmp_out);
    unlink(ksrc);
    unlink(nsrc);
    unlink(kobj);
    unlink(nobj);
    rmdir(dir);
    return ok;
}
