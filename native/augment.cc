// The affine warp in double precision with the same products and the same order of addition as warpImage in
// src/data/augment.ts (its reference, warpImageReference, is the plain definition), so the pixels are the same bit
// for bit. Fused multiply-adds would round differently (no_contraction.h).
#include "no_contraction.h"

#include "augment.h"

#include <cmath>

namespace dae {

namespace {

void warp_image(const float* source, float* target, int height, int width, const double* map) {
  const double centre_y = (height - 1) / 2.0, centre_x = (width - 1) / 2.0;
  const double cos = map[0], sin = map[1], shift_x = map[2], shift_y = map[3];
  for (int y = 0; y < height; ++y) {
    const double offset_y = y - centre_y - shift_y;
    for (int x = 0; x < width; ++x) {
      const double offset_x = x - centre_x - shift_x;
      const double source_x = centre_x + cos * offset_x + sin * offset_y;
      const double source_y = centre_y - sin * offset_x + cos * offset_y;
      const double left_floor = std::floor(source_x), top_floor = std::floor(source_y);
      const double fraction_x = source_x - left_floor, fraction_y = source_y - top_floor;
      double value = 0;
      // Far outside (or NaN) stays zero; inside, both floors fit an int.
      if (left_floor >= -1 && top_floor >= -1 && left_floor < width && top_floor < height) {
        const int left = static_cast<int>(left_floor), top = static_cast<int>(top_floor);
        if (left >= 0 && top >= 0 && left + 1 < width && top + 1 < height) {
          const float* at = source + top * width + left;
          const double upper = 1 - fraction_y, left_weight = 1 - fraction_x;
          value += upper * left_weight * at[0];
          value += upper * fraction_x * at[1];
          value += fraction_y * left_weight * at[width];
          value += fraction_y * fraction_x * at[width + 1];
        } else {
          for (int dy = 0; dy <= 1; ++dy) {
            const int row = top + dy;
            if (row < 0 || row >= height) continue;
            const double weight_y = dy == 0 ? 1 - fraction_y : fraction_y;
            for (int dx = 0; dx <= 1; ++dx) {
              const int column = left + dx;
              if (column < 0 || column >= width) continue;
              value += weight_y * (dx == 0 ? 1 - fraction_x : fraction_x) * source[row * width + column];
            }
          }
        }
      }
      target[y * width + x] = static_cast<float>(value);
    }
  }
}

}  // namespace

void warp_images(const float* in, int count, int height, int width, const double* maps, float* out) {
  const long pixels = static_cast<long>(height) * width;
  for (int n = 0; n < count; ++n) warp_image(in + n * pixels, out + n * pixels, height, width, maps + 4 * n);
}

}  // namespace dae
