/* rt_autoaugment_policies.c: the published AutoAugment policies as data
 * (sharpdarts.md §8.2), one row per sub-policy: (op1, p1, m1), (op2, p2, m2),
 * magnitude index m in 0..9 (rt_aa_apply maps it, §8.2).
 *
 * These are facts transcribed from public sources, numbers and op names only:
 * - CIFAR-10: the 19 experiment sets exp0_0..exp0_3, exp1_0..exp1_6 and
 *   exp2_0..exp2_7 of good_policies() in tensorflow/models
 *   research/autoaugment/policies.py (5 sub-policies each, 95 in all, in the
 *   order exp0s + exp1s + exp2s); checked row by row against the copy in
 *   ahundt/sharpDARTS cnn/autoaugment.py (CIFAR10Policy).
 * - ImageNet: the 24 sub-policies of ImageNetPolicy in ahundt/sharpDARTS
 *   cnn/autoaugment.py (from DeepVoltaire/AutoAugment; the AutoAugment paper,
 *   arXiv:1805.09501, appendix); checked against torchvision's
 *   AutoAugmentPolicy.IMAGENET, whose 25th row repeats the 3rd.
 * Ops without a magnitude (AutoContrast, Equalize, Invert) keep the index the
 * source lists; it is ignored. Cutout inside a policy is a no-op (§8.2). */
#include "sharprt.h"

#include <string.h>

/* One row; probabilities as written in the source. */
#define SP(o1, p1, m1, o2, p2, m2) {RT_AA_##o1, (float)(p1), m1, RT_AA_##o2, (float)(p2), m2}

static const RtAaSubPolicy cifar10_policy[] = {
  /* exp0_0 */
  SP(INVERT, 0.1, 7, CONTRAST, 0.2, 6),
  SP(ROTATE, 0.7, 2, TRANSLATE_X, 0.3, 9),
  SP(SHARPNESS, 0.8, 1, SHARPNESS, 0.9, 3),
  SP(SHEAR_Y, 0.5, 8, TRANSLATE_Y, 0.7, 9),
  SP(AUTOCONTRAST, 0.5, 8, EQUALIZE, 0.9, 2),
  /* exp0_1 */
  SP(SOLARIZE, 0.4, 5, AUTOCONTRAST, 0.9, 3),
  SP(TRANSLATE_Y, 0.9, 9, TRANSLATE_Y, 0.7, 9),
  SP(AUTOCONTRAST, 0.9, 2, SOLARIZE, 0.8, 3),
  SP(EQUALIZE, 0.8, 8, INVERT, 0.1, 3),
  SP(TRANSLATE_Y, 0.7, 9, AUTOCONTRAST, 0.9, 1),
  /* exp0_2 */
  SP(SOLARIZE, 0.4, 5, AUTOCONTRAST, 0.0, 2),
  SP(TRANSLATE_Y, 0.7, 9, TRANSLATE_Y, 0.7, 9),
  SP(AUTOCONTRAST, 0.9, 0, SOLARIZE, 0.4, 3),
  SP(EQUALIZE, 0.7, 5, INVERT, 0.1, 3),
  SP(TRANSLATE_Y, 0.7, 9, TRANSLATE_Y, 0.7, 9),
  /* exp0_3 */
  SP(SOLARIZE, 0.4, 5, AUTOCONTRAST, 0.9, 1),
  SP(TRANSLATE_Y, 0.8, 9, TRANSLATE_Y, 0.9, 9),
  SP(AUTOCONTRAST, 0.8, 0, TRANSLATE_Y, 0.7, 9),
  SP(TRANSLATE_Y, 0.2, 7, COLOR, 0.9, 6),
  SP(EQUALIZE, 0.7, 6, COLOR, 0.4, 9),
  /* exp1_0 */
  SP(SHEAR_Y, 0.2, 7, POSTERIZE, 0.3, 7),
  SP(COLOR, 0.4, 3, BRIGHTNESS, 0.6, 7),
  SP(SHARPNESS, 0.3, 9, BRIGHTNESS, 0.7, 9),
  SP(EQUALIZE, 0.6, 5, EQUALIZE, 0.5, 1),
  SP(CONTRAST, 0.6, 7, SHARPNESS, 0.6, 5),
  /* exp1_1 */
  SP(BRIGHTNESS, 0.3, 7, AUTOCONTRAST, 0.5, 8),
  SP(AUTOCONTRAST, 0.9, 4, AUTOCONTRAST, 0.5, 6),
  SP(SOLARIZE, 0.3, 5, EQUALIZE, 0.6, 5),
  SP(TRANSLATE_Y, 0.2, 4, SHARPNESS, 0.3, 3),
  SP(BRIGHTNESS, 0.0, 8, COLOR, 0.8, 8),
  /* exp1_2 */
  SP(SOLARIZE, 0.2, 6, COLOR, 0.8, 6),
  SP(SOLARIZE, 0.2, 6, AUTOCONTRAST, 0.8, 1),
  SP(SOLARIZE, 0.4, 1, EQUALIZE, 0.6, 5),
  SP(BRIGHTNESS, 0.0, 0, SOLARIZE, 0.5, 2),
  SP(AUTOCONTRAST, 0.9, 5, BRIGHTNESS, 0.5, 3),
  /* exp1_3 */
  SP(CONTRAST, 0.7, 5, BRIGHTNESS, 0.0, 2),
  SP(SOLARIZE, 0.2, 8, SOLARIZE, 0.1, 5),
  SP(CONTRAST, 0.5, 1, TRANSLATE_Y, 0.2, 9),
  SP(AUTOCONTRAST, 0.6, 5, TRANSLATE_Y, 0.0, 9),
  SP(AUTOCONTRAST, 0.9, 4, EQUALIZE, 0.8, 4),
  /* exp1_4 */
  SP(BRIGHTNESS, 0.0, 7, EQUALIZE, 0.4, 7),
  SP(SOLARIZE, 0.2, 5, EQUALIZE, 0.7, 5),
  SP(EQUALIZE, 0.6, 8, COLOR, 0.6, 2),
  SP(COLOR, 0.3, 7, COLOR, 0.2, 4),
  SP(AUTOCONTRAST, 0.5, 2, SOLARIZE, 0.7, 2),
  /* exp1_5 */
  SP(AUTOCONTRAST, 0.2, 0, EQUALIZE, 0.1, 0),
  SP(SHEAR_Y, 0.6, 5, EQUALIZE, 0.6, 5),
  SP(BRIGHTNESS, 0.9, 3, AUTOCONTRAST, 0.4, 1),
  SP(EQUALIZE, 0.8, 8, EQUALIZE, 0.7, 7),
  SP(EQUALIZE, 0.7, 7, SOLARIZE, 0.5, 0),
  /* exp1_6 */
  SP(EQUALIZE, 0.8, 4, TRANSLATE_Y, 0.8, 9),
  SP(TRANSLATE_Y, 0.8, 9, TRANSLATE_Y, 0.6, 9),
  SP(TRANSLATE_Y, 0.9, 0, TRANSLATE_Y, 0.5, 9),
  SP(AUTOCONTRAST, 0.5, 3, SOLARIZE, 0.3, 4),
  SP(SOLARIZE, 0.5, 3, EQUALIZE, 0.4, 4),
  /* exp2_0 */
  SP(COLOR, 0.7, 7, TRANSLATE_X, 0.5, 8),
  SP(EQUALIZE, 0.3, 7, AUTOCONTRAST, 0.4, 8),
  SP(TRANSLATE_Y, 0.4, 3, SHARPNESS, 0.2, 6),
  SP(BRIGHTNESS, 0.9, 6, COLOR, 0.2, 8),
  SP(SOLARIZE, 0.5, 2, INVERT, 0.0, 3),
  /* exp2_1 */
  SP(AUTOCONTRAST, 0.1, 5, BRIGHTNESS, 0.0, 0),
  SP(CUTOUT, 0.2, 4, EQUALIZE, 0.1, 1),
  SP(EQUALIZE, 0.7, 7, AUTOCONTRAST, 0.6, 4),
  SP(COLOR, 0.1, 8, SHEAR_Y, 0.2, 3),
  SP(SHEAR_Y, 0.4, 2, ROTATE, 0.7, 0),
  /* exp2_2 */
  SP(SHEAR_Y, 0.1, 3, AUTOCONTRAST, 0.9, 5),
  SP(TRANSLATE_Y, 0.3, 6, CUTOUT, 0.3, 3),
  SP(EQUALIZE, 0.5, 0, SOLARIZE, 0.6, 6),
  SP(AUTOCONTRAST, 0.3, 5, ROTATE, 0.2, 7),
  SP(EQUALIZE, 0.8, 2, INVERT, 0.4, 0),
  /* exp2_3 */
  SP(EQUALIZE, 0.9, 5, COLOR, 0.7, 0),
  SP(EQUALIZE, 0.1, 1, SHEAR_Y, 0.1, 3),
  SP(AUTOCONTRAST, 0.7, 3, EQUALIZE, 0.7, 0),
  SP(BRIGHTNESS, 0.5, 1, CONTRAST, 0.1, 7),
  SP(CONTRAST, 0.1, 4, SOLARIZE, 0.6, 5),
  /* exp2_4 */
  SP(SOLARIZE, 0.2, 3, SHEAR_X, 0.0, 0),
  SP(TRANSLATE_X, 0.3, 0, TRANSLATE_X, 0.6, 0),
  SP(EQUALIZE, 0.5, 9, TRANSLATE_Y, 0.6, 7),
  SP(SHEAR_X, 0.1, 0, SHARPNESS, 0.5, 1),
  SP(EQUALIZE, 0.8, 6, INVERT, 0.3, 6),
  /* exp2_5 */
  SP(AUTOCONTRAST, 0.3, 9, CUTOUT, 0.5, 3),
  SP(SHEAR_X, 0.4, 4, AUTOCONTRAST, 0.9, 2),
  SP(SHEAR_X, 0.0, 3, POSTERIZE, 0.0, 3),
  SP(SOLARIZE, 0.4, 3, COLOR, 0.2, 4),
  SP(EQUALIZE, 0.1, 4, EQUALIZE, 0.7, 6),
  /* exp2_6 */
  SP(EQUALIZE, 0.3, 8, AUTOCONTRAST, 0.4, 3),
  SP(SOLARIZE, 0.6, 4, AUTOCONTRAST, 0.7, 6),
  SP(AUTOCONTRAST, 0.2, 9, BRIGHTNESS, 0.4, 8),
  SP(EQUALIZE, 0.1, 0, EQUALIZE, 0.0, 6),
  SP(EQUALIZE, 0.8, 4, EQUALIZE, 0.0, 4),
  /* exp2_7 */
  SP(EQUALIZE, 0.5, 5, AUTOCONTRAST, 0.1, 2),
  SP(SOLARIZE, 0.5, 5, AUTOCONTRAST, 0.9, 5),
  SP(AUTOCONTRAST, 0.6, 1, AUTOCONTRAST, 0.7, 8),
  SP(EQUALIZE, 0.2, 0, AUTOCONTRAST, 0.1, 2),
  SP(EQUALIZE, 0.6, 9, EQUALIZE, 0.4, 4),
};

static const RtAaSubPolicy imagenet_policy[] = {
  /* rows 1-5 */
  SP(POSTERIZE, 0.4, 8, ROTATE, 0.6, 9),
  SP(SOLARIZE, 0.6, 5, AUTOCONTRAST, 0.6, 5),
  SP(EQUALIZE, 0.8, 8, EQUALIZE, 0.6, 3),
  SP(POSTERIZE, 0.6, 7, POSTERIZE, 0.6, 6),
  SP(EQUALIZE, 0.4, 7, SOLARIZE, 0.2, 4),
  /* rows 6-10 */
  SP(EQUALIZE, 0.4, 4, ROTATE, 0.8, 8),
  SP(SOLARIZE, 0.6, 3, EQUALIZE, 0.6, 7),
  SP(POSTERIZE, 0.8, 5, EQUALIZE, 1.0, 2),
  SP(ROTATE, 0.2, 3, SOLARIZE, 0.6, 8),
  SP(EQUALIZE, 0.6, 8, POSTERIZE, 0.4, 6),
  /* rows 11-15 */
  SP(ROTATE, 0.8, 8, COLOR, 0.4, 0),
  SP(ROTATE, 0.4, 9, EQUALIZE, 0.6, 2),
  SP(EQUALIZE, 0.0, 7, EQUALIZE, 0.8, 8),
  SP(INVERT, 0.6, 4, EQUALIZE, 1.0, 8),
  SP(COLOR, 0.6, 4, CONTRAST, 1.0, 8),
  /* rows 16-20 */
  SP(ROTATE, 0.8, 8, COLOR, 1.0, 2),
  SP(COLOR, 0.8, 8, SOLARIZE, 0.8, 7),
  SP(SHARPNESS, 0.4, 7, INVERT, 0.6, 8),
  SP(SHEAR_X, 0.6, 5, EQUALIZE, 1.0, 9),
  SP(COLOR, 0.4, 0, EQUALIZE, 0.6, 3),
  /* rows 21-24 (the 25th row of DeepVoltaire's and torchvision's lists repeats row 3) */
  SP(EQUALIZE, 0.4, 7, SOLARIZE, 0.2, 4),
  SP(SOLARIZE, 0.6, 5, AUTOCONTRAST, 0.6, 5),
  SP(INVERT, 0.6, 4, EQUALIZE, 1.0, 8),
  SP(COLOR, 0.6, 4, CONTRAST, 1.0, 8),
};

#undef SP

/* The row counts the spec states, checked when this file compiles (C99 has
 * no _Static_assert: a negative array size fails the build). */
#define ROWS(t) ((int)(sizeof(t) / sizeof((t)[0])))
typedef char rt_aa_cifar10_rows_check[ROWS(cifar10_policy) == RT_AA_CIFAR10_SUBPOLICIES ? 1 : -1];
typedef char rt_aa_imagenet_rows_check[ROWS(imagenet_policy) == RT_AA_IMAGENET_SUBPOLICIES ? 1 : -1];

const RtAaSubPolicy *rt_aa_policy_for(const char *dataset, int *n) {
  if (dataset && strcmp(dataset, "cifar10") == 0) {
    *n = ROWS(cifar10_policy);
    return cifar10_policy;
  }
  if (dataset && strcmp(dataset, "imagenet") == 0) {
    *n = ROWS(imagenet_policy);
    return imagenet_policy;
  }
  *n = 0;
  return NULL;
}
