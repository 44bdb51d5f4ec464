/* two_models.c WEIGHTS: two models of one emitted model.c, created from the
 * same weights, run at the same time in two threads (each on its own
 * images, many forwards) and must give exactly the logits that one model
 * gives alone: the emitted code keeps no global mutable state. Built by
 * ship_errors.sh against an emitted model.c. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define N 3
#define REPS 20
#define IN (MODEL_IN_C * MODEL_IN_H * MODEL_IN_W)

typedef struct {
    model_t *m;
    float x[N * IN];
    float z[N * MODEL_CLASSES];
    int rc;
} Job;

static void *run(void *arg)
{
    Job *j = arg;
    for (int r = 0; r < REPS && !j->rc; r++) j->rc = model_forward(j->m, N, j->x, j->z);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    static Job jobs[2];
    static float want[2][N * MODEL_CLASSES];
    char err[512];
    unsigned s = 12345;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < N * IN; i++) {
            s = s * 1103515245u + 12345u;
            jobs[k].x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
        jobs[k].m = model_create(argv[1], N, err, sizeof err);
        if (!jobs[k].m) {
            fprintf(stderr, "two_models: %s\n", err);
            return 1;
        }
        if (model_forward(jobs[k].m, N, jobs[k].x, want[k])) return 1;
    }
    pthread_t t[2];
    for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, run, &jobs[k]);
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
    int bad = 0;
    for (int k = 0; k < 2; k++) bad |= jobs[k].rc || memcmp(jobs[k].z, want[k], sizeof want[k]) != 0;
    for (int k = 0; k < 2; k++) model_free(jobs[k].m);
    printf("two_models: two models in two threads, %d forwards each: %s\n", REPS,
           bad ? "logits DIFFER from the single-thread run" : "logits identical to the single-thread run");
    return bad;
}
