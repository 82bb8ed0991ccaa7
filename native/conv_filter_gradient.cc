// The filter gradient of a convolution without im2col. For one tap (ky, kx), dw[ky, kx] is a [C, F] matrix: the
// sum over output pixels p of x[at(p, tap)]^T dy[p], where at(p, tap) is the input pixel the tap reads. Along an
// output row, those input pixels lie strideW pixels apart, so both operands are read where they lie, as strided
// matrices: a register tile of R filters x 2 vectors of channels accumulates dw^T over the row segments of a chunk
// of output pixels. (Filters as rows: C = 32 or 64 is a whole number of 2-vector panels, and F = 64 leaves a tail
// of 4 rows, which keeps enough sums in flight; channels as rows left a 2-row tail for C = 32.) No im2col copy, no
// packing; taps that fall outside x are skipped (they would add zeros). The partial sums are kept as dw^T and
// transposed once at the end.
//
// The chunks, and the order of the products within each, are those of the im2col path (conv.cc), so the result
// is the same bit for bit, and the same with any thread count (ordered_partial_sums).
#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "conv.h"
#include "simd.h"
#include "thread_pool.h"

namespace dae {
namespace {

constexpr int kRows = kTileRows;  // filters per register tile (simd.h)
constexpr int kVectorsPerTile = 2;
constexpr int kColumns = kVector * kVectorsPerTile;

// A run of output pixels along one output row: `count` pixels, the first reading x at `x` and dy at `dy`.
struct Segment {
  const float* x;
  const float* dy;
  int count;
};

// out[R, kColumns] (row stride C) += sum over the segments' pixels of dy[f0 .. f0 + R]^T x[c0 .. c0 + kColumns].
template <int R>
void tile(const Segment* segments, int segmentCount, int xStep, int dyStep, int f0, int c0, float* out, int C) {
  vfloat acc[R][kVectorsPerTile];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < kVectorsPerTile; ++j) acc[i][j] = vfloat{};
  for (int s = 0; s < segmentCount; ++s) {
    const float* a = segments[s].dy + f0;
    const float* b = segments[s].x + c0;
    for (int k = 0; k < segments[s].count; ++k) {
      vfloat b0 = load(b);
      vfloat b1 = load(b + kVector);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        float ai = a[i];
        acc[i][0] += b0 * ai;
        acc[i][1] += b1 * ai;
      }
      a += dyStep;
      b += xStep;
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < kVectorsPerTile; ++j) {
      float* row = out + static_cast<size_t>(i) * C + j * kVector;
      store(row, acc[i][j] + load(row));
    }
}

using TileFunction = void (*)(const Segment*, int, int, int, int, int, float*, int);

template <size_t... Rows>
constexpr auto tile_table(std::index_sequence<Rows...>) {
  return std::array<TileFunction, sizeof...(Rows)>{&tile<static_cast<int>(Rows) + 1>...};
}
// tiles[r - 1] handles r filters: kRows for whole tiles, fewer for the last one of F.
constexpr auto tiles = tile_table(std::make_index_sequence<kRows>{});


// The segments of output pixels [pixel0, pixel0 + P) that tap (ky, kx) reads inside x.
void segments_of(const ConvGeometry& g, const float* x, const float* dy, long pixel0, int P, int ky, int kx,
                 std::vector<Segment>& segments) {
  segments.clear();
  const long perImage = static_cast<long>(g.OH) * g.OW;
  // Output columns whose input column is inside x: ox * sW - padLeft + kx * dW in [0, W).
  const int shift = kx * g.dilationW - g.padLeft;
  const int firstColumn = std::max(0, floor_divide(-shift + g.strideW - 1, g.strideW));
  const int lastColumn = std::min(g.OW - 1, floor_divide(g.W - 1 - shift, g.strideW));
  for (long pixel = pixel0, end = pixel0 + P; pixel < end;) {
    const long n = pixel / perImage;
    const int rest = static_cast<int>(pixel % perImage);
    const int oy = rest / g.OW, ox = rest % g.OW;
    const long rowEnd = std::min(end, pixel + (g.OW - ox));
    const int iy = oy * g.strideH - g.padTop + ky * g.dilationH;
    const int from = std::max(ox, firstColumn), to = std::min(static_cast<int>(ox + (rowEnd - pixel)) - 1, lastColumn);
    if (iy >= 0 && iy < g.H && from <= to) {
      const int ix = from * g.strideW + shift;
      segments.push_back({x + ((static_cast<size_t>(n) * g.H + iy) * g.W + ix) * g.C,
                          dy + (static_cast<size_t>(pixel) + (from - ox)) * g.F, to - from + 1});
    }
    pixel = rowEnd;
  }
}

}  // namespace

bool filter_gradient_direct_applies(const ConvGeometry& g) { return g.C % kColumns == 0; }

void filter_gradient_direct_chunk(const ConvGeometry& g, const float* x, const float* dy, long pixel0, int P,
                                  float* transposed) {
  thread_local std::vector<Segment> segments;
  for (int ky = 0; ky < g.KH; ++ky)
    for (int kx = 0; kx < g.KW; ++kx) {
      segments_of(g, x, dy, pixel0, P, ky, kx, segments);
      if (segments.empty()) continue;
      float* tap = transposed + static_cast<size_t>(ky * g.KW + kx) * g.F * g.C;
      // A panel of x's channels stays in L1 while every filter tile of the tap passes over it.
      for (int c0 = 0; c0 < g.C; c0 += kColumns)
        for (int f0 = 0; f0 < g.F; f0 += kRows) {
          const int rows = std::min(kRows, g.F - f0);
          tiles[rows - 1](segments.data(), static_cast<int>(segments.size()), g.strideW * g.C, g.F, f0, c0,
                          tap + static_cast<size_t>(f0) * g.C + c0, g.C);
        }
    }
}

void filter_gradient_untranspose(const ConvGeometry& g, const float* transposed, float* dw) {
  for (int t = 0; t < g.KH * g.KW; ++t) {
    const float* source = transposed + static_cast<size_t>(t) * g.F * g.C;
    float* target = dw + static_cast<size_t>(t) * g.C * g.F;
    for (int c = 0; c < g.C; ++c)
      for (int f = 0; f < g.F; ++f) target[static_cast<size_t>(c) * g.F + f] = source[static_cast<size_t>(f) * g.C + c];
  }
}

float* filter_gradient_transposed_buffer(const ConvGeometry& g) {
  thread_local std::vector<float> transposed;  // dw^T per tap: [KH * KW, F, C]
  const size_t floats = static_cast<size_t>(g.KH) * g.KW * g.C * g.F;
  if (transposed.size() < floats) transposed.resize(floats);
  return transposed.data();
}

void conv2d_backprop_filter_direct(const ConvGeometry& g, const float* x, const float* dy, float* dw, int chunkPixels) {
  const long pixels = static_cast<long>(g.N) * g.OH * g.OW;
  const int chunks = static_cast<int>((pixels + chunkPixels - 1) / chunkPixels);
  float* transposed = filter_gradient_transposed_buffer(g);
  ordered_partial_sums(chunks, static_cast<size_t>(g.KH) * g.KW * g.C * g.F, transposed,
                       [&](int first, int last, float* partial, int) {
                         for (int chunk = first; chunk < last; ++chunk) {
                           const long pixel0 = static_cast<long>(chunk) * chunkPixels;
                           const int P = static_cast<int>(std::min<long>(chunkPixels, pixels - pixel0));
                           filter_gradient_direct_chunk(g, x, dy, pixel0, P, partial);
                         }
                       });
  filter_gradient_untranspose(g, transposed, dw);
}

}  // namespace dae
