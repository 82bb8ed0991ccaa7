// A small persistent thread pool: the calling thread takes part, work items are handed out through an
// atomic counter so uneven items balance themselves.
#pragma once
#include <cstddef>
#include <functional>

namespace dae {

// Sets the number of threads (the caller counts as one); 0 means every core.
void set_threads(int threads);
int thread_count();

// Runs body(item, thread_index) for item in [0, items), spread over the pool, and returns when all are done.
void parallel_for(int items, const std::function<void(int, int)>& body);

// How many ranges a deterministic sum splits its items into, whatever the thread count: 24 shares evenly over
// 1, 2, 3, 4, 6, 8, 12 or 24 threads.
constexpr int kSumRanges = 24;

// A deterministic parallel sum: [0, items) is split into min(items, kSumRanges) contiguous ranges, body(first,
// last, partial, thread_index) adds its range into its own zeroed partial of `size` floats, and the partials are
// added into out (overwritten) in range order. The split depends on `items` alone, not on the thread count or on
// which thread ran which range, so a run repeats bit for bit with any number of threads.
void ordered_partial_sums(int items, size_t size, float* out,
                          const std::function<void(int, int, float*, int)>& body);

}  // namespace dae
