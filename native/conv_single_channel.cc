// Convolutions with one input channel (C == 1): a network's first layer, and a 1-channel output layer's
// transposed convolution, whose gradients are the same two shapes. With C == 1 the im2col matrix has only
// KH*KW columns, too few for the packed GEMM to pay off (it ran these at ~25 GFLOP/s against ~200 for the other
// layers), so these loops work on the images directly: each tap of an output pixel adds one input value times a
// row of F filter weights, NV = F / kVector vectors held in registers. F must be a multiple of kVector with
// NV <= kMaxVectors; conv.cc sends other shapes through im2col + GEMM.
#include <algorithm>
#include <vector>

#include "conv.h"
#include "epilogue_vector.h"
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

// The outputs of one axis whose taps are all in bounds: [begin, end), a contiguous run (empty when none are).
struct Interior {
  int begin, end;
};

Interior interior_of(const std::vector<std::vector<Tap>>& taps, int kernel) {
  const int count = static_cast<int>(taps.size());
  int begin = 0;
  while (begin < count && static_cast<int>(taps[begin].size()) != kernel) ++begin;
  int end = begin;
  while (end < count && static_cast<int>(taps[end].size()) == kernel) ++end;
  return {begin, end};
}

// Registers: 16 vectors with AVX2 and below, 32 with AVX-512. The 3x3 loops below keep several independent sums
// in flight (an FMA's result is ready about four cycles later, and two issue per cycle), as many as fit, and
// handle the pixels whose taps are all in bounds (most of them) apart from the border, with no bounds checks.
// Each lane of each sum adds the same products in the same order as the plain per-pixel loop.
#if defined(__AVX512F__)
constexpr int kRegisters = 32;
#else
constexpr int kRegisters = 16;
#endif

// One row of pixels [0, width): block(x) for PX pixels at a time inside `inside` when the row is blocked, plain(x)
// for every other pixel (the border, a last partial block, or the whole row when it is not blocked).
template <int PX, typename Plain, typename Block>
void walk_row(int width, bool blocked, Interior inside, Plain&& plain, Block&& block) {
  int x = 0;
  if (blocked) {
    for (; x < inside.begin; ++x) plain(x);
    for (; x + PX <= inside.end; x += PX) block(x);
  }
  for (; x < width; ++x) plain(x);
}

// Output pixels per block in forward and backprop_input: PX x NV sums plus the NV weight vectors they share.
template <int NV>
constexpr int pixels_per_block() {
  int pixels = (kRegisters - 2 - NV) / NV;
  return pixels < 1 ? 1 : (pixels > 4 ? 4 : pixels);
}

template <int NV>
void forward(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue) {
  constexpr int F = NV * kVector;
  constexpr int PX = pixels_per_block<NV>();
  const auto rows = forward_taps(g.OH, g.H, g.KH, g.strideH, g.padTop, g.dilationH);
  const auto columns = forward_taps(g.OW, g.W, g.KW, g.strideW, g.padLeft, g.dilationW);
  const bool threeByThree = g.KH == 3 && g.KW == 3;
  const Interior inside = threeByThree ? interior_of(columns, 3) : Interior{0, 0};
  // The epilogue as each pixel's F values are stored (apply_epilogue's vector arithmetic, F being whole vectors),
  // instead of a second pass over the image's output; a sigmoid keeps the pass.
  const bool fused = epilogue_fusable(epilogue);
  const bool derivative = epilogue_has_derivative(epilogue);
  parallel_for(g.N, [&](int n, int) {
    const float* image = x + static_cast<size_t>(n) * g.H * g.W;
    float* out = y + static_cast<size_t>(n) * g.OH * g.OW * F;
    auto store_pixel = [&](float* pixel, const vfloat* sum) {
      for (int v = 0; v < NV; ++v) {
        vfloat value = sum[v];
        if (fused) {
          value = epilogue_vector(value, epilogue, epilogue.bias == nullptr ? nullptr : epilogue.bias + v * kVector,
                                  derivative ? epilogue.derivativeOf + (pixel - y) + v * kVector : nullptr);
        }
        store(pixel + v * kVector, value);
      }
    };
    auto plain = [&](int oy, int ox) {
      vfloat sum[NV] = {};
      for (const Tap& row : rows[oy])
        for (const Tap& column : columns[ox]) {
          vfloat value = splat(image[row.position * g.W + column.position]);
          const float* weights = w + static_cast<size_t>(row.kernel * g.KW + column.kernel) * F;
          for (int v = 0; v < NV; ++v) sum[v] += value * load(weights + v * kVector);
        }
      store_pixel(out + (static_cast<size_t>(oy) * g.OW + ox) * F, sum);
    };
    for (int oy = 0; oy < g.OH; ++oy) {
      // PX pixels at a time share each tap's weight vectors; tap (a, b) of pixel ox reads corner[a, b].
      walk_row<PX>(g.OW, threeByThree && rows[oy].size() == 3, inside, [&](int ox) { plain(oy, ox); }, [&](int ox) {
        const float* corner = image + (oy * g.strideH - g.padTop) * g.W + ox * g.strideW - g.padLeft;
        vfloat sum[PX][NV] = {};
#pragma GCC unroll 3
        for (int a = 0; a < 3; ++a)
#pragma GCC unroll 3
          for (int b = 0; b < 3; ++b) {
            vfloat weight[NV];
            for (int v = 0; v < NV; ++v) weight[v] = load(w + (a * 3 + b) * F + v * kVector);
            const float* input = corner + a * g.dilationH * g.W + b * g.dilationW;
#pragma GCC unroll 4
            for (int p = 0; p < PX; ++p) {
              vfloat value = splat(input[p * g.strideW]);
              for (int v = 0; v < NV; ++v) sum[p][v] += value * weight[v];
            }
          }
        for (int p = 0; p < PX; ++p) store_pixel(out + (static_cast<size_t>(oy) * g.OW + ox + p) * F, sum[p]);
      });
    }
    if (!fused) apply_epilogue(out, g.OH * g.OW, F, F, offset(epilogue, static_cast<size_t>(n) * g.OH * g.OW * F, 0));
  });
}

template <int NV>
void backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx, const Epilogue& epilogue) {
  constexpr int F = NV * kVector;
  constexpr int PX = pixels_per_block<NV>();
  const auto rows = backward_taps(g.OH, g.H, g.KH, g.strideH, g.padTop, g.dilationH);
  const auto columns = backward_taps(g.OW, g.W, g.KW, g.strideW, g.padLeft, g.dilationW);
  // Blocks only for stride 1, where every pixel has the same taps: backward_taps lists them by output position,
  // so entry a reads kernel row 2 - a at dy row iy + padTop - (2 - a) * dilation (likewise for columns).
  const bool blocks = g.KH == 3 && g.KW == 3 && g.strideH == 1 && g.strideW == 1;
  const Interior inside = blocks ? interior_of(columns, 3) : Interior{0, 0};
  parallel_for(g.N, [&](int n, int) {
    const float* gradient = dy + static_cast<size_t>(n) * g.OH * g.OW * F;
    float* out = dx + static_cast<size_t>(n) * g.H * g.W;
    auto plain = [&](int iy, int ix) {
      vfloat sum[NV] = {};
      for (const Tap& row : rows[iy])
        for (const Tap& column : columns[ix]) {
          const float* source = gradient + (static_cast<size_t>(row.position) * g.OW + column.position) * F;
          const float* weights = w + static_cast<size_t>(row.kernel * g.KW + column.kernel) * F;
          for (int v = 0; v < NV; ++v) sum[v] += load(source + v * kVector) * load(weights + v * kVector);
        }
      for (int v = 1; v < NV; ++v) sum[0] += sum[v];
      out[iy * g.W + ix] = lane_sum(sum[0]);
    };
    for (int iy = 0; iy < g.H; ++iy) {
      walk_row<PX>(g.W, blocks && rows[iy].size() == 3, inside, [&](int ix) { plain(iy, ix); }, [&](int ix) {
        // dy pixel of tap (a, b) for pixel ix: corner + a * dilationH rows + b * dilationW columns.
        const float* corner =
            gradient + (static_cast<size_t>(iy + g.padTop - 2 * g.dilationH) * g.OW + ix + g.padLeft - 2 * g.dilationW) * F;
        vfloat sum[PX][NV] = {};
#pragma GCC unroll 3
        for (int a = 0; a < 3; ++a)
#pragma GCC unroll 3
          for (int b = 0; b < 3; ++b) {
            vfloat weight[NV];
            for (int v = 0; v < NV; ++v) weight[v] = load(w + ((2 - a) * 3 + (2 - b)) * F + v * kVector);
            const float* source = corner + (static_cast<size_t>(a) * g.dilationH * g.OW + b * g.dilationW) * F;
#pragma GCC unroll 4
            for (int p = 0; p < PX; ++p)
              for (int v = 0; v < NV; ++v) sum[p][v] += load(source + p * F + v * kVector) * weight[v];
          }
        for (int p = 0; p < PX; ++p) {
          for (int v = 1; v < NV; ++v) sum[p][0] += sum[p][v];
          out[iy * g.W + ix + p] = lane_sum(sum[p][0]);
        }
      });
    }
    apply_epilogue(out, g.H * g.W, 1, 1, offset(epilogue, static_cast<size_t>(n) * g.H * g.W, 0));
  });
}

// Vectors of F per pass over the interior in backprop_filter: 9 x VG sums, VG gradient vectors and a splat.
template <int NV>
constexpr int vectors_per_pass() {
  int vectors = (kRegisters - 1) / 10;
  vectors = vectors < 1 ? 1 : vectors;
  while (NV % vectors != 0) --vectors;
  return vectors;
}

template <int NV>
void backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  constexpr int F = NV * kVector;
  constexpr int VG = vectors_per_pass<NV>();
  const int taps = g.KH * g.KW;
  const auto rows = forward_taps(g.OH, g.H, g.KH, g.strideH, g.padTop, g.dilationH);
  const auto columns = forward_taps(g.OW, g.W, g.KW, g.strideW, g.padLeft, g.dilationW);
  // A 3x3 filter: each image is first copied into a zero-bordered frame that every tap of every output pixel
  // reads inside, so all pixels take the fast loop (the border pixels' taps outside x add zeros). Its 9 x NV
  // accumulators are kept for the whole range, VG vectors of them per pass so that they stay in registers. Each
  // accumulator adds its pixels in order. Other filters: every pixel through the bounds-checked taps.
  const bool threeByThree = g.KH == 3 && g.KW == 3;
  const int frameRows = (g.OH - 1) * g.strideH + 2 * g.dilationH + 1;
  const int frameColumns = (g.OW - 1) * g.strideW + 2 * g.dilationW + 1;
  ordered_partial_sums(g.N, static_cast<size_t>(taps) * F, dw, [&](int first, int last, float* sums, int) {
    thread_local std::vector<float> frame;
    vfloat inner[9][NV] = {};
    for (int n = first; n < last; ++n) {
      const float* image = x + static_cast<size_t>(n) * g.H * g.W;
      const float* gradient = dy + static_cast<size_t>(n) * g.OH * g.OW * F;
      if (!threeByThree) {
        for (int oy = 0; oy < g.OH; ++oy)
          for (int ox = 0; ox < g.OW; ++ox) {
            vfloat d[NV];
            for (int v = 0; v < NV; ++v) d[v] = load(gradient + (static_cast<size_t>(oy) * g.OW + ox) * F + v * kVector);
            for (const Tap& row : rows[oy])
              for (const Tap& column : columns[ox]) {
                vfloat value = splat(image[row.position * g.W + column.position]);
                float* sum = sums + static_cast<size_t>(row.kernel * g.KW + column.kernel) * F;
                for (int v = 0; v < NV; ++v) store(sum + v * kVector, load(sum + v * kVector) + value * d[v]);
              }
          }
        continue;
      }
      // frame[r, c] = x[r - padTop, c - padLeft], zero outside x.
      frame.resize(static_cast<size_t>(frameRows) * frameColumns);
      for (int r = 0; r < frameRows; ++r) {
        const int iy = r - g.padTop;
        float* line = frame.data() + static_cast<size_t>(r) * frameColumns;
        for (int c = 0; c < frameColumns; ++c) {
          const int ix = c - g.padLeft;
          line[c] = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W ? image[iy * g.W + ix] : 0.0f;
        }
      }
      for (int v0 = 0; v0 < NV; v0 += VG) {
        vfloat held[9][VG];
        for (int t = 0; t < 9; ++t)
          for (int v = 0; v < VG; ++v) held[t][v] = inner[t][v0 + v];
        for (int oy = 0; oy < g.OH; ++oy) {
          const float* row = frame.data() + static_cast<size_t>(oy) * g.strideH * frameColumns;
          const float* d = gradient + static_cast<size_t>(oy) * g.OW * F + v0 * kVector;
          for (int ox = 0; ox < g.OW; ++ox) {
            const float* corner = row + ox * g.strideW;
            vfloat gradientVectors[VG];
            for (int v = 0; v < VG; ++v) gradientVectors[v] = load(d + static_cast<size_t>(ox) * F + v * kVector);
#pragma GCC unroll 3
            for (int a = 0; a < 3; ++a)
#pragma GCC unroll 3
              for (int b = 0; b < 3; ++b) {
                vfloat value = splat(corner[a * g.dilationH * frameColumns + b * g.dilationW]);
                for (int v = 0; v < VG; ++v) held[a * 3 + b][v] += value * gradientVectors[v];
              }
          }
        }
        for (int t = 0; t < 9; ++t)
          for (int v = 0; v < VG; ++v) inner[t][v0 + v] = held[t][v];
      }
    }
    if (!threeByThree) return;
    for (int t = 0; t < 9; ++t)
      for (int v = 0; v < NV; ++v) store(sums + t * F + v * kVector, inner[t][v]);
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
