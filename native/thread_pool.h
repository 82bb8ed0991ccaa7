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

// A deterministic parallel sum: [0, items) is split into one contiguous range per thread, body(first, last,
// partial, thread_index) adds its range into its own zeroed partial of `size` floats, and the partials are added
// into out (overwritten) in range order. The result does not depend on which thread ran which range, so a run
// repeats bit for bit with the same thread count.
void ordered_partial_sums(int items, size_t size, float* out,
                          const std::function<void(int, int, float*, int)>& body);

}  // namespace dae
