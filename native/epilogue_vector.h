// The epilogue (gemm.h) on one vector of a finished register tile, as it is stored: the same arithmetic as
// apply_epilogue's vector path, element for element, so a fused epilogue gives the same bits as a separate pass.
#pragma once
#include "gemm.h"
#include "simd.h"

namespace dae {

// bias: the value's columns in the bias (null: none); output: derivativeOf at the value's elements (null: none).
// Not for a sigmoid activation, which apply_epilogue computes element by element.
inline vfloat epilogue_vector(vfloat value, const Epilogue& epilogue, const float* bias, const float* output) {
  const vfloat zero{}, one = splat(1.0f);
  if (bias != nullptr) value += load(bias);
  if (epilogue.activation == Activation::relu) value = (value > zero || value != value) ? value : zero;
  if (output != nullptr) {
    vfloat out = load(output);
    if (epilogue.derivative == Activation::relu) {
      value *= out > zero ? one : (out <= zero ? zero : out);
    } else {
      value *= out * (one - out);
    }
  }
  return value;
}

// Whether an epilogue multiplies by an activation's derivative, whether it does anything at all, and whether it can
// be fused into a tile's store (no sigmoid activation).
inline bool epilogue_has_derivative(const Epilogue& epilogue) {
  return epilogue.derivativeOf != nullptr && epilogue.derivative != Activation::linear;
}
inline bool epilogue_needed(const Epilogue& epilogue) {
  return epilogue.bias != nullptr || epilogue.activation != Activation::linear || epilogue_has_derivative(epilogue);
}
inline bool epilogue_fusable(const Epilogue& epilogue) { return epilogue.activation != Activation::sigmoid; }

// Asks for the cache lines of row[0, floats) ahead of use (for writing when `write`): a register tile's output rows
// and the derivative its epilogue reads are touched only when the tile is stored, after its multiply-adds, and in a
// training step they are megabytes away in memory, so each store waited a memory latency. Asked for as the tile
// starts, they arrive while it computes. Changes no result.
inline void prefetch_row(const float* row, int floats, bool write) {
  constexpr int kLineFloats = 64 / sizeof(float);
  for (int f = 0; f < floats; f += kLineFloats) {
    if (write) {
      __builtin_prefetch(row + f, 1);
    } else {
      __builtin_prefetch(row + f, 0);
    }
  }
  __builtin_prefetch(row + floats - 1, write ? 1 : 0);
}

}  // namespace dae
