# hypercuboid.nas: the HyperCuboid grid space of sharpDARTS (§9): channel
# widths 32..256, 4 layers of a stride-1 and a stride-2 sub-layer, two
# candidate ops, a 768-channel SharpSepConv head. Parsed and checked; the
# grid search itself comes with the search executable.
import "prelude.nas";

hypercuboid multichannel {
  input 3x32x32;
  classes 10;
  channels 32, 64, 128, 256;
  layers 4;
  strides 1, 2;
  candidates MULTICHANNELNET_PRIMITIVES;
  head_channels 768;
  weighting max_w;
}
