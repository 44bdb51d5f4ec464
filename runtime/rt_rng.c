/* rt_rng.c: the runtime's random numbers. Philox4x32-10 makes every value a
 * pure function of (seed, stream, counter), so a sample's augmentation or a
 * weight's initial value never depends on which thread drew it or in which
 * order. RtRng is a cursor over one stream; the initializers follow
 * PyTorch's default distributions (sharpdarts.md §0). */
#include "sharprt.h"

#include <math.h>

/* Philox constants: round multipliers and the key schedule's Weyl steps. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Ten rounds of the Philox S-box/P-box network on one 128-bit block. */
void rt_philox4x32(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
  uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += PHILOX_W0, k1 += PHILOX_W1;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* Purpose in the low 16 bits, epoch above: distinct for every pair. */
uint64_t rt_rng_stream(uint64_t purpose, int64_t epoch) {
  return (purpose & 0xffffu) | ((uint64_t)epoch << 16);
}

RtRng rt_rng_init(uint64_t seed, uint64_t stream) {
  RtRng r = {seed, stream, 0};
  return r;
}

/* The next block of r. */
static void rng_block(RtRng *r, uint32_t out[4]) {
  rt_philox4x32(r->seed, r->stream, r->counter, out);
  r->counter++;
}

uint32_t rt_rng_u32(RtRng *r) {
  uint32_t b[4];
  rng_block(r, b);
  return b[0];
}

uint64_t rt_rng_u64(RtRng *r) {
  uint32_t b[4];
  rng_block(r, b);
  return (uint64_t)b[0] << 32 | b[1];
}

float rt_rng_uniform(RtRng *r) {
  return (float)(rt_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

float rt_rng_uniform_range(RtRng *r, float lo, float hi) {
  return lo + (hi - lo) * rt_rng_uniform(r);
}

/* u1 in (0, 1] keeps log finite; 32-bit u2 sets the angle. */
float rt_rng_normal(RtRng *r) {
  uint32_t b[4];
  rng_block(r, b);
  double u1 = ((double)b[0] + 1.0) / 4294967296.0;
  double u2 = (double)b[1] / 4294967296.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t rt_rng_below(RtRng *r, uint64_t n) {
  return n ? rt_rng_u64(r) % n : 0;
}

int rt_rng_bernoulli(RtRng *r, double p) {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return ((double)rt_rng_u32(r) + 0.5) / 4294967296.0 < p;
}

/* With a = sqrt(5), torch's gain sqrt(2/(1+a^2)) times sqrt(3/fan_in) is
 * exactly 1/sqrt(fan_in): the same bound as the bias. */
void rt_init_kaiming_uniform(RtRng *r, float *w, size_t n, int64_t fan_in) {
  rt_init_bias_uniform(r, w, n, fan_in);
}

void rt_init_bias_uniform(RtRng *r, float *b, size_t n, int64_t fan_in) {
  float bound = fan_in > 0 ? (float)(1.0 / sqrt((double)fan_in)) : 0.0f;
  for (size_t i = 0; i < n; i++) b[i] = rt_rng_uniform_range(r, -bound, bound);
}

void rt_init_normal(RtRng *r, float *w, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) w[i] = scale * rt_rng_normal(r);
}

void rt_init_const(float *w, size_t n, float value) {
  for (size_t i = 0; i < n; i++) w[i] = value;
}
