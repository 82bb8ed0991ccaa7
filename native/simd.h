// One vector of floats as wide as the machine the addon is built on (GCC vector extensions): AVX-512, AVX,
// or 128-bit (SSE, NEON, or plain C). Loads and stores are unaligned.
#pragma once
#include <cstring>

namespace dae {

#if defined(__AVX512F__)
constexpr int kVector = 16;
#elif defined(__AVX__)
constexpr int kVector = 8;
#else
constexpr int kVector = 4;
#endif

typedef float vfloat __attribute__((vector_size(kVector * sizeof(float))));

inline vfloat load(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
inline vfloat splat(float value) { return vfloat{} + value; }
// The sum of the lanes as a tree (log2(kVector) dependent adds, not kVector).
inline float lane_sum(vfloat v) {
  float lanes[kVector];
  store(lanes, v);
  for (int width = kVector / 2; width >= 1; width /= 2)
    for (int i = 0; i < width; ++i) lanes[i] += lanes[i + width];
  return lanes[0];
}

}  // namespace dae
