// 2-D convolution in NHWC with HWIO filters, as tfjs computes it.
// N = batch, H/W = input spatial, C = input channels, KH/KW = filter spatial, F = filters (output channels),
// OH/OW = output spatial. The filter, flattened, is a [KH*KW*C, F] matrix; an output pixel is one row of
// im2col(x) [N*OH*OW, KH*KW*C] times it.
#pragma once
#include "gemm.h"

namespace dae {

// Floor division for a divisor > 0 (C++'s / truncates toward zero).
inline int floor_divide(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

struct ConvGeometry {
  int N, H, W, C;
  int KH, KW, F;
  int OH, OW;
  int strideH, strideW;
  int padTop, padLeft;
  int dilationH, dilationW;
};

// y[N,OH,OW,F] = epilogue(conv(x[N,H,W,C], w[KH,KW,C,F]))
void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue);
// dx[N,H,W,C] = epilogue(gradient of conv2d with respect to x, given dy[N,OH,OW,F]): a transposed convolution
// with its bias and activation when the epilogue has them (bias over C).
void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx,
                           const Epilogue& epilogue = Epilogue{});
// dw[KH,KW,C,F] = gradient of conv2d with respect to w, given x and dy
void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

// The same three for C == 1 and F a small multiple of the vector width, without im2col
// (conv_single_channel.cc); the three above call them when single_channel_applies.
bool single_channel_applies(const ConvGeometry& g);
void conv2d_single_channel(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue);
void conv2d_backprop_input_single_channel(const ConvGeometry& g, const float* dy, const float* w, float* dx,
                                          const Epilogue& epilogue);
// The input gradient of a strided convolution, one stride phase of dx at a time (conv_phases.cc): for stride 2, dx's
// even/odd rows and columns each receive a fixed subset of the taps, so each phase is a plain multiply of gathered
// dy rows by those taps' weights, written once, with no overlapping scatter-add and no zeroing of dx.
bool phases_apply(const ConvGeometry& g);
void conv2d_backprop_input_phases(const ConvGeometry& g, const float* dy, const float* w, float* dx,
                                  const Epilogue& epilogue);
void conv2d_backprop_filter_single_channel(const ConvGeometry& g, const float* x, const float* dy, float* dw);
// The filter gradient without im2col, reading x and dy where they lie (conv_filter_gradient.cc), over the same
// chunks of chunkPixels output pixels as the im2col path, so with the same result bit for bit. Applies when F is
// a whole number of its register tile's columns.
bool filter_gradient_direct_applies(const ConvGeometry& g);
void conv2d_backprop_filter_direct(const ConvGeometry& g, const float* x, const float* dy, float* dw, int chunkPixels);
// Its parts: the sums of output pixels [pixel0, pixel0 + P) added into transposed ([KH*KW, F, C], dw^T per tap), and
// the transpose into dw at the end; the calling thread's buffer for the partials' total.
void filter_gradient_direct_chunk(const ConvGeometry& g, const float* x, const float* dy, long pixel0, int P,
                                  float* transposed);
void filter_gradient_untranspose(const ConvGeometry& g, const float* transposed, float* dw);
float* filter_gradient_transposed_buffer(const ConvGeometry& g);

// A transposed convolution's backward pass in one traversal: y = epilogue(conv2d(x, w)) (its input gradient) and
// dw = conv2d_backprop_filter(x, dy) (its filter gradient), where dy is also what the epilogue's derivative reads.
// Both go over the same chunks of output pixels, so each chunk of x and dy is read from memory once, not twice; the
// results are those of the two calls bit for bit. Applies where conv2d takes im2col + GEMM and the filter gradient
// its direct path.
bool conv2d_with_filter_gradient_applies(const ConvGeometry& g);
void conv2d_with_filter_gradient(const ConvGeometry& g, const float* x, const float* w, float* y,
                                 const Epilogue& epilogue, const float* dy, float* dw);

// Direct loops over the definition: the oracle for the three above.
void conv2d_reference(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue);
void conv2d_backprop_input_reference(const ConvGeometry& g, const float* dy, const float* w, float* dx);
void conv2d_backprop_filter_reference(const ConvGeometry& g, const float* x, const float* dy, float* dw);

}  // namespace dae
