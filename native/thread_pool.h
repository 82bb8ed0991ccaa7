// A small persistent thread pool: the calling thread takes part, work items are handed out through an
// atomic counter so uneven items balance themselves.
#pragma once
#include <functional>

namespace dae {

// Sets the number of threads (the caller counts as one); 0 means every core.
void set_threads(int threads);
int thread_count();

// Runs body(item, thread_index) for item in [0, items), spread over the pool, and returns when all are done.
void parallel_for(int items, const std::function<void(int, int)>& body);

}  // namespace dae
