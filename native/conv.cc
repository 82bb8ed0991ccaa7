// Convolutions as im2col + packed GEMM, done in chunks of output pixels small enough for the chunk's im2col
// rows to stay in L2. P = output pixels in a chunk, K = KH*KW*C.
#include "conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "simd.h"
#include "thread_pool.h"

namespace dae {
namespace {

constexpr int kChunkFloats = 48 * 1024;  // im2col chunk of ~192 KB

int chunk_rows(int K) { return std::max(12, std::min(384, (kChunkFloats / std::max(K, 1)) / 12 * 12)); }

// out[0, count) = in[0, count): whole vectors inline (a filter row's taps, KW * C floats, are a few hundred bytes, and
// a libc call per row cost about as much as the copy), the rest through memcpy.
inline void copy_floats(float* out, const float* in, int count) {
  int i = 0;
  for (; i + kVector <= count; i += kVector) store(out + i, load(in + i));
  if (i < count) std::memcpy(out + i, in + i, sizeof(float) * (count - i));
}

// Fills col[P, K] for output pixels [pixel0, pixel0 + P) of the flattened (n, oy, ox) grid.
void im2col(const ConvGeometry& g, const float* x, long pixel0, int P, float* col) {
  const int K = g.KH * g.KW * g.C;
  const long perImage = static_cast<long>(g.OH) * g.OW;
  for (int p = 0; p < P; ++p) {
    long pixel = pixel0 + p;
    int n = static_cast<int>(pixel / perImage);
    int rest = static_cast<int>(pixel % perImage);
    int oy = rest / g.OW, ox = rest % g.OW;
    float* row = col + static_cast<size_t>(p) * K;
    const float* image = x + static_cast<size_t>(n) * g.H * g.W * g.C;
    const int ix0 = ox * g.strideW - g.padLeft;
    const bool wholeRows = g.dilationW == 1 && ix0 >= 0 && ix0 + g.KW <= g.W;
    for (int ky = 0; ky < g.KH; ++ky) {
      int iy = oy * g.strideH - g.padTop + ky * g.dilationH;
      if (wholeRows && iy >= 0 && iy < g.H) {
        copy_floats(row + ky * g.KW * g.C, image + (static_cast<size_t>(iy) * g.W + ix0) * g.C, g.KW * g.C);
        continue;
      }
      for (int kx = 0; kx < g.KW; ++kx) {
        int ix = ix0 + kx * g.dilationW;
        float* out = row + (ky * g.KW + kx) * g.C;
        if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) {
          std::fill_n(out, g.C, 0.0f);
        } else {
          std::memcpy(out, image + (static_cast<size_t>(iy) * g.W + ix) * g.C, sizeof(float) * g.C);
        }
      }
    }
  }
}

// Adds col[P, K] back into dx for output pixels [pixel0, pixel0 + P): the transpose of im2col.
void col2im_add(const ConvGeometry& g, const float* col, long pixel0, int P, float* dx) {
  const int K = g.KH * g.KW * g.C;
  const long perImage = static_cast<long>(g.OH) * g.OW;
  for (int p = 0; p < P; ++p) {
    long pixel = pixel0 + p;
    int n = static_cast<int>(pixel / perImage);
    int rest = static_cast<int>(pixel % perImage);
    int oy = rest / g.OW, ox = rest % g.OW;
    const float* row = col + static_cast<size_t>(p) * K;
    float* image = dx + static_cast<size_t>(n) * g.H * g.W * g.C;
    for (int ky = 0; ky < g.KH; ++ky) {
      int iy = oy * g.strideH - g.padTop + ky * g.dilationH;
      if (iy < 0 || iy >= g.H) continue;
      for (int kx = 0; kx < g.KW; ++kx) {
        int ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
        if (ix < 0 || ix >= g.W) continue;
        const float* in = row + (ky * g.KW + kx) * g.C;
        float* out = image + (static_cast<size_t>(iy) * g.W + ix) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] += in[c];
      }
    }
  }
}

struct Scratch {
  std::vector<float> col, a, b;
};

// One per OS thread: pool threads, and every JS thread (main or worker_threads) that runs kernels itself.
Scratch& scratch_of_this_thread() {
  thread_local Scratch scratch;
  return scratch;
}

void ensure(std::vector<float>& buffer, size_t floats) {
  if (buffer.size() < floats) buffer.resize(floats);
}

// The packed weights of the call in progress, kept by the calling thread between calls (pack_b writes every float
// of it): a fresh vector per call was zeroed, then packed over.
float* packed_weights(size_t floats) {
  thread_local std::vector<float> packed;
  ensure(packed, floats);
  return packed.data();
}

// The forward convolution's chunks of `rows` output pixels, each im2col + GEMM against packedW.
struct ForwardChunks {
  const ConvGeometry& g;
  const float* x;
  const float* packedW;
  float* y;
  const Epilogue& epilogue;
  int K, rows;
  long pixels;
  bool pointwise;

  ForwardChunks(const ConvGeometry& geometry, const float* input, const float* w, float* output, const Epilogue& e)
      : g(geometry), x(input), packedW(nullptr), y(output), epilogue(e), K(g.KH * g.KW * g.C), rows(chunk_rows(K)),
        pixels(static_cast<long>(g.N) * g.OH * g.OW),
        pointwise(g.KH == 1 && g.KW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0 && g.padLeft == 0 &&
                  g.OH == g.H && g.OW == g.W) {
    float* packed = packed_weights(packed_b_floats(K, g.F));
    pack_b(false, K, g.F, w, g.F, packed);
    packedW = packed;
  }
  int count() const { return static_cast<int>((pixels + rows - 1) / rows); }
  long first_pixel(int chunk) const { return static_cast<long>(chunk) * rows; }
  int size(int chunk) const { return static_cast<int>(std::min<long>(rows, pixels - first_pixel(chunk))); }

  void run(int chunk) const {
    Scratch& s = scratch_of_this_thread();
    const long pixel0 = first_pixel(chunk);
    const int P = size(chunk);
    const float* A;
    if (pointwise) {
      A = x + static_cast<size_t>(pixel0) * K;
    } else {
      ensure(s.col, static_cast<size_t>(rows) * K);
      im2col(g, x, pixel0, P, s.col.data());
      A = s.col.data();
    }
    ensure(s.a, gemm_a_scratch_floats());
    gemm_packed(false, P, g.F, K, A, K, packedW, y + static_cast<size_t>(pixel0) * g.F, g.F, false,
                offset(epilogue, static_cast<size_t>(pixel0) * g.F, 0), s.a.data());
  }
};

}  // namespace

void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue) {
  if (single_channel_applies(g)) return conv2d_single_channel(g, x, w, y, epilogue);
  const ForwardChunks chunks(g, x, w, y, epilogue);
  parallel_for(chunks.count(), [&](int chunk, int) { chunks.run(chunk); });
}

bool conv2d_with_filter_gradient_applies(const ConvGeometry& g) {
  return !single_channel_applies(g) && filter_gradient_direct_applies(g);
}

void conv2d_with_filter_gradient(const ConvGeometry& g, const float* x, const float* w, float* y,
                                 const Epilogue& epilogue, const float* dy, float* dw) {
  // The filter gradient's chunks are conv2d_backprop_filter's (chunk_rows(K) output pixels), the forward's too.
  const ForwardChunks chunks(g, x, w, y, epilogue);
  float* transposed = filter_gradient_transposed_buffer(g);
  ordered_partial_sums(chunks.count(), static_cast<size_t>(chunks.K) * g.F, transposed,
                       [&](int first, int last, float* partial, int) {
                         for (int chunk = first; chunk < last; ++chunk) {
                           chunks.run(chunk);
                           filter_gradient_direct_chunk(g, x, dy, chunks.first_pixel(chunk), chunks.size(chunk),
                                                        partial);
                         }
                       });
  filter_gradient_untranspose(g, transposed, dw);
}

void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx, const Epilogue& epilogue) {
  if (single_channel_applies(g)) return conv2d_backprop_input_single_channel(g, dy, w, dx, epilogue);
  if (phases_apply(g)) return conv2d_backprop_input_phases(g, dy, w, dx, epilogue);
  const int K = g.KH * g.KW * g.C;
  const int perImage = g.OH * g.OW;
  float* packedWT = packed_weights(packed_b_floats(g.F, K));
  pack_b(true, g.F, K, w, g.F, packedWT);  // B = w^T: [F, K]
  const int rows = std::min(chunk_rows(K), perImage);
  // One image per item: images never share dx rows, so the scatter-add needs no locking.
  parallel_for(g.N, [&](int n, int) {
    Scratch& s = scratch_of_this_thread();
    ensure(s.col, static_cast<size_t>(rows) * K);
    ensure(s.a, gemm_a_scratch_floats());
    std::fill_n(dx + static_cast<size_t>(n) * g.H * g.W * g.C, static_cast<size_t>(g.H) * g.W * g.C, 0.0f);
    for (int p0 = 0; p0 < perImage; p0 += rows) {
      int P = std::min(rows, perImage - p0);
      long pixel0 = static_cast<long>(n) * perImage + p0;
      gemm_packed(false, P, K, g.F, dy + static_cast<size_t>(pixel0) * g.F, g.F, packedWT, s.col.data(), K,
                  false, Epilogue{}, s.a.data());
      col2im_add(g, s.col.data(), pixel0, P, dx);
    }
    const size_t image = static_cast<size_t>(n) * g.H * g.W * g.C;
    apply_epilogue(dx + image, g.H * g.W, g.C, g.C, offset(epilogue, image, 0));
  });
}

void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  if (single_channel_applies(g)) return conv2d_backprop_filter_single_channel(g, x, dy, dw);
  const int K = g.KH * g.KW * g.C;
  const long pixels = static_cast<long>(g.N) * g.OH * g.OW;
  const int rows = chunk_rows(K);
  if (filter_gradient_direct_applies(g)) return conv2d_backprop_filter_direct(g, x, dy, dw, rows);
  const int chunks = static_cast<int>((pixels + rows - 1) / rows);
  ordered_partial_sums(chunks, static_cast<size_t>(K) * g.F, dw, [&](int first, int last, float* partial, int) {
    Scratch& s = scratch_of_this_thread();
    ensure(s.col, static_cast<size_t>(rows) * K);
    ensure(s.a, gemm_a_scratch_floats());
    ensure(s.b, packed_b_floats(rows, g.F));
    for (int chunk = first; chunk < last; ++chunk) {
      long pixel0 = static_cast<long>(chunk) * rows;
      int P = static_cast<int>(std::min<long>(rows, pixels - pixel0));
      im2col(g, x, pixel0, P, s.col.data());
      pack_b(false, P, g.F, dy + static_cast<size_t>(pixel0) * g.F, g.F, s.b.data());
      gemm_packed(true, K, g.F, P, s.col.data(), K, s.b.data(), partial, g.F, true, Epilogue{}, s.a.data());
    }
  });
}

void conv2d_reference(const ConvGeometry& g, const float* x, const float* w, float* y, const Epilogue& epilogue) {
  for (int n = 0; n < g.N; ++n)
    for (int oy = 0; oy < g.OH; ++oy)
      for (int ox = 0; ox < g.OW; ++ox)
        for (int f = 0; f < g.F; ++f) {
          double sum = 0.0;
          for (int ky = 0; ky < g.KH; ++ky)
            for (int kx = 0; kx < g.KW; ++kx) {
              int iy = oy * g.strideH - g.padTop + ky * g.dilationH;
              int ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
              if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
              for (int c = 0; c < g.C; ++c)
                sum += static_cast<double>(x[((static_cast<size_t>(n) * g.H + iy) * g.W + ix) * g.C + c]) *
                       w[((static_cast<size_t>(ky) * g.KW + kx) * g.C + c) * g.F + f];
            }
          y[((static_cast<size_t>(n) * g.OH + oy) * g.OW + ox) * g.F + f] = static_cast<float>(sum);
        }
  apply_epilogue(y, g.N * g.OH * g.OW, g.F, g.F, epilogue);
}

void conv2d_backprop_input_reference(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  std::fill_n(dx, static_cast<size_t>(g.N) * g.H * g.W * g.C, 0.0f);
  for (int n = 0; n < g.N; ++n)
    for (int oy = 0; oy < g.OH; ++oy)
      for (int ox = 0; ox < g.OW; ++ox)
        for (int ky = 0; ky < g.KH; ++ky)
          for (int kx = 0; kx < g.KW; ++kx) {
            int iy = oy * g.strideH - g.padTop + ky * g.dilationH;
            int ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
            if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
            for (int c = 0; c < g.C; ++c) {
              double sum = 0.0;
              for (int f = 0; f < g.F; ++f)
                sum += static_cast<double>(dy[((static_cast<size_t>(n) * g.OH + oy) * g.OW + ox) * g.F + f]) *
                       w[((static_cast<size_t>(ky) * g.KW + kx) * g.C + c) * g.F + f];
              dx[((static_cast<size_t>(n) * g.H + iy) * g.W + ix) * g.C + c] += static_cast<float>(sum);
            }
          }
}

void conv2d_backprop_filter_reference(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  for (int ky = 0; ky < g.KH; ++ky)
    for (int kx = 0; kx < g.KW; ++kx)
      for (int c = 0; c < g.C; ++c)
        for (int f = 0; f < g.F; ++f) {
          double sum = 0.0;
          for (int n = 0; n < g.N; ++n)
            for (int oy = 0; oy < g.OH; ++oy)
              for (int ox = 0; ox < g.OW; ++ox) {
                int iy = oy * g.strideH - g.padTop + ky * g.dilationH;
                int ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
                if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                sum += static_cast<double>(x[((static_cast<size_t>(n) * g.H + iy) * g.W + ix) * g.C + c]) *
                       dy[((static_cast<size_t>(n) * g.OH + oy) * g.OW + ox) * g.F + f];
              }
          dw[((static_cast<size_t>(ky) * g.KW + kx) * g.C + c) * g.F + f] = static_cast<float>(sum);
        }
}

}  // namespace dae
