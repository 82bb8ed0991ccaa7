// Convolutions with one input channel (C == 1): a network's first layer, and a 1-channel output layer's
// transposed convolution, whose gradients are the same two shapes. With C == 1 the im2col matrix has only
// KH*KW columns, too few for the packed GEMM to pay off (it ran these at ~25 GFLOP/s against ~200 for the other
// layers), so these loops work on the images directly: each tap of an output pixel adds one input value times a
// row of F filter weights, NV = F / kVector vectors held in registers. F must be a multiple of kVector with
// NV <= kMaxVectors; conv.cc sends other shapes through im2col + GEMM.
#include <algorithm>
#include <vector>

#include "conv.h"
#include "simd.h"
#include "thread_pool.h"

namespace dae {
namespace {

// The (kernel offset, position) pairs of one axis that are in bounds: for output position o, the input position
// i = o * stride - pad + k * dilation of each tap k.
struct Tap {
  int kernel, position;
};

std::vector<std::vector<Tap>> forward_taps(int outputs, int inputs, int kernel, int stride, int pad, int dilation) {
  std::vector<std::vector<Tap>> taps(outputs);
  for (int o = 0; o < outputs; ++o)
    for (int k = 0; k < kernel; ++k) {
      int i = o * stride - pad + k * dilation;
      if (i >= 0 && i < inputs) taps[o].push_back({k, i});
    }
  return taps;
}

// The inverse view: for input position i, each tap k and the output position o it feeds.
std::vector<std::vector<Tap>> backward_taps(int outputs, int inputs, int kernel, int stride, int pad, int dilation) {
  std::vector<std::vector<Tap>> taps(inputs);
  for (int o = 0; o < outputs; ++o)
    for (int k = 0; k < kernel; ++k) {
      int i = o * stride - pad + k * dilation;
      if (i >= 0 && i < inputs) taps[i].push_back({k, o});
    }
  return taps;
}

template <int NV>
void forward(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue) {
  constexpr int F = NV * kVector;
  const auto rows = forward_taps(g.OH, g.H, g.KH, g.strideH, g.padTop, g.dilationH);
  const auto columns = forward_taps(g.OW, g.W, g.KW, g.strideW, g.padLeft, g.dilationW);
  parallel_for(g.N, [&](int n, int) {
    const float* image = x + static_cast<size_t>(n) * g.H * g.W;
    float* out = y + static_cast<size_t>(n) * g.OH * g.OW * F;
    for (int oy = 0; oy < g.OH; ++oy)
      for (int ox = 0; ox < g.OW; ++ox) {
        vfloat sum[NV] = {};
        auto tap = [&](const Tap& row, const Tap& column) {
          vfloat value = splat(image[row.position * g.W + column.position]);
          const float* weights = w + static_cast<size_t>(row.kernel * g.KW + column.kernel) * F;
          for (int v = 0; v < NV; ++v) sum[v] += value * load(weights + v * kVector);
        };
        if (rows[oy].size() == 3 && columns[ox].size() == 3) {
          // Every tap of a 3x3 filter in bounds (most pixels): the same taps in the same order, unrolled.
#pragma GCC unroll 3
          for (int a = 0; a < 3; ++a)
#pragma GCC unroll 3
            for (int b = 0; b < 3; ++b) tap(rows[oy][a], columns[ox][b]);
        } else {
          for (const Tap& row : rows[oy])
            for (const Tap& column : columns[ox]) tap(row, column);
        }
        float* pixel = out + (static_cast<size_t>(oy) * g.OW + ox) * F;
        for (int v = 0; v < NV; ++v) store(pixel + v * kVector, sum[v]);
      }
    apply_epilogue(out, g.OH * g.OW, F, F, offset(epilogue, static_cast<size_t>(n) * g.OH * g.OW * F, 0));
  });
}

template <int NV>
void backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx, const Epilogue& epilogue) {
  constexpr int F = NV * kVector;
  const auto rows = backward_taps(g.OH, g.H, g.KH, g.strideH, g.padTop, g.dilationH);
  const auto columns = backward_taps(g.OW, g.W, g.KW, g.strideW, g.padLeft, g.dilationW);
  parallel_for(g.N, [&](int n, int) {
    const float* gradient = dy + static_cast<size_t>(n) * g.OH * g.OW * F;
    float* out = dx + static_cast<size_t>(n) * g.H * g.W;
    for (int iy = 0; iy < g.H; ++iy)
      for (int ix = 0; ix < g.W; ++ix) {
        vfloat sum[NV] = {};
        auto tap = [&](const Tap& row, const Tap& column) {
          const float* source = gradient + (static_cast<size_t>(row.position) * g.OW + column.position) * F;
          const float* weights = w + static_cast<size_t>(row.kernel * g.KW + column.kernel) * F;
          for (int v = 0; v < NV; ++v) sum[v] += load(source + v * kVector) * load(weights + v * kVector);
        };
        if (rows[iy].size() == 3 && columns[ix].size() == 3) {
#pragma GCC unroll 3
          for (int a = 0; a < 3; ++a)
#pragma GCC unroll 3
            for (int b = 0; b < 3; ++b) tap(rows[iy][a], columns[ix][b]);
        } else {
          for (const Tap& row : rows[iy])
            for (const Tap& column : columns[ix]) tap(row, column);
        }
        for (int v = 1; v < NV; ++v) sum[0] += sum[v];
        out[iy * g.W + ix] = lane_sum(sum[0]);
      }
    apply_epilogue(out, g.H * g.W, 1, 1, offset(epilogue, static_cast<size_t>(n) * g.H * g.W, 0));
  });
}

template <int NV>
void backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  constexpr int F = NV * kVector;
  const int taps = g.KH * g.KW;
  const auto rows = forward_taps(g.OH, g.H, g.KH, g.strideH, g.padTop, g.dilationH);
  const auto columns = forward_taps(g.OW, g.W, g.KW, g.strideW, g.padLeft, g.dilationW);
  // A 3x3 filter's pixels with every tap in bounds (most of them) add into accumulators held in registers (9 x NV
  // vectors) for the whole range, the others into the range's partial sums; both are added up in a fixed order.
  const bool threeByThree = g.KH == 3 && g.KW == 3;
  ordered_partial_sums(g.N, static_cast<size_t>(taps) * F, dw, [&](int first, int last, float* sums, int) {
    vfloat inner[9][NV] = {};
    for (int n = first; n < last; ++n) {
      const float* image = x + static_cast<size_t>(n) * g.H * g.W;
      const float* gradient = dy + static_cast<size_t>(n) * g.OH * g.OW * F;
      for (int oy = 0; oy < g.OH; ++oy)
        for (int ox = 0; ox < g.OW; ++ox) {
          vfloat d[NV];
          for (int v = 0; v < NV; ++v) d[v] = load(gradient + (static_cast<size_t>(oy) * g.OW + ox) * F + v * kVector);
          if (threeByThree && rows[oy].size() == 3 && columns[ox].size() == 3) {
#pragma GCC unroll 3
            for (int a = 0; a < 3; ++a)
#pragma GCC unroll 3
              for (int b = 0; b < 3; ++b) {
                const Tap& row = rows[oy][a];
                const Tap& column = columns[ox][b];
                vfloat value = splat(image[row.position * g.W + column.position]);
                for (int v = 0; v < NV; ++v) inner[row.kernel * 3 + column.kernel][v] += value * d[v];
              }
            continue;
          }
          for (const Tap& row : rows[oy])
            for (const Tap& column : columns[ox]) {
              vfloat value = splat(image[row.position * g.W + column.position]);
              float* sum = sums + static_cast<size_t>(row.kernel * g.KW + column.kernel) * F;
              for (int v = 0; v < NV; ++v) store(sum + v * kVector, load(sum + v * kVector) + value * d[v]);
            }
        }
    }
    if (!threeByThree) return;
    for (int t = 0; t < 9; ++t)
      for (int v = 0; v < NV; ++v) store(sums + t * F + v * kVector, load(sums + t * F + v * kVector) + inner[t][v]);
  });
}

constexpr int kMaxVectors = 8;

// Calls body.template operator()<NV>() for NV = F / kVector.
template <typename Body>
void with_vectors(int F, Body&& body) {
  switch (F / kVector) {
    case 1: return body.template operator()<1>();
    case 2: return body.template operator()<2>();
    case 3: return body.template operator()<3>();
    case 4: return body.template operator()<4>();
    case 5: return body.template operator()<5>();
    case 6: return body.template operator()<6>();
    case 7: return body.template operator()<7>();
    default: return body.template operator()<8>();
  }
}

}  // namespace

bool single_channel_applies(const ConvGeometry& g) {
  return g.C == 1 && g.F % kVector == 0 && g.F / kVector >= 1 && g.F / kVector <= kMaxVectors;
}

void conv2d_single_channel(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue) {
  with_vectors(g.F, [&]<int NV>() { forward<NV>(g, x, w, y, epilogue); });
}

void conv2d_backprop_input_single_channel(const ConvGeometry& g, const float* dy, const float* w, float* dx,
                                          const Epilogue& epilogue) {
  with_vectors(g.F, [&]<int NV>() { backprop_input<NV>(g, dy, w, dx, epilogue); });
}

void conv2d_backprop_filter_single_channel(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  with_vectors(g.F, [&]<int NV>() { backprop_filter<NV>(g, x, dy, dw); });
}

}  // namespace dae
