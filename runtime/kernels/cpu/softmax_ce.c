/* softmax_ce.c: softmax cross-entropy averaged over the batch, its logit
 * gradient, and the top-k accuracy count. */
#include "cpu_kernels.h"

#include <math.h>

/* Mean loss; glogits = gscale*(softmax - onehot)/N when asked for. */
K_FN real k_softmax_ce(int N, int K, const real *logits, const int32_t *labels, real gscale,
                       real *glogits)
{
    real_acc total = 0;
    for (int n = 0; n < N; n++) {
        const real *z = logits + (ptrdiff_t)n * K;
        real_acc m = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > m)
                m = z[k];
        real_acc se = 0;
        for (int k = 0; k < K; k++)
            se += exp(z[k] - m);
        real_acc lse = m + log(se);
        total += lse - z[labels[n]];
        if (glogits) {
            real *g = glogits + (ptrdiff_t)n * K;
            real_acc f = (real_acc)gscale / N;
            for (int k = 0; k < K; k++)
                g[k] = (real)(f * (exp(z[k] - lse) - (k == labels[n])));
        }
    }
    return (real)(total / N);
}

/* Count of samples whose label's logit has fewer than k strictly larger logits. */
K_FN int k_topk_correct(int N, int K, int k, const real *logits, const int32_t *labels)
{
    int correct = 0;
    for (int n = 0; n < N; n++) {
        const real *z = logits + (ptrdiff_t)n * K;
        real t = z[labels[n]];
        int above = 0;
        for (int j = 0; j < K; j++)
            above += z[j] > t;
        correct += above < k;
    }
    return correct;
}
