// Per-image squared error and SSIM in double precision with the same products and the same order of addition as
// src/eval/reconstruction.ts (reconstructionScores and SsimScratch), so the scores are the same bit for bit; fused
// multiply-adds would round differently (no_contraction.h). The logarithm of the PSNR and the sums
// over images stay in JavaScript.
#include "no_contraction.h"

#include "reconstruction.h"

#include <vector>

#include "thread_pool.h"

namespace dae {

namespace {

struct SsimScratch {
  std::vector<double> x, y, xx, yy, xy;
  explicit SsimScratch(size_t size) : x(size), y(size), xx(size), yy(size), xy(size) {}
};

double image_ssim(const float* clean, const float* other, int height, int width, const double* g, int window, double c1,
                  double c2, SsimScratch& s) {
  const int valid_width = width - (window - 1);
  const int valid_height = height - (window - 1);
  for (int r = 0; r < height; ++r) {
    const float* x_row = clean + r * width;
    const float* y_row = other + r * width;
    for (int c = 0; c < valid_width; ++c) {
      double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (int k = 0; k < window; ++k) {
        const double weight = g[k];
        const double x = x_row[c + k];
        const double y = y_row[c + k];
        sx += weight * x;
        sy += weight * y;
        sxx += weight * x * x;
        syy += weight * y * y;
        sxy += weight * x * y;
      }
      const int out = r * valid_width + c;
      s.x[out] = sx;
      s.y[out] = sy;
      s.xx[out] = sxx;
      s.yy[out] = syy;
      s.xy[out] = sxy;
    }
  }
  double total = 0;
  for (int r = 0; r < valid_height; ++r) {
    for (int c = 0; c < valid_width; ++c) {
      double mean_x = 0, mean_y = 0, mean_xx = 0, mean_yy = 0, mean_xy = 0;
      for (int k = 0; k < window; ++k) {
        const double weight = g[k];
        const int at = (r + k) * valid_width + c;
        mean_x += weight * s.x[at];
        mean_y += weight * s.y[at];
        mean_xx += weight * s.xx[at];
        mean_yy += weight * s.yy[at];
        mean_xy += weight * s.xy[at];
      }
      const double variance_x = mean_xx - mean_x * mean_x;
      const double variance_y = mean_yy - mean_y * mean_y;
      const double covariance = mean_xy - mean_x * mean_y;
      total += ((2 * mean_x * mean_y + c1) * (2 * covariance + c2)) /
               ((mean_x * mean_x + mean_y * mean_y + c1) * (variance_x + variance_y + c2));
    }
  }
  return total / (valid_height * valid_width);
}

}  // namespace

void reconstruction_scores(const float* clean, const float* other, int count, int height, int width, const double* taps,
                           int window_size, double c1, double c2, double* squared_errors, double* ssims) {
  const long pixels = static_cast<long>(height) * width;
  const size_t scratch_size = static_cast<size_t>(height) * (width - (window_size - 1));
  // Blocks of images, so that each work item amortises its scratch buffers.
  constexpr int block = 64;
  const int blocks = (count + block - 1) / block;
  parallel_for(blocks, [&](int item, int) {
    SsimScratch scratch(scratch_size);
    const int last = count < (item + 1) * block ? count : (item + 1) * block;
    for (int n = item * block; n < last; ++n) {
      const float* x = clean + n * pixels;
      const float* y = other + n * pixels;
      double squared_error = 0;
      for (long p = 0; p < pixels; ++p) {
        const double difference = static_cast<double>(x[p]) - static_cast<double>(y[p]);
        squared_error += difference * difference;
      }
      squared_errors[n] = squared_error;
      ssims[n] = image_ssim(x, y, height, width, taps, window_size, c1, c2, scratch);
    }
  });
}

}  // namespace dae
