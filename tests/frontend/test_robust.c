/* test_robust.c: no input may crash, hang or leak the front end: every
 * prefix of every example file, empty input, binary garbage, a 1 MB line,
 * deep nesting, import cycles and missing imports. Run under ASan/UBSan in
 * the sanitizer build. Each case must finish; malformed ones must report an
 * error. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static const char *stdlib_dir;
static int cases, failed;

/* Loads `text` as a file named `name`, checks it, and elaborates its
 * networks; returns the number of errors. Diagnostics go to /dev/null. */
static int run(const char *name, const char *text, size_t size)
{
    static FILE *null;
    if (!null) null = fopen("/dev/null", "w");
    const char *dirs[1] = { stdlib_dir };
    FeOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.include_dirs = dirs;
    opt.ninclude_dirs = 1;
    opt.diag_out = null;
    FeCtx *fe = fe_new(&opt);
    if (fe_load_text(fe, name, text, size)) fe_check(fe);
    int errors = fe_error_count(fe);
    fe_free(fe);
    cases++;
    return errors;
}

static void expect_error(const char *what, const char *text, size_t size)
{
    char name[256];
    snprintf(name, sizeof name, "%s/%s.nas", stdlib_dir, what);
    if (run(name, text, size) == 0) {
        printf("FAIL: %s gave no error\n", what);
        failed++;
    } else {
        printf("ok   %s is rejected with an error\n", what);
    }
}

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *size = fread(buf, 1, (size_t)n, f);
    buf[*size] = 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: test_robust EXAMPLES_DIR [STRIDE]\n");
        return 2;
    }
    stdlib_dir = argv[1];
    /* STRIDE k > 1 (the sanitizer build, where a prefix costs 10x): every
     * k-th prefix, starting at a different offset in each file. */
    size_t stride = argc == 3 && atoi(argv[2]) > 1 ? (size_t)atoi(argv[2]) : 1;

    /* Every prefix of every example (the file name keeps imports working). */
    DIR *d = opendir(stdlib_dir);
    if (!d) { printf("FAIL: cannot open %s\n", stdlib_dir); return 1; }
    struct dirent *e;
    int files = 0;
    long prefixes = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".nas") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", stdlib_dir, e->d_name);
        size_t size;
        char *text = slurp(path, &size);
        if (!text) { printf("FAIL: cannot read %s\n", path); failed++; continue; }
        if (run(path, text, size) != 0) { printf("FAIL: %s itself has errors\n", e->d_name); failed++; }
        /* A truncated file is checked without the elaboration of big networks
         * taking minutes: every prefix is parsed and checked. */
        for (size_t n = (size_t)files % stride; n < size; n += stride) {
            char name[1100];
            snprintf(name, sizeof name, "%s/trunc-%s", stdlib_dir, e->d_name);
            run(name, text, n);
            prefixes++;
        }
        files++;
        free(text);
    }
    closedir(d);
    printf("ok   %ld prefixes (one in %zu) of %d example files: no crash\n", prefixes, stride, files);

    expect_error("unknown-cells", "network n { cells a, b; }", 25);
    run("empty", "", 0);
    printf("ok   empty input\n");

    /* Binary garbage. */
    unsigned seed = 12345;
    char garbage[4096];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof garbage; i++) {
            seed = seed * 1103515245u + 12345u;
            garbage[i] = (char)(seed >> 16);
        }
        run("garbage", garbage, sizeof garbage);
    }
    expect_error("garbage", garbage, sizeof garbage);

    /* A 1 MB line. */
    size_t big = 1 << 20;
    char *line = malloc(big + 1);
    memset(line, 'a', big);
    line[big] = 0;
    expect_error("one-megabyte-identifier", line, big);
    for (size_t i = 0; i < big; i++) line[i] = i % 2 ? '+' : '1';
    memcpy(line, "x = ", 4);
    expect_error("one-megabyte-expression", line, big);
    free(line);

    /* Deep nesting: brackets, expressions, blocks. */
    size_t deep = 100000;
    char *nest = malloc(deep * 2 + 16);
    memcpy(nest, "x = ", 4);
    for (size_t i = 0; i < deep; i++) nest[4 + i] = '(';
    expect_error("deep-parentheses", nest, 4 + deep);
    for (size_t i = 0; i < deep; i++) nest[4 + i] = '[';
    expect_error("deep-lists", nest, 4 + deep);
    size_t k = 0;
    k += (size_t)sprintf(nest, "primitive p { ");
    for (int i = 0; i < 5000; i++) k += (size_t)sprintf(nest + k, "if true { ");
    expect_error("deep-ifs", nest, k);
    k = (size_t)sprintf(nest, "x = 1");
    for (int i = 0; i < 20000; i++) k += (size_t)sprintf(nest + k, " - -1");
    run("long-chain", nest, k);
    free(nest);

    /* Primitives calling themselves. */
    const char *rec = "import \"prelude.nas\";\nprimitive loop { loop; }\nops L = [loop];\n"
                      "cell c { steps 1; edge mixed(L); }\nnetwork n : cifar_base { cells c, c; }\n";
    expect_error("recursive-primitive", rec, strlen(rec));

    /* Imports: missing, self, cycle through a temporary pair. */
    const char *miss = "import \"no-such-file.nas\";\n";
    expect_error("missing-import", miss, strlen(miss));
    char tmpdir[] = "/tmp/sharpc-robust-XXXXXX";
    if (mkdtemp(tmpdir)) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/a.nas", tmpdir);
        snprintf(b, sizeof b, "%s/b.nas", tmpdir);
        FILE *fa = fopen(a, "w"), *fb = fopen(b, "w");
        if (fa && fb) {
            fputs("import \"b.nas\";\n", fa);
            fputs("import \"a.nas\";\n", fb);
            fclose(fa);
            fclose(fb);
            size_t n = 0;
            char *t = slurp(a, &n);
            if (run(a, t, n) == 0) { printf("FAIL: import cycle gave no error\n"); failed++; }
            else printf("ok   import cycle is rejected with an error\n");
            free(t);
            const char *self = "import \"a.nas\";\n";
            if (run(a, self, strlen(self)) == 0) { printf("FAIL: self import gave no error\n"); failed++; }
            else printf("ok   self import is rejected with an error\n");
        }
        remove(a);
        remove(b);
        remove(tmpdir);
    }
    printf("%d cases, %d failed\n", cases, failed);
    return failed ? 1 : 0;
}
