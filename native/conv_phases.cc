// The input gradient of a strided convolution (equally: a strided transposed convolution) by stride phases.
// N = batch, H/W/C = dx's spatial size and channels, OH/OW/F = dy's, KH/KW = filter, sH/sW = strides.
// dx pixel (iy, ix) receives dy pixel (oy, ox) through tap (ky, kx) when iy = oy * sH - padTop + ky. For the
// pixels of one phase (iy % sH, ix % sW) = (ry, rx), the taps that reach them are fixed (ky = ry + padTop mod sH),
// and each tap reads dy at a fixed offset from the phase-grid position (qy, qx) = (iy / sH, ix / sW). So a phase
// is a gather of T taps x F values per pixel (a [pixels, T*F] matrix) times those taps' weights [T*F, C], written
// straight into dx with the epilogue: no col2im scatter-add over overlapping taps, and dx is never zeroed.
//
// When C is a whole number of 2-vector panels, nothing is gathered either: each image's dy is copied once into a
// zero-bordered frame, and a register tile of R phase pixels reads each tap's F values where they lie in the frame
// (a pointer per pixel; a tap is a fixed offset from it), so the multiply sees the same rows, zeros included, in
// the same order as the gathered matrix, and writes dx bit for bit as before. The gathered path stays for other C.
#include <algorithm>
#include <cstring>
#include <vector>

#include "conv.h"
#include "pointer_tile.h"
#include "thread_pool.h"

namespace dae {
namespace {

constexpr int kChunkFloats = 48 * 1024;  // gathered rows of a chunk (~192 KB), as conv.cc's im2col chunks

struct Phase {
  int ry, rx;      // the phase: dx rows ry, ry + sH, ... and columns rx, rx + sW, ...
  int rows, columns;  // its grid size
  std::vector<int> offsetY, offsetX;  // per tap: dy position = grid position + offset
  std::vector<float> packed;           // the taps' weights [T*F, C], packed for gemm_packed
};

struct Scratch {
  std::vector<float> gathered, out, a;
};

Scratch& scratch_of_this_thread() {
  thread_local Scratch scratch;
  return scratch;
}


std::vector<Phase> phases_of(const ConvGeometry& g, const float* w) {
  std::vector<Phase> phases;
  for (int ry = 0; ry < g.strideH; ++ry)
    for (int rx = 0; rx < g.strideW; ++rx) {
      Phase p{ry, rx, (g.H - ry + g.strideH - 1) / g.strideH, (g.W - rx + g.strideW - 1) / g.strideW, {}, {}, {}};
      if (p.rows <= 0 || p.columns <= 0) continue;
      std::vector<float> weights;  // [T*F, C]: row t*F + f is w[ky, kx, :, f]
      for (int ky = 0; ky < g.KH; ++ky) {
        int shiftY = ry + g.padTop - ky;
        if (floor_divide(shiftY, g.strideH) * g.strideH != shiftY) continue;
        for (int kx = 0; kx < g.KW; ++kx) {
          int shiftX = rx + g.padLeft - kx;
          if (floor_divide(shiftX, g.strideW) * g.strideW != shiftX) continue;
          p.offsetY.push_back(shiftY / g.strideH);
          p.offsetX.push_back(shiftX / g.strideW);
          const float* tap = w + static_cast<size_t>(ky * g.KW + kx) * g.C * g.F;
          for (int f = 0; f < g.F; ++f)
            for (int c = 0; c < g.C; ++c) weights.push_back(tap[static_cast<size_t>(c) * g.F + f]);
        }
      }
      const int K = static_cast<int>(p.offsetY.size()) * g.F;
      p.packed.resize(packed_b_floats(K, g.C));
      if (K > 0) pack_b(false, K, g.C, weights.data(), g.C, p.packed.data());
      phases.push_back(std::move(p));
    }
  return phases;
}

// The in-place path: one image per item (its frame is built once for all of its phases).
void phases_in_place(const ConvGeometry& g, const std::vector<Phase>& phases, const float* dy, float* dx,
                     const Epilogue& epilogue) {
  // The frame spans every dy position any tap of any phase reads: rows [top, OH + bottom), likewise columns.
  int top = 0, bottom = 0, left = 0, right = 0;
  for (const Phase& p : phases)
    for (size_t t = 0; t < p.offsetY.size(); ++t) {
      top = std::max(top, -p.offsetY[t]);
      left = std::max(left, -p.offsetX[t]);
      bottom = std::max(bottom, p.rows - 1 + p.offsetY[t] - (g.OH - 1));
      right = std::max(right, p.columns - 1 + p.offsetX[t] - (g.OW - 1));
    }
  const int frameRows = top + g.OH + bottom, frameColumns = left + g.OW + right;
  const size_t frameFloats = static_cast<size_t>(frameRows) * frameColumns * g.F;
  const bool fused = epilogue_fusable(epilogue);
  // Per phase, each tap's offset in the frame from the tap at offset 0.
  std::vector<std::vector<long>> tapOffsets(phases.size());
  for (size_t index = 0; index < phases.size(); ++index)
    for (size_t t = 0; t < phases[index].offsetY.size(); ++t)
      tapOffsets[index].push_back((static_cast<long>(phases[index].offsetY[t]) * frameColumns + phases[index].offsetX[t]) * g.F);
  parallel_for(g.N, [&](int n, int) {
    thread_local std::vector<float> frame;
    if (frame.size() < frameFloats) frame.resize(frameFloats);
    const float* image = dy + static_cast<size_t>(n) * g.OH * g.OW * g.F;
    // The border rows and columns zero, dy's rows copied between them.
    for (int r = 0; r < frameRows; ++r) {
      float* line = frame.data() + static_cast<size_t>(r) * frameColumns * g.F;
      const int oy = r - top;
      if (oy < 0 || oy >= g.OH) {
        std::fill_n(line, static_cast<size_t>(frameColumns) * g.F, 0.0f);
        continue;
      }
      std::fill_n(line, static_cast<size_t>(left) * g.F, 0.0f);
      std::memcpy(line + static_cast<size_t>(left) * g.F, image + static_cast<size_t>(oy) * g.OW * g.F, sizeof(float) * g.OW * g.F);
      std::fill_n(line + static_cast<size_t>(left + g.OW) * g.F, static_cast<size_t>(right) * g.F, 0.0f);
    }
    for (size_t index = 0; index < phases.size(); ++index) {
      const Phase& p = phases[index];
      const int taps = static_cast<int>(p.offsetY.size());
      const int pixels = p.rows * p.columns;
      const int panels = g.C / kPointerTileColumns;
      const size_t panelFloats = static_cast<size_t>(taps) * g.F * kPointerTileColumns;
      // dx pixel of phase position q (row-major over the phase grid) and its frame position at offset 0.
      auto target = [&](int q) {
        const int qy = q / p.columns, qx = q % p.columns;
        return dx + ((static_cast<size_t>(n) * g.H + p.ry + qy * g.strideH) * g.W + p.rx + qx * g.strideW) * g.C;
      };
      auto source = [&](int q) {
        const int qy = q / p.columns, qx = q % p.columns;
        return frame.data() + (static_cast<size_t>(top + qy) * frameColumns + left + qx) * g.F;
      };
      if (taps > 0) {
        for (int q0 = 0; q0 < pixels; q0 += kTileRows) {
          const int rows = std::min(kTileRows, pixels - q0);
          const float* a[kTileRows];
          float* c[kTileRows];
          for (int i = 0; i < kTileRows; ++i) {
            const int q = q0 + std::min(i, rows - 1);  // rows past the end repeat the last (not stored)
            a[i] = source(q);
            c[i] = target(q);
          }
          for (int panel = 0; panel < panels; ++panel) {
            Epilogue tile = epilogue;  // the bias at the panel's columns; derivativeOf is found from c_i
            if (tile.bias != nullptr) tile.bias += panel * kPointerTileColumns;
            const float* b = p.packed.data() + panel * panelFloats;
            if (rows == kTileRows) {
              pointer_tile(a, tapOffsets[index].data(), taps, g.F, b, c, rows, false, fused ? &tile : nullptr, dx);
            } else {
              // A last tile of fewer rows computes only those: a 7x7 phase grid is 4 whole tiles and 1 row.
              pointer_tiles[rows - 1](a, tapOffsets[index].data(), taps, g.F, b, c, rows, false, fused ? &tile : nullptr,
                                      dx);
            }
            for (int i = 0; i < kTileRows; ++i) c[i] += kPointerTileColumns;
          }
        }
      } else {
        for (int q = 0; q < pixels; ++q) std::fill_n(target(q), g.C, 0.0f);
      }
      // Unless fused into the tiles: bias, activation and the derivative over each phase row, whose pixels lie
      // strideW pixels apart.
      for (int qy = 0; qy < p.rows && (!fused || taps == 0); ++qy) {
        const size_t first = static_cast<size_t>(target(qy * p.columns) - dx);
        apply_epilogue(dx + first, p.columns, g.C, g.strideW * g.C, offset(epilogue, first, 0));
      }
    }
  });
}

}  // namespace

bool phases_apply(const ConvGeometry& g) {
  return (g.strideH > 1 || g.strideW > 1) && g.dilationH == 1 && g.dilationW == 1;
}

void conv2d_backprop_input_phases(const ConvGeometry& g, const float* dy, const float* w, float* dx,
                                  const Epilogue& epilogue) {
  const std::vector<Phase> phases = phases_of(g, w);
  if (g.C % kPointerTileColumns == 0 && gemm_panel_width() == kPointerTileColumns) return phases_in_place(g, phases, dy, dx, epilogue);
  const int count = static_cast<int>(phases.size());
  // One (image, phase) per item: each writes its own dx pixels, so the result does not depend on the threads.
  parallel_for(g.N * count, [&](int item, int) {
    const int n = item / count;
    const Phase& p = phases[item % count];
    const int taps = static_cast<int>(p.offsetY.size());
    const int K = taps * g.F;
    Scratch& s = scratch_of_this_thread();
    const int gridRowsPerChunk = std::max(1, kChunkFloats / std::max(1, K * p.columns));
    const float* image = dy + static_cast<size_t>(n) * g.OH * g.OW * g.F;
    for (int qy0 = 0; qy0 < p.rows; qy0 += gridRowsPerChunk) {
      const int gridRows = std::min(gridRowsPerChunk, p.rows - qy0);
      const int M = gridRows * p.columns;
      if (s.gathered.size() < static_cast<size_t>(M) * K) s.gathered.resize(static_cast<size_t>(M) * K);
      if (s.out.size() < static_cast<size_t>(M) * g.C) s.out.resize(static_cast<size_t>(M) * g.C);
      if (s.a.size() < gemm_a_scratch_floats()) s.a.resize(gemm_a_scratch_floats());
      // [M, T*F]: for each phase pixel, the dy values each tap reads (zero outside dy).
      for (int qy = qy0; qy < qy0 + gridRows; ++qy)
        for (int qx = 0; qx < p.columns; ++qx) {
          float* row = s.gathered.data() + (static_cast<size_t>(qy - qy0) * p.columns + qx) * K;
          for (int t = 0; t < taps; ++t) {
            int oy = qy + p.offsetY[t], ox = qx + p.offsetX[t];
            if (oy < 0 || oy >= g.OH || ox < 0 || ox >= g.OW) {
              std::fill_n(row + t * g.F, g.F, 0.0f);
            } else {
              std::memcpy(row + t * g.F, image + (static_cast<size_t>(oy) * g.OW + ox) * g.F, sizeof(float) * g.F);
            }
          }
        }
      // Bias and activation on the phase's rows; the derivative, which is laid out as dx, as they are written.
      Epilogue rows = epilogue;
      rows.derivativeOf = nullptr;
      gemm_packed(false, M, g.C, K, s.gathered.data(), K, p.packed.data(), s.out.data(), g.C, false, rows, s.a.data());
      for (int qy = qy0; qy < qy0 + gridRows; ++qy) {
        const int iy = p.ry + qy * g.strideH;
        const size_t first = static_cast<size_t>(n) * g.H * g.W + static_cast<size_t>(iy) * g.W + p.rx;
        for (int qx = 0; qx < p.columns; ++qx)
          std::memcpy(dx + (first + static_cast<size_t>(qx) * g.strideW) * g.C,
                      s.out.data() + (static_cast<size_t>(qy - qy0) * p.columns + qx) * g.C, sizeof(float) * g.C);
        // The derivative over the row's pixels at once: they lie strideW pixels apart, as a matrix with that stride.
        if (epilogue.derivativeOf != nullptr) {
          Epilogue derivative{nullptr, Activation::linear, epilogue.derivativeOf + first * g.C, epilogue.derivative};
          apply_epilogue(dx + first * g.C, p.columns, g.C, g.strideW * g.C, derivative);
        }
      }
    }
  });
}

}  // namespace dae
