/* rt_norms.h: the per-channel normalization constants of each data set
 * (torchvision's: x/255 in float32, then (x - mean)/std), as one X-macro
 * list shared by the runtime's data loading and by `sharpc emit`, which
 * writes them into the emitted model.h.
 *   RT_NORM(name, channels, {mean...}, {std...}) */
#ifndef SHARPRT_NORMS_H
#define SHARPRT_NORMS_H

#define RT_NORMS(RT_NORM)                                                                           \
    RT_NORM("mnist", 1, ({0.1307}), ({0.3081}))                                                     \
    RT_NORM("fashion-mnist", 1, ({0.2860405969887955}), ({0.35302424825650003}))                    \
    RT_NORM("emnist", 1, ({0.17510417052459282}), ({0.33323714976320795}))                          \
    RT_NORM("cifar10", 3, ({0.49139968, 0.48215827, 0.44653124}), ({0.24703233, 0.24348505, 0.26158768})) \
    RT_NORM("cifar10.1", 3, ({0.49139968, 0.48215827, 0.44653124}), ({0.24703233, 0.24348505, 0.26158768})) \
    RT_NORM("svhn", 3, ({0.4376821, 0.4437697, 0.47280442}), ({0.19803012, 0.20101562, 0.19703614}))   \
    RT_NORM("stl10", 3, ({0.44671062, 0.43980984, 0.40664645}), ({0.26034098, 0.25657727, 0.27126738})) \
    RT_NORM("imagenet", 3, ({0.485, 0.456, 0.406}), ({0.229, 0.224, 0.225}))

#endif
