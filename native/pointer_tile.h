// A register tile whose rows are read through pointers: row i of the tile's A is a_i + tapOffsets[t] for each tap
// t, `depth` floats each, so the rows of an im2col or gathered matrix are read where they lie in an image
// (conv.cc's in-place forward, conv_phases.cc) instead of being copied. B is one packed panel of gemm (kColumns
// floats per row, the taps' rows one after another). The sums run in the same order as gemm's micro-kernel over
// the copied rows, so the results are the same bit for bit.
#pragma once
#include <array>
#include <utility>

#include "epilogue_vector.h"
#include "simd.h"

namespace dae {

constexpr int kPointerTileVectors = 2;
constexpr int kPointerTileColumns = kVector * kPointerTileVectors;

// c_i[0 .. kPointerTileColumns) = (c_i + when accumulate) sum over taps t and k < depth of a_i[tapOffsets[t] + k] *
// b[t * depth + k], for the tile's R rows i; stores the first `rows` of them. With `finish` (fusable, see
// epilogue_vector.h), its epilogue is applied as they are stored: its bias offset to the tile's first column, its
// derivativeOf laid out as the array the c_i point into, which starts at `base`. Each row's sums are the same
// whatever R is: a shorter tile is for the last rows of a matrix, which a full one would compute mostly for nothing.
template <int R = kTileRows>
inline void pointer_tile(const float* const* a, const long* tapOffsets, int taps, int depth, const float* b,
                         float* const* c, int rows, bool accumulate, const Epilogue* finish = nullptr,
                         const float* base = nullptr) {
  vfloat acc[R][kPointerTileVectors];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < kPointerTileVectors; ++j) acc[i][j] = vfloat{};
  const bool derivative = finish != nullptr && epilogue_has_derivative(*finish);
  for (int i = 0; i < rows; ++i) {
    prefetch_row(c[i], kPointerTileColumns, true);
    if (derivative) prefetch_row(finish->derivativeOf + (c[i] - base), kPointerTileColumns, false);
  }
  for (int t = 0; t < taps; ++t) {
    const float* at[R];
    for (int i = 0; i < R; ++i) at[i] = a[i] + tapOffsets[t];
    for (int k = 0; k < depth; ++k) {
      vfloat b0 = load(b);
      vfloat b1 = load(b + kVector);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        float ai = at[i][k];
        acc[i][0] += b0 * ai;
        acc[i][1] += b1 * ai;
      }
      b += kPointerTileColumns;
    }
  }
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < kPointerTileVectors; ++j) {
      vfloat value = acc[i][j];
      if (accumulate) value += load(c[i] + j * kVector);
      if (finish != nullptr) {
        value = epilogue_vector(value, *finish, finish->bias == nullptr ? nullptr : finish->bias + j * kVector,
                                derivative ? finish->derivativeOf + (c[i] - base) + j * kVector : nullptr);
      }
      store(c[i] + j * kVector, value);
    }
}

using PointerTile = void (*)(const float* const*, const long*, int, int, const float*, float* const*, int, bool,
                             const Epilogue*, const float*);

template <size_t... Rows>
constexpr std::array<PointerTile, sizeof...(Rows)> pointer_tile_table(std::index_sequence<Rows...>) {
  return {&pointer_tile<static_cast<int>(Rows) + 1>...};
}
// pointer_tiles[r - 1] computes r rows: kTileRows for whole tiles, fewer for the last one.
inline constexpr auto pointer_tiles = pointer_tile_table(std::make_index_sequence<kTileRows>{});

}  // namespace dae
