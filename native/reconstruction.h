// Image-quality scores per image, the arithmetic of src/eval/reconstruction.ts bit for bit.
#pragma once

namespace dae {

// For each of `count` [height, width] images of `clean` and `other`: its sum of squared differences and its mean
// SSIM over the valid positions of the separable Gaussian window `taps` (window_size values, computed by the
// caller), into squared_errors[n] and ssims[n]. Images are spread over the pool; each image's numbers do not depend
// on which thread ran it.
void reconstruction_scores(const float* clean, const float* other, int count, int height, int width, const double* taps,
                           int window_size, double c1, double c2, double* squared_errors, double* ssims);

}  // namespace dae
