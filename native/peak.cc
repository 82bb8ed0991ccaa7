// Peak multiply-add throughput at the build's vector width: each thread runs kFmaChains independent chains
// acc = acc * scale + shift. A multiply-add takes ~4 cycles before its result can be used and a core starts up to 2
// per cycle, so at least 8 chains must be in flight to keep both units busy; 12 leaves room for slower units and
// still fits the registers (16 with AVX2, 32 with AVX-512) beside scale and shift. The threads are plain std::threads,
// not the pool's: the pool lets a thread that finishes early claim another's item, which here would measure one
// thread twice instead of two at once.
#include "peak.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "simd.h"

namespace dae {

namespace {

constexpr int kFmaChains = 12;

// The chains converge to shift / (1 - scale) = 1, far from overflow and from subnormals (which would slow some CPUs).
// Read through volatile so the compiler cannot fold the loop into its closed form.
volatile float scale_source = 0.999f;
volatile float shift_source = 0.001f;

float fma_chains(long iterations, float start) {
  const vfloat scale = splat(scale_source), shift = splat(shift_source);
  vfloat acc[kFmaChains];
  for (int c = 0; c < kFmaChains; ++c) acc[c] = splat(start + 0.01f * c);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kFmaChains; ++c) acc[c] = acc[c] * scale + shift;
  }
  vfloat sum = vfloat{};
  for (int c = 0; c < kFmaChains; ++c) sum += acc[c];
  return lane_sum(sum);
}

}  // namespace

int vector_lanes() { return kVector; }

PeakMeasurement peak_flops(int threads, long iterations) {
  if (threads < 1) threads = 1;
  std::vector<float> sums(threads, 0.0f);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  auto run = [&](int t) { sums[t] = fma_chains(iterations, 0.5f + 0.001f * t); };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) {
    helpers.emplace_back([&, t] {
      ready.fetch_add(1, std::memory_order_release);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      run(t);
    });
  }
  // The clock starts once every helper is running, so thread start-up is not timed.
  while (ready.load(std::memory_order_acquire) < threads - 1) std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  run(0);
  for (auto& helper : helpers) helper.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  float checksum = 0.0f;
  for (float sum : sums) checksum += sum;
  const double flops = 2.0 * kVector * kFmaChains * static_cast<double>(iterations) * threads;
  return {flops, seconds, checksum};
}

}  // namespace dae
