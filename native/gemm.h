// Single-precision matrix multiply, row-major.
// M, N, K: C is M x N, the shared dimension is K. op(A) is A or its transpose (transA: A is stored K x M),
// likewise op(B). lda/ldb/ldc are row strides in floats.
#pragma once
#include <cstddef>

namespace dae {

enum class Activation { linear = 0, relu = 1, sigmoid = 2 };

// Epilogue applied to each finished tile of C: C = activation(C + bias[column]), then, in a backward pass,
// C *= derivative'(derivativeOf): the gradient through the activation of the layer below, whose output
// derivativeOf is (laid out as C, same row stride; relu: 1 where it is > 0, sigmoid: out (1 - out)). Null
// pointers skip their part.
struct Epilogue {
  const float* bias = nullptr;
  Activation activation = Activation::linear;
  const float* derivativeOf = nullptr;
  Activation derivative = Activation::linear;
};

// relu as tfjs computes it (Math.max(0, x)): a NaN stays NaN, so a diverging run shows in its loss.
inline float relu(float x) { return x > 0.0f ? x : (x != x ? x : 0.0f); }
// dy * step(output) as tfjs computes relu's gradient (elementwise.cc's relu_gradient): NaN where the output is NaN.
inline float relu_gradient(float dy, float output) {
  return dy * (output > 0.0f ? 1.0f : (output <= 0.0f ? 0.0f : output));
}

// The epilogue for the part of C that starts `elements` floats and `column0` columns further on.
inline Epilogue offset(const Epilogue& epilogue, size_t elements, int column0) {
  Epilogue part = epilogue;
  if (part.bias != nullptr) part.bias += column0;
  if (part.derivativeOf != nullptr) part.derivativeOf += elements + column0;
  return part;
}

// B packed into column panels of gemm_panel_width(): panel p holds columns [p*NR, p*NR+NR), K rows of NR.
int gemm_panel_width();
size_t packed_b_floats(int K, int N);
void pack_b(bool transB, int K, int N, const float* B, int ldb, float* packed);

// C[M,N] (= or +=) op(A) * packedB over one thread. a_scratch must hold gemm_a_scratch_floats() floats.
size_t gemm_a_scratch_floats();
void gemm_packed(bool transA, int M, int N, int K, const float* A, int lda, const float* packedB, float* C, int ldc,
                 bool accumulate, const Epilogue& epilogue, float* a_scratch);

// Whole multiply spread over the thread pool.
void gemm(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
          int ldc, const Epilogue& epilogue);

// Plain triple loop: the oracle for the fast path.
void gemm_reference(bool transA, bool transB, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                    float* C, int ldc, const Epilogue& epilogue);

void apply_epilogue(float* C, int rows, int columns, int ldc, const Epilogue& epilogue);

}  // namespace dae
