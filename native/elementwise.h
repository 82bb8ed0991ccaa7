// Element-wise and reduction kernels that dominate a training step once the convolutions are fast.
#pragma once
#include <cstddef>

namespace dae {

// out[r, c] = sum over rows of x[rows, columns]: the bias gradient (a sum over every axis but the last).
void sum_rows(const float* x, long rows, int columns, float* out);
void relu(const float* x, float* out, size_t size);
// out = dy where y > 0 else 0: the gradient of relu written in terms of its output or input.
void relu_grad(const float* dy, const float* y, float* out, size_t size);
void sigmoid(const float* x, float* out, size_t size);

}  // namespace dae
