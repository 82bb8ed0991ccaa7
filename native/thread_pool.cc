#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace dae {
namespace {

// Items are claimed through one 64-bit ticket: the high half is the call's generation, the low half the next
// item. A worker that wakes late (its core was busy with another process) finds the generation moved on or
// every item claimed, and does nothing. So the caller waits only for items actually in progress, never for a
// worker that has not started: on a loaded machine a call no longer costs a scheduler time slice.
struct Pool {
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  const std::function<void(int, int)>* body = nullptr;
  std::atomic<uint64_t> ticket{0};
  std::atomic<int> completed{0};
  int items = 0;
  uint32_t generation = 0;
  bool stopping = false;
  // Held by the one caller whose items the workers run. Another JS thread (a worker_threads Worker) that calls in
  // meanwhile runs its items itself: every split is by item count, so its results are the same either way.
  std::atomic<bool> busy{false};

  bool try_claim() {
    bool expected = false;
    return busy.compare_exchange_strong(expected, true, std::memory_order_acquire);
  }
  void claim() {
    while (!try_claim()) std::this_thread::yield();
  }
  void release() { busy.store(false, std::memory_order_release); }

  static void run_items(std::atomic<uint64_t>& ticket, std::atomic<int>& completed, uint32_t generation,
                        const std::function<void(int, int)>* body, int items, int thread_index) {
    for (;;) {
      uint64_t current = ticket.load(std::memory_order_acquire);
      if (static_cast<uint32_t>(current >> 32) != generation) return;
      int item = static_cast<int>(current & 0xffffffffu);
      if (item >= items) return;
      if (!ticket.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel)) continue;
      (*body)(item, thread_index);
      completed.fetch_add(1, std::memory_order_release);
    }
  }

  void worker(int thread_index) {
    uint32_t seen = 0;
    for (;;) {
      const std::function<void(int, int)>* work;
      int count;
      uint32_t current;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping) return;
        seen = current = generation;
        work = body;
        count = items;
      }
      run_items(ticket, completed, current, work, count, thread_index);
    }
  }

  void resize(int threads) {
    if (static_cast<int>(workers.size()) + 1 == threads) return;
    claim();
    stop();
    stopping = false;
    for (int i = 1; i < threads; ++i) workers.emplace_back([this, i] { worker(i); });
    release();
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }

  ~Pool() { stop(); }
};

Pool& pool() {
  static Pool instance;
  return instance;
}

int default_threads() {
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

// The partials of ordered_partial_sums, kept between calls (assign reuses their memory): allocated per call, those of
// a filter gradient (a few MB) came back as fresh pages to fault in and zero on every training step. A call takes a
// set from the spares and gives it back, so there are as many sets as calls ever ran at once (one per JS thread that
// trains), not one per OS thread a step has run on (libuv runs each step on any of its threads).
struct SpareBuffers {
  std::vector<std::vector<float>> buffers;
  SpareBuffers() {
    std::lock_guard<std::mutex> lock(mutex());
    if (!spares().empty()) {
      buffers = std::move(spares().back());
      spares().pop_back();
    }
  }
  ~SpareBuffers() {
    std::lock_guard<std::mutex> lock(mutex());
    spares().push_back(std::move(buffers));
  }
  static std::mutex& mutex() {
    static std::mutex instance;
    return instance;
  }
  static std::vector<std::vector<std::vector<float>>>& spares() {
    static std::vector<std::vector<std::vector<float>>> instance;
    return instance;
  }
};

std::atomic<bool> started{false};
std::mutex configure;  // set_threads and the first start, which may come from several JS threads

void ensure_started() {
  if (started.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(configure);
  if (!started.load(std::memory_order_relaxed)) {
    pool().resize(default_threads());
    started = true;
  }
}

}  // namespace

void set_threads(int threads) {
  std::lock_guard<std::mutex> lock(configure);
  if (threads <= 0) threads = default_threads();
  pool().resize(threads);
  started = true;
}

int thread_count() {
  ensure_started();
  return static_cast<int>(pool().workers.size()) + 1;
}

void parallel_for(int items, const std::function<void(int, int)>& body) {
  ensure_started();
  Pool& p = pool();
  if (items <= 0) return;
  if (items == 1 || p.workers.empty() || !p.try_claim()) {
    for (int i = 0; i < items; ++i) body(i, 0);
    return;
  }
  uint32_t generation;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    generation = ++p.generation;
    p.body = &body;
    p.items = items;
    p.completed.store(0, std::memory_order_relaxed);
    p.ticket.store(static_cast<uint64_t>(generation) << 32, std::memory_order_release);
  }
  p.wake.notify_all();
  Pool::run_items(p.ticket, p.completed, generation, &body, items, 0);
  // Every item is claimed; wait for those still running on other threads.
  while (p.completed.load(std::memory_order_acquire) < items) std::this_thread::yield();
  p.release();
}

void ordered_partial_sums(int items, size_t size, float* out,
                          const std::function<void(int, int, float*, int)>& body) {
  const int ranges = std::max(1, std::min(kSumRanges, items));
  SpareBuffers spare;
  std::vector<std::vector<float>>& partial = spare.buffers;
  if (static_cast<int>(partial.size()) < ranges) partial.resize(ranges);
  parallel_for(ranges, [&](int range, int thread) {
    partial[range].assign(size, 0.0f);
    int first = static_cast<int>(static_cast<long>(items) * range / ranges);
    int last = static_cast<int>(static_cast<long>(items) * (range + 1) / ranges);
    body(first, last, partial[range].data(), thread);
  });
  // The fold runs in parallel over blocks of elements; each element still adds its partials in range order.
  constexpr size_t kFoldBlock = 4096;
  const int blocks = static_cast<int>((size + kFoldBlock - 1) / kFoldBlock);
  auto fold = [&](int block, int) {
    size_t begin = static_cast<size_t>(block) * kFoldBlock, end = std::min(size, begin + kFoldBlock);
    std::fill(out + begin, out + end, 0.0f);
    for (int range = 0; range < ranges; ++range) {
      const float* source = partial[range].data();
      for (size_t i = begin; i < end; ++i) out[i] += source[i];
    }
  };
  parallel_for(blocks, fold);
}

}  // namespace dae
