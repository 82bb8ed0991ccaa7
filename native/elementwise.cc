#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "thread_pool.h"

namespace dae {
namespace {

constexpr size_t kBlock = 64 * 1024;

template <typename Body>
void parallel_blocks(size_t size, Body body) {
  int blocks = static_cast<int>((size + kBlock - 1) / kBlock);
  parallel_for(blocks, [&](int block, int) {
    size_t begin = static_cast<size_t>(block) * kBlock;
    body(begin, std::min(size, begin + kBlock));
  });
}

}  // namespace

void sum_rows(const float* x, long rows, int columns, float* out) {
  const int threads = thread_count();
  const long rowsPerItem = std::max<long>(64, (rows + 4 * threads - 1) / (4 * threads));
  const int items = static_cast<int>((rows + rowsPerItem - 1) / rowsPerItem);
  std::vector<std::vector<double>> partial(threads, std::vector<double>());
  parallel_for(items, [&](int item, int thread) {
    std::vector<double>& sums = partial[thread];
    if (sums.empty()) sums.assign(columns, 0.0);
    long begin = item * rowsPerItem, end = std::min(rows, begin + rowsPerItem);
    // Accumulate a block of rows in float (vectorised), then fold into double to keep long sums accurate.
    std::vector<float> block(columns, 0.0f);
    for (long r = begin; r < end; ++r) {
      const float* row = x + static_cast<size_t>(r) * columns;
      for (int c = 0; c < columns; ++c) block[c] += row[c];
    }
    for (int c = 0; c < columns; ++c) sums[c] += block[c];
  });
  for (int c = 0; c < columns; ++c) {
    double total = 0.0;
    for (int t = 0; t < threads; ++t)
      if (!partial[t].empty()) total += partial[t][c];
    out[c] = static_cast<float>(total);
  }
}

void relu(const float* x, float* out, size_t size) {
  parallel_blocks(size, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
  });
}

void relu_grad(const float* dy, const float* y, float* out, size_t size) {
  parallel_blocks(size, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = y[i] > 0.0f ? dy[i] : 0.0f;
  });
}

void sigmoid(const float* x, float* out, size_t size) {
  parallel_blocks(size, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = 1.0f / (1.0f + std::exp(-x[i]));
  });
}

}  // namespace dae
