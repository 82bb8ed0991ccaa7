// Element-wise and reduction kernels that dominate a training step once the convolutions are fast.
// Broadcasting is the trailing kind only (a scalar, a bias vector over the last axes, or the same shape):
// an operand of length L is read at index i % L, where L divides the output length.
#pragma once
#include <cstddef>

namespace dae {

enum class BinaryOp { add = 0, sub = 1, mul = 2, div = 3, maximum = 4, minimum = 5, squared_difference = 6, relu_gradient = 7 };
enum class UnaryOp { relu = 0, sigmoid = 1, step = 2, sqrt = 3, square = 4, neg = 5, exp = 6, log = 7, abs = 8 };

void binary(BinaryOp op, const float* a, size_t aLength, const float* b, size_t bLength, float* out, size_t size);
void unary(UnaryOp op, const float* x, float* out, size_t size, float alpha);
// out[c] = sum over rows of x[rows, columns]: a reduction over leading axes (bias gradients, full sums).
void sum_rows(const float* x, long rows, int columns, float* out);
// out[r] = mean of row r of x[rows, columns]: a mean over trailing axes (a loss's per-example and batch means),
// computed as tfjs's cpu kernel does (divide, then sum in double) so the value is the same.
void mean_columns(const float* x, long rows, long columns, float* out);

}  // namespace dae
