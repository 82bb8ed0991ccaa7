// The machine's measured limit for the kernels: how many FLOP/s independent fused multiply-adds reach at the
// build's vector width (simd.h), the ceiling every kernel's GFLOP/s is a share of (peak.cc).
#pragma once

namespace dae {

struct PeakMeasurement {
  double flops;    // 2 per lane of each multiply-add, summed over the threads
  double seconds;  // wall time from the common start to the last thread's end
  float checksum;  // the sum of every accumulator, so the loop cannot be optimised away
};

// Runs `iterations` rounds of kFmaChains independent vector multiply-adds on each of `threads` threads at once.
PeakMeasurement peak_flops(int threads, long iterations);

// Lanes per vector of this build (kVector): 16 with AVX-512, 8 with AVX2, 4 otherwise.
int vector_lanes();

}  // namespace dae
