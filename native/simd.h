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

// Rows of a register tile of two vectors per row: kTileRows x 2 accumulators, 2 vectors of the other operand and
// one broadcast fit the registers (32 with AVX-512, 16 otherwise).
#if defined(__AVX512F__)
constexpr int kTileRows = 12;
#else
constexpr int kTileRows = 6;
#endif

inline vfloat load(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
// value in every lane. (vfloat{} + value is not the same: +0 + -0 is +0, so the compiler had to add before it
// broadcast; x - 0 is x for every x, -0 included, and compiles to the broadcast alone.)
inline vfloat splat(float value) { return value - vfloat{}; }
// The sum of the lanes as a tree: the upper half added onto the lower, log2(kVector) times, in registers. The
// order of the adds is the same as the scalar tree it replaced (lanes[i] += lanes[i + width]).
typedef float vfloat4 __attribute__((vector_size(4 * sizeof(float))));
inline float lane_sum4(vfloat4 v) {
  vfloat4 pair = v + __builtin_shufflevector(v, v, 2, 3, 2, 3);
  return pair[0] + pair[1];
}
#if defined(__AVX512F__)
typedef float vfloat8 __attribute__((vector_size(8 * sizeof(float))));
inline float lane_sum(vfloat v) {
  vfloat8 half = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  return lane_sum4(__builtin_shufflevector(half, half, 0, 1, 2, 3) + __builtin_shufflevector(half, half, 4, 5, 6, 7));
}
#elif defined(__AVX__)
inline float lane_sum(vfloat v) {
  return lane_sum4(__builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7));
}
#else
inline float lane_sum(vfloat v) { return lane_sum4(v); }
#endif

}  // namespace dae
