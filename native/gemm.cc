// Packed-panel SGEMM in the style of BLIS/GotoBLAS: B is packed into NR-wide column panels, A into MR-tall row
// panels per K block, and an MR x NR register tile accumulates with vector FMAs. Vectors come from GCC's
// vector extensions, so the same source compiles to AVX-512, AVX2, NEON or SSE for the machine it is built on.
#include "gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "epilogue_vector.h"
#include "simd.h"
#include "thread_pool.h"

namespace dae {
namespace {

constexpr int kMR = kTileRows;  // kMR x 2 accumulators + 2 B vectors + 1 broadcast fit the registers (simd.h)
constexpr int kVectorsPerRow = 2;
constexpr int kNR = kVector * kVectorsPerRow;
constexpr int kKC = 256;  // K block: an A panel (kMR x kKC) and a B panel (kKC x kNR) stay in L1/L2.
constexpr int kMC = 96;   // rows of A packed at a time (a multiple of kMR for every kMR above).

// acc[MR][NR] = sum_k a[k][MR] * b[k][NR] (+ c when accumulate); writes the valid mr x nr corner of c. With
// kDirect, A is read where it lies (row i at a + i * lda) instead of from a packed panel: the caller then skips
// packing A, which for the narrow B of a convolution (F = 32 or 64 columns) cost a sixth of the multiply.
// With `finish` (the last K block of a multiply whose epilogue has no sigmoid activation), the tile's epilogue is
// applied as it is stored: `finish` is offset to the tile (its bias to the tile's first column, its derivativeOf to
// the tile's first element).
template <bool kDirect>
void micro_kernel(int kc, const float* a, int lda, const float* b, float* c, int ldc, int mr, int nr, bool accumulate,
                  const Epilogue* finish = nullptr) {
  vfloat acc[kMR][kVectorsPerRow];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kVectorsPerRow; ++j) acc[i][j] = vfloat{};
  for (int k = 0; k < kc; ++k) {
    vfloat b0 = load(b);
    vfloat b1 = load(b + kVector);
#pragma GCC unroll 16
    for (int i = 0; i < kMR; ++i) {
      float ai = kDirect ? a[static_cast<size_t>(i) * lda + k] : a[k * kMR + i];
      acc[i][0] += b0 * ai;
      acc[i][1] += b1 * ai;
    }
    b += kNR;
  }
  if (mr == kMR && nr == kNR) {
    const bool derivative = finish != nullptr && epilogue_has_derivative(*finish);
    for (int i = 0; i < kMR; ++i) {
      float* row = c + static_cast<size_t>(i) * ldc;
      for (int j = 0; j < kVectorsPerRow; ++j) {
        vfloat value = acc[i][j];
        if (accumulate) value += load(row + j * kVector);
        if (finish != nullptr) {
          value = epilogue_vector(value, *finish, finish->bias == nullptr ? nullptr : finish->bias + j * kVector,
                                  derivative ? finish->derivativeOf + static_cast<size_t>(i) * ldc + j * kVector : nullptr);
        }
        store(row + j * kVector, value);
      }
    }
    return;
  }
  alignas(64) float tile[kMR][kNR];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kVectorsPerRow; ++j) store(&tile[i][j * kVector], acc[i][j]);
  for (int i = 0; i < mr; ++i) {
    float* row = c + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < nr; ++j) row[j] = accumulate ? row[j] + tile[i][j] : tile[i][j];
  }
  if (finish != nullptr) apply_epilogue(c, mr, nr, ldc, *finish);
}

// Packs rows [0, mc) and columns [k0, k0+kc) of op(A) into kMR-tall panels, zero-padding the last panel.
void pack_a(bool transA, int mc, int kc, const float* A, int lda, int row0, int k0, float* packed) {
  for (int panel = 0; panel < mc; panel += kMR) {
    int rows = std::min(kMR, mc - panel);
    if (!transA) {
      for (int i = 0; i < rows; ++i) {
        const float* source = A + static_cast<size_t>(row0 + panel + i) * lda + k0;
        for (int k = 0; k < kc; ++k) packed[k * kMR + i] = source[k];
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        const float* source = A + static_cast<size_t>(k0 + k) * lda + row0 + panel;
        for (int i = 0; i < rows; ++i) packed[k * kMR + i] = source[i];
      }
    }
    for (int i = rows; i < kMR; ++i)
      for (int k = 0; k < kc; ++k) packed[k * kMR + i] = 0.0f;
    packed += static_cast<size_t>(kc) * kMR;
  }
}

inline float activate(float value, Activation activation) {
  switch (activation) {
    case Activation::relu:
      return relu(value);
    case Activation::sigmoid:
      return 1.0f / (1.0f + std::exp(-value));
    case Activation::linear:
      break;
  }
  return value;
}

}  // namespace

int gemm_panel_width() { return kNR; }

size_t packed_b_floats(int K, int N) { return static_cast<size_t>(K) * ((N + kNR - 1) / kNR) * kNR; }

void pack_b(bool transB, int K, int N, const float* B, int ldb, float* packed) {
  for (int column0 = 0; column0 < N; column0 += kNR) {
    int columns = std::min(kNR, N - column0);
    for (int k = 0; k < K; ++k) {
      float* out = packed + static_cast<size_t>(k) * kNR;
      if (!transB) {
        const float* source = B + static_cast<size_t>(k) * ldb + column0;
        for (int j = 0; j < columns; ++j) out[j] = source[j];
      } else {
        for (int j = 0; j < columns; ++j) out[j] = B[static_cast<size_t>(column0 + j) * ldb + k];
      }
      for (int j = columns; j < kNR; ++j) out[j] = 0.0f;
    }
    packed += static_cast<size_t>(K) * kNR;
  }
}

size_t gemm_a_scratch_floats() { return static_cast<size_t>(kMC) * kKC; }

// The epilogue's arithmetic in vectors, then the same in scalars for the last columns: each element gets the same
// operations either way (relu keeps NaN, its gradient multiplies by 1, 0 or the NaN), so results do not depend on
// where a row's vector part ends.
void apply_epilogue(float* C, int rows, int columns, int ldc, const Epilogue& epilogue) {
  if (!epilogue_needed(epilogue)) return;
  const bool derivative = epilogue_has_derivative(epilogue);
  const int vectorColumns = columns / kVector * kVector;
  for (int i = 0; i < rows; ++i) {
    float* row = C + static_cast<size_t>(i) * ldc;
    const float* output = derivative ? epilogue.derivativeOf + static_cast<size_t>(i) * ldc : nullptr;
    if (epilogue_fusable(epilogue)) {
      for (int j = 0; j < vectorColumns; j += kVector) {
        store(row + j, epilogue_vector(load(row + j), epilogue, epilogue.bias == nullptr ? nullptr : epilogue.bias + j,
                                       output == nullptr ? nullptr : output + j));
      }
    }
    for (int j = epilogue_fusable(epilogue) ? vectorColumns : 0; j < columns; ++j) {
      float value = row[j];
      if (epilogue.bias != nullptr) value += epilogue.bias[j];
      value = activate(value, epilogue.activation);
      if (output != nullptr)
        value = epilogue.derivative == Activation::relu ? relu_gradient(value, output[j])
                                                        : value * (output[j] * (1.0f - output[j]));
      row[j] = value;
    }
  }
}

void gemm_packed(bool transA, int M, int N, int K, const float* A, int lda, const float* packedB, float* C, int ldc,
                 bool accumulate, const Epilogue& epilogue, float* a_scratch) {
  const int panels = (N + kNR - 1) / kNR;
  // The epilogue in the last K block's tiles, as they are stored, unless there is none or it is a sigmoid (whose
  // exp apply_epilogue computes element by element).
  const bool fused = epilogue_needed(epilogue) && epilogue_fusable(epilogue);
  for (int m0 = 0; m0 < M; m0 += kMC) {
    int mc = std::min(kMC, M - m0);
    if (K == 0 && !accumulate)
      for (int i = 0; i < mc; ++i) std::fill_n(C + static_cast<size_t>(m0 + i) * ldc, N, 0.0f);
    // Untransposed A is read in place for whole kMR-row tiles; only a last partial tile (and transposed A) is packed.
    const int directRows = transA ? 0 : mc / kMR * kMR;
    const Epilogue block = offset(epilogue, static_cast<size_t>(m0) * ldc, 0);
    for (int k0 = 0; k0 < K; k0 += kKC) {
      int kc = std::min(kKC, K - k0);
      if (directRows < mc) pack_a(transA, mc - directRows, kc, A, lda, m0 + directRows, k0, a_scratch);
      bool add = accumulate || k0 > 0;
      const bool last = k0 + kc == K && fused;
      for (int panel = 0; panel < panels; ++panel) {
        const float* b = packedB + static_cast<size_t>(panel) * K * kNR + static_cast<size_t>(k0) * kNR;
        int nr = std::min(kNR, N - panel * kNR);
        for (int i = 0; i < mc; i += kMR) {
          float* c = C + static_cast<size_t>(m0 + i) * ldc + panel * kNR;
          const Epilogue tile = offset(block, static_cast<size_t>(i) * ldc, panel * kNR);
          if (i < directRows) {
            micro_kernel<true>(kc, A + static_cast<size_t>(m0 + i) * lda + k0, lda, b, c, ldc, kMR, nr, add,
                               last ? &tile : nullptr);
          } else {
            micro_kernel<false>(kc, a_scratch + static_cast<size_t>(i - directRows) * kc, 0, b, c, ldc,
                                std::min(kMR, mc - i), nr, add, last ? &tile : nullptr);
          }
        }
      }
    }
    if (!fused || K == 0) apply_epilogue(C + static_cast<size_t>(m0) * ldc, mc, N, ldc, block);
  }
}

void gemm(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
          int ldc, const Epilogue& epilogue) {
  // Kept by the calling thread between calls; pack_b writes every float of it. (The items use it through
  // `packedB`: a thread_local named in the lambda would be each pool thread's own.)
  thread_local std::vector<float> packed;
  if (packed.size() < packed_b_floats(K, N)) packed.resize(packed_b_floats(K, N));
  const float* packedB = packed.data();
  pack_b(transB, K, N, B, ldb, packed.data());
  // Items are (row block, column-panel group); split columns too when there are too few row blocks to share.
  const int rowBlocks = (M + kMC - 1) / kMC;
  const int panels = (N + kNR - 1) / kNR;
  const int wanted = 2 * thread_count();
  const int groups = rowBlocks >= wanted ? 1 : std::min(panels, (wanted + rowBlocks - 1) / rowBlocks);
  const int panelsPerGroup = (panels + groups - 1) / groups;
  parallel_for(rowBlocks * groups, [&](int item, int) {
    // One per OS thread (pool threads and any JS thread running its items itself), kept between calls.
    thread_local std::vector<float> a;
    if (a.size() < gemm_a_scratch_floats()) a.resize(gemm_a_scratch_floats());
    int block = item / groups;
    int group = item % groups;
    int m0 = block * kMC;
    int mc = std::min(kMC, M - m0);
    int column0 = group * panelsPerGroup * kNR;
    int columns = std::min(N, column0 + panelsPerGroup * kNR) - column0;
    if (columns <= 0) return;
    const float* rows = transA ? A + m0 : A + static_cast<size_t>(m0) * lda;
    Epilogue part = offset(epilogue, static_cast<size_t>(m0) * ldc, column0);
    gemm_packed(transA, mc, columns, K, rows, lda, packedB + static_cast<size_t>(column0) * K,
                C + static_cast<size_t>(m0) * ldc + column0, ldc, false, part, a.data());
  });
}

void gemm_reference(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                    float* C, int ldc, const Epilogue& epilogue) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int k = 0; k < K; ++k) {
        float a = transA ? A[static_cast<size_t>(k) * lda + i] : A[static_cast<size_t>(i) * lda + k];
        float b = transB ? B[static_cast<size_t>(j) * ldb + k] : B[static_cast<size_t>(k) * ldb + j];
        sum += static_cast<double>(a) * b;
      }
      C[static_cast<size_t>(i) * ldc + j] = static_cast<float>(sum);
    }
  }
  apply_epilogue(C, M, N, ldc, epilogue);
}

}  // namespace dae
