// Label-preserving distortions of training images: the bilinear affine warp of src/data/augment.ts, bit for bit.
#pragma once

namespace dae {

// Warps `count` images of height x width from `in` into `out`. maps holds four doubles per image: cos(rotation) /
// scale, sin(rotation) / scale, shift x, shift y, as src/data/augment.ts's warpImage computes them. Zero outside.
void warp_images(const float* in, int count, int height, int width, const double* maps, float* out);

}  // namespace dae
