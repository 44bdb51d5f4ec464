/* rt_signal.c: graceful interruption. The first SIGINT or SIGTERM only sets
 * a flag (the loops poll rt_signal_pending between steps, write a checkpoint
 * and exit); a second one ends the process at once with 128 + signal, for a
 * user who does not want to wait. The handler uses only async-signal-safe
 * calls (write, _exit). */
#define _POSIX_C_SOURCE 200809L
#include "rt_check.h"
#include "sharprt.h"

#include <signal.h>
#include <unistd.h>

/* The signal received, 0 before any. */
static volatile sig_atomic_t pending;

static void on_signal(int sig) {
  if (pending) _exit(128 + sig);
  pending = sig;
  static const char msg[] = "\ninterrupted: saving a checkpoint after this step (again to quit now)\n";
  ssize_t rc = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)rc;
}

int rt_signal_install(char *err, size_t errlen) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
    return RT_SYSERR(err, errlen, "signals", "sigaction");
  return 0;
}

int rt_signal_pending(void) {
  return pending;
}

void rt_signal_clear(void) {
  pending = 0;
}
