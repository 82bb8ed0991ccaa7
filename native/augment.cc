// The affine warp in double precision with the same products and the same order of addition as warpImage in
// src/data/augment.ts (its reference, warpImageReference, is the plain definition), so the pixels are the same bit
// for bit. Fused multiply-adds would round differently (no_contraction.h).
//
// Each image is first copied into a frame one pixel wider on every side, zero there: a tap that falls outside the
// image then reads 0 and adds +0, where warpImage skips it. The sum is the same, since it starts at +0 and so is
// never -0, and no tap needs a bounds test. With AVX2, four pixels of a row are warped at once.
#include "no_contraction.h"

#include "augment.h"

#include <cmath>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace dae {

namespace {

// One output pixel, whose source point is (source_x, source_y); `framed` is the image in its zero frame.
inline float warp_pixel(const float* framed, int stride, int height, int width, double source_x, double source_y) {
  // Far outside (or NaN) stays zero; inside, both floors fit an int.
  if (!(source_x >= -1 && source_x < width && source_y >= -1 && source_y < height)) return 0;
  const double left = std::floor(source_x), top = std::floor(source_y);
  const double fraction_x = source_x - left, fraction_y = source_y - top;
  const float* at = framed + (static_cast<int>(top) + 1) * stride + static_cast<int>(left) + 1;
  const double upper = 1 - fraction_y, left_weight = 1 - fraction_x;
  double value = 0;
  value += upper * left_weight * at[0];
  value += upper * fraction_x * at[1];
  value += fraction_y * left_weight * at[stride];
  value += fraction_y * fraction_x * at[stride + 1];
  return static_cast<float>(value);
}

#if defined(__AVX2__)
// Four neighbouring pixels of one row from x: warp_pixel's operations on each lane. Points outside are moved to 0
// to read in-bounds taps, and their result is zeroed. Taps are loaded a pair at a time (left and right neighbours
// are adjacent in memory): on AMD's cores four gathers cost more than eight loads and shuffles.
inline void warp_four(const float* framed, int stride, int height, int width, __m256d source_x, __m256d source_y,
                      float* target) {
  const __m256d minus_one = _mm256_set1_pd(-1), one = _mm256_set1_pd(1);
  const __m256d inside = _mm256_and_pd(
      _mm256_and_pd(_mm256_cmp_pd(source_x, minus_one, _CMP_GE_OQ),
                    _mm256_cmp_pd(source_x, _mm256_set1_pd(width), _CMP_LT_OQ)),
      _mm256_and_pd(_mm256_cmp_pd(source_y, minus_one, _CMP_GE_OQ),
                    _mm256_cmp_pd(source_y, _mm256_set1_pd(height), _CMP_LT_OQ)));
  const __m256d point_x = _mm256_and_pd(inside, source_x), point_y = _mm256_and_pd(inside, source_y);
  const __m256d left = _mm256_floor_pd(point_x), top = _mm256_floor_pd(point_y);
  const __m256d fraction_x = _mm256_sub_pd(point_x, left), fraction_y = _mm256_sub_pd(point_y, top);
  const __m128i ones = _mm_set1_epi32(1);
  const __m128i index =
      _mm_add_epi32(_mm_mullo_epi32(_mm_add_epi32(_mm256_cvttpd_epi32(top), ones), _mm_set1_epi32(stride)),
                    _mm_add_epi32(_mm256_cvttpd_epi32(left), ones));
  alignas(16) int at[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(at), index);
  const auto pairs = [](const float* first, const float* second) {
    return _mm_loadh_pi(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(first))),
                        reinterpret_cast<const __m64*>(second));
  };
  const __m128 upper01 = pairs(framed + at[0], framed + at[1]), upper23 = pairs(framed + at[2], framed + at[3]);
  const __m128 lower01 = pairs(framed + stride + at[0], framed + stride + at[1]);
  const __m128 lower23 = pairs(framed + stride + at[2], framed + stride + at[3]);
  const __m256d top_left = _mm256_cvtps_pd(_mm_shuffle_ps(upper01, upper23, _MM_SHUFFLE(2, 0, 2, 0)));
  const __m256d top_right = _mm256_cvtps_pd(_mm_shuffle_ps(upper01, upper23, _MM_SHUFFLE(3, 1, 3, 1)));
  const __m256d bottom_left = _mm256_cvtps_pd(_mm_shuffle_ps(lower01, lower23, _MM_SHUFFLE(2, 0, 2, 0)));
  const __m256d bottom_right = _mm256_cvtps_pd(_mm_shuffle_ps(lower01, lower23, _MM_SHUFFLE(3, 1, 3, 1)));
  const __m256d upper = _mm256_sub_pd(one, fraction_y), left_weight = _mm256_sub_pd(one, fraction_x);
  __m256d value = _mm256_setzero_pd();
  value = _mm256_add_pd(value, _mm256_mul_pd(_mm256_mul_pd(upper, left_weight), top_left));
  value = _mm256_add_pd(value, _mm256_mul_pd(_mm256_mul_pd(upper, fraction_x), top_right));
  value = _mm256_add_pd(value, _mm256_mul_pd(_mm256_mul_pd(fraction_y, left_weight), bottom_left));
  value = _mm256_add_pd(value, _mm256_mul_pd(_mm256_mul_pd(fraction_y, fraction_x), bottom_right));
  _mm_storeu_ps(target, _mm256_cvtpd_ps(_mm256_and_pd(inside, value)));
}
#endif

void warp_image(const float* source, float* target, int height, int width, const double* map, float* framed) {
  const int stride = width + 2;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) framed[(y + 1) * stride + x + 1] = source[y * width + x];
  const double centre_y = (height - 1) / 2.0, centre_x = (width - 1) / 2.0;
  const double cos = map[0], sin = map[1], shift_x = map[2], shift_y = map[3];
  for (int y = 0; y < height; ++y) {
    const double offset_y = y - centre_y - shift_y;
    int x = 0;
#if defined(__AVX2__)
    const __m256d lanes = _mm256_set_pd(3, 2, 1, 0);
    const __m256d sin_y = _mm256_set1_pd(sin * offset_y), cos_y = _mm256_set1_pd(cos * offset_y);
    for (; x + 4 <= width; x += 4) {
      const __m256d offset_x = _mm256_sub_pd(
          _mm256_sub_pd(_mm256_add_pd(lanes, _mm256_set1_pd(x)), _mm256_set1_pd(centre_x)), _mm256_set1_pd(shift_x));
      const __m256d source_x =
          _mm256_add_pd(_mm256_add_pd(_mm256_set1_pd(centre_x), _mm256_mul_pd(_mm256_set1_pd(cos), offset_x)), sin_y);
      const __m256d source_y =
          _mm256_add_pd(_mm256_sub_pd(_mm256_set1_pd(centre_y), _mm256_mul_pd(_mm256_set1_pd(sin), offset_x)), cos_y);
      warp_four(framed, stride, height, width, source_x, source_y, target + y * width + x);
    }
#endif
    for (; x < width; ++x) {
      const double offset_x = x - centre_x - shift_x;
      const double source_x = centre_x + cos * offset_x + sin * offset_y;
      const double source_y = centre_y - sin * offset_x + cos * offset_y;
      target[y * width + x] = warp_pixel(framed, stride, height, width, source_x, source_y);
    }
  }
}

}  // namespace

void warp_images(const float* in, int count, int height, int width, const double* maps, float* out) {
  const long pixels = static_cast<long>(height) * width;
  std::vector<float> framed(static_cast<size_t>(height + 2) * (width + 2), 0.0f);
  for (int n = 0; n < count; ++n)
    warp_image(in + n * pixels, out + n * pixels, height, width, maps + 4 * n, framed.data());
}

}  // namespace dae
