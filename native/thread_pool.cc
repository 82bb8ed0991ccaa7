#include "thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace dae {
namespace {

struct Pool {
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable done;
  const std::function<void(int, int)>* body = nullptr;
  std::atomic<int> next{0};
  int items = 0;
  int busy = 0;
  unsigned long generation = 0;
  bool stopping = false;

  void run_items(int thread_index) {
    for (int item = next.fetch_add(1); item < items; item = next.fetch_add(1)) (*body)(item, thread_index);
  }

  void worker(int thread_index) {
    unsigned long seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping) return;
        seen = generation;
      }
      run_items(thread_index);
      std::lock_guard<std::mutex> lock(mutex);
      if (--busy == 0) done.notify_one();
    }
  }

  void resize(int threads) {
    stop();
    stopping = false;
    for (int i = 1; i < threads; ++i) workers.emplace_back([this, i] { worker(i); });
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

bool started = false;

void ensure_started() {
  if (!started) {
    pool().resize(default_threads());
    started = true;
  }
}

}  // namespace

void set_threads(int threads) {
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
  if (items == 1 || p.workers.empty()) {
    for (int i = 0; i < items; ++i) body(i, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.body = &body;
    p.items = items;
    p.next.store(0);
    p.busy = static_cast<int>(p.workers.size());
    ++p.generation;
  }
  p.wake.notify_all();
  p.run_items(0);
  std::unique_lock<std::mutex> lock(p.mutex);
  p.done.wait(lock, [&] { return p.busy == 0; });
}

}  // namespace dae
