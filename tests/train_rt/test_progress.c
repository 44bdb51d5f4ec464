/* test_progress.c: the progress reporter on a fake clock (redraw rate,
 * one line per epoch off a terminal, throughput and ETA), the signal flag
 * and the second-signal exit, the OpenMP spin count under load, and the
 * JSON/CSV log writers' exact text and error reporting. */
#define _POSIX_C_SOURCE 200809L
#include "tr_test.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double fake_now;
static double fake_clock(void) {
  return fake_now;
}

/* Runs epochs x 100 steps of 10 ms and 64 images into a temporary file;
 * returns its text (malloc'd) and the reporter's redraw count. */
static char *run_progress(int tty, int epochs, int *redraws) {
  FILE *fp = tmpfile();
  if (!fp) return NULL;
  RtProgress p;
  rt_progress_init(&p, fp, epochs, 100, tty);
  p.clock = fake_clock;
  fake_now = 1000;
  p.t_start = p.t_epoch = fake_now;
  for (int e = 1; e <= epochs; e++) {
    for (int s = 1; s <= 100; s++) {
      fake_now += 0.01;
      rt_progress_step(&p, e, s, 2.0 / (e * s), 0.5, 64);
    }
    rt_progress_epoch_end(&p, e, 1.0 / e, 0.5 + 0.1 * e, e == 1 ? "valid_acc 0.6123" : NULL);
  }
  *redraws = p.redraws;
  long n = ftell(fp);
  char *text = calloc((size_t)n + 1, 1);
  rewind(fp);
  if (text && fread(text, 1, (size_t)n, fp) != (size_t)n) text[0] = 0;
  fclose(fp);
  return text;
}

static int count_char(const char *s, char c) {
  int n = 0;
  for (; s && *s; s++) n += *s == c;
  return n;
}

int test_progress(TestCtx *ctx) {
  int redraws;
  char *text = run_progress(0, 3, &redraws);
  CHECK(ctx, text && count_char(text, '\n') == 3 && count_char(text, '\r') == 0 && redraws == 0,
        "not a terminal: want 3 lines, got:\n%s", text ? text : "(null)");
  CHECK(ctx, text && strstr(text, "epoch 1/3 loss 1.0000 acc 60.00% 6400 img/s time 1s ETA 2s valid_acc 0.6123\n"),
        "epoch line: %s", text ? text : "(null)");
  CHECK(ctx, text && strstr(text, "epoch 3/3 ") && strstr(text, "ETA 0s\n"), "last epoch line: %s", text ? text : "");
  free(text);
  text = run_progress(1, 2, &redraws);
  /* 1 s per epoch at <= 10 redraws per second, plus the epoch's last step. */
  CHECK(ctx, redraws >= 18 && redraws <= 24, "terminal: %d redraws over 2 s of 200 steps", redraws);
  CHECK(ctx, text && count_char(text, '\r') == redraws && strstr(text, "\repoch 2/2 step 100/100 loss 0.0100 acc 50.00%"),
        "terminal line missing: %s", text ? text : "");
  free(text);
  char buf[32];
  rt_format_duration(3723, buf, sizeof buf);
  CHECK(ctx, strcmp(buf, "1h02m03s") == 0, "duration %s", buf);
  rt_format_duration(-1, buf, sizeof buf);
  CHECK(ctx, strcmp(buf, "?") == 0, "negative duration %s", buf);
  printf("progress: 3 epochs off a terminal -> 3 lines; 200 steps on a terminal over 2 s -> %d redraws\n", redraws);
  return ctx->failures;
}

int test_signal(TestCtx *ctx) {
  char err[256];
  CHECK(ctx, rt_signal_install(err, sizeof err) == 0, "install: %s", err);
  CHECK(ctx, rt_signal_pending() == 0, "flag set before any signal");
  raise(SIGINT);
  CHECK(ctx, rt_signal_pending() == SIGINT, "SIGINT not recorded: %d", rt_signal_pending());
  rt_signal_clear();
  raise(SIGTERM);
  CHECK(ctx, rt_signal_pending() == SIGTERM, "SIGTERM not recorded: %d", rt_signal_pending());
  rt_signal_clear();
  /* A second signal ends a child at once with 128 + signal. */
  pid_t pid = fork();
  if (pid == 0) {
    raise(SIGINT);
    if (rt_signal_pending() != SIGINT) _exit(3);
    raise(SIGTERM);
    _exit(4);
  }
  int status = 0;
  CHECK(ctx, pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait failed");
  CHECK(ctx, WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM, "second signal: status %d", status);
  printf("signal: SIGINT and SIGTERM set the flag; a second signal exited with %d\n", WEXITSTATUS(status));
  return ctx->failures;
}

/* rt_spin_count: with every CPU busy (one spinning child per CPU), the
 * short spin; either way one of the two documented counts. */
int test_spin(TestCtx *ctx) {
  int quiet = rt_spin_count();
  CHECK(ctx, quiet == 1000 || quiet == 10000, "spin count %d", quiet);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 1;
  if (ncpu > 64) ncpu = 64;
  pid_t kids[64];
  for (long i = 0; i < ncpu; i++) {
    kids[i] = fork();
    if (kids[i] == 0)
      for (volatile unsigned long x = 0;; x++) {
      }
  }
  /* let them start, then look */
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
  int busy = rt_spin_count();
  for (long i = 0; i < ncpu; i++)
    if (kids[i] > 0) {
      kill(kids[i], SIGKILL);
      waitpid(kids[i], NULL, 0);
    }
  CHECK(ctx, busy == 1000, "spin count %d with %ld busy processes on %ld CPUs", busy, ncpu, ncpu);
  printf("spin: %d spins now, %d with every CPU busy\n", quiet, busy);
  return ctx->failures;
}

int test_json(TestCtx *ctx) {
  char path[512], csv[512], err[512];
  snprintf(path, sizeof path, "%s/log.jsonl", ctx->tmpdir);
  snprintf(csv, sizeof csv, "%s/alphas.csv", ctx->tmpdir);
  remove(path), remove(csv);
  RtJson j;
  rt_json_init(&j);
  rt_json_int(&j, "epoch", 3);
  rt_json_num(&j, "lr", 0.025);
  rt_json_num(&j, "loss", 0.0 / 0.0);
  rt_json_str(&j, "genotype", "Genotype(\"a\\b\"\n\t\x01)");
  rt_json_bool(&j, "best", 1);
  double d[3] = {1, -2.5, 1e-300};
  float f[2] = {0.1f, 3};
  const char *names[2] = {"sep_conv_3x3", NULL};
  rt_json_num_array(&j, "d", d, 3);
  rt_json_float_array(&j, "f", f, 2);
  rt_json_str_array(&j, "ops", names, 2);
  rt_json_num_array(&j, "empty", NULL, 0);
  const char *want = "{\"epoch\":3,\"lr\":0.025000000000000001,\"loss\":null,"
                     "\"genotype\":\"Genotype(\\\"a\\\\b\\\"\\n\\t\\u0001)\",\"best\":true,"
                     "\"d\":[1,-2.5,1e-300],\"f\":[0.100000001,3],"
                     "\"ops\":[\"sep_conv_3x3\",null],\"empty\":[]}";
  const char *got = rt_json_text(&j);
  CHECK(ctx, got && strcmp(got, want) == 0, "json text:\n got  %s\n want %s", got ? got : "(null)", want);
  CHECK(ctx, rt_json_append(path, &j, err, sizeof err) == 0 && rt_json_append(path, &j, err, sizeof err) == 0,
        "append: %s", err);
  rt_json_free(&j);
  RtJson e;
  rt_json_init(&e);
  CHECK(ctx, strcmp(rt_json_text(&e), "{}") == 0, "empty object: %s", rt_json_text(&e));
  rt_json_free(&e);
  size_t n;
  char *file = (char *)read_file(path, &n);
  size_t wl = strlen(want);
  CHECK(ctx, file && n == 2 * (wl + 1) && memcmp(file, want, wl) == 0 && file[wl] == '\n' &&
                 memcmp(file + wl + 1, want, wl) == 0,
        "log.jsonl has %zu bytes, want 2 lines of %zu", n, wl + 1);
  free(file);

  const char *row[] = {"epoch", "a,b", "say \"hi\"", NULL, "line\nbreak"};
  CHECK(ctx, rt_csv_append(csv, row, 5, err, sizeof err) == 0, "csv: %s", err);
  const char *lead[] = {"normal", "0"};
  double vals[] = {0.125, 1.0 / 3, 0.0 / 0.0};
  CHECK(ctx, rt_csv_append_numbers(csv, lead, 2, vals, 3, err, sizeof err) == 0, "csv numbers: %s", err);
  file = (char *)read_file(csv, &n);
  const char *want_csv = "epoch,\"a,b\",\"say \"\"hi\"\"\",,\"line\nbreak\"\nnormal,0,0.125,0.333333333,nan\n";
  CHECK(ctx, file && n == strlen(want_csv) && memcmp(file, want_csv, n) == 0, "csv text:\n%.*s", (int)n,
        file ? file : "");
  free(file);
  /* Errors name the file and the failing call. */
  char bad[600];
  snprintf(bad, sizeof bad, "%s/no/such/dir/log.jsonl", ctx->tmpdir);
  rt_json_init(&j);
  CHECK(ctx, rt_json_append(bad, &j, err, sizeof err) != 0 && strstr(err, bad) && strstr(err, "fopen"),
        "missing directory: %s", err);
  rt_json_free(&j);
  CHECK(ctx, rt_csv_append("/dev/full", row, 2, err, sizeof err) != 0 && strstr(err, "/dev/full"),
        "full device accepted: %s", err);
  printf("json: object with numbers/strings/arrays/escapes matches byte for byte (%zu bytes), 2 lines appended; "
         "CSV quoting and numbers; errors for a missing directory and a full device\n", wl);
  return ctx->failures;
}
