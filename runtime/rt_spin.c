/* rt_spin.c: how long the OpenMP threads of a built executable spin before
 * they sleep (GOMP_SPINCOUNT), chosen at start from how busy the CPUs are.
 * A step runs hundreds to thousands of short parallel kernels; a thread
 * that has gone to sleep between two of them costs a wake-up at the next,
 * and one that spins on burns a core that another process may want. So:
 * spin long when the other processes leave the cores idle, briefly when
 * they do not (rt_main sets the result unless the environment sets
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT). Measured on the 2-core machine
 * (BENCHMARKS.md, sixteenth session): the C 16 Fashion-MNIST training step
 * 0.117 s at 1,000 spins against 0.107-0.109 s at 10,000 when quiet, but
 * 0.21 against 0.28 s with two busy processes beside it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sharprt.h"

/* Spins when the CPUs are busy, and when they are idle. */
#define RT_SPIN_BUSY 1000
#define RT_SPIN_IDLE 10000

/* The CPUs' busy and total jiffies since boot, from the "cpu" line of
 * /proc/stat, and the number of CPUs; 0 on success. */
static int cpu_times(unsigned long long *busy, unsigned long long *total, int *ncpu)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[512];
    int ok = -1;
    *ncpu = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long v[8] = { 0 };
        if (!strncmp(line, "cpu ", 4) &&
            sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]) >= 4) {
            /* user nice system idle iowait irq softirq steal */
            *total = 0;
            for (int i = 0; i < 8; i++) *total += v[i];
            *busy = *total - v[3] - v[4];
            ok = 0;
        } else if (!strncmp(line, "cpu", 3) && line[3] >= '0' && line[3] <= '9') {
            (*ncpu)++;
        }
    }
    fclose(f);
    return ok == 0 && *ncpu > 0 ? 0 : -1;
}

int rt_spin_count(void)
{
    unsigned long long b0, t0, b1, t1;
    int n0, n1;
    if (cpu_times(&b0, &t0, &n0)) return RT_SPIN_BUSY;
    /* 50 ms: 5 jiffies per CPU at the usual 100 Hz */
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    if (cpu_times(&b1, &t1, &n1) || t1 <= t0 || b1 < b0) return RT_SPIN_BUSY;
    /* idle: the other processes used under a quarter of one CPU meanwhile */
    double busy_cpus = (double)(b1 - b0) / (double)(t1 - t0) * n1;
    return busy_cpus < 0.25 ? RT_SPIN_IDLE : RT_SPIN_BUSY;
}
