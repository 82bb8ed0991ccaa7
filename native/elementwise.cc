#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "simd.h"
#include "thread_pool.h"

namespace dae {
namespace {

constexpr size_t kBlock = 32 * 1024;  // below this many elements the pool's wake-up costs more than it saves

template <typename Body>
void parallel_blocks(size_t size, size_t alignment, Body body) {
  size_t block = std::max(kBlock / alignment, size_t{1}) * alignment;
  int blocks = static_cast<int>((size + block - 1) / block);
  if (blocks <= 1) {
    body(size_t{0}, size);
    return;
  }
  parallel_for(blocks, [&](int index, int) {
    size_t begin = static_cast<size_t>(index) * block;
    body(begin, std::min(size, begin + block));
  });
}

template <typename F>
void binary_loop(F f, const float* a, size_t aLength, const float* b, size_t bLength, float* out, size_t size) {
  if (aLength == 1 || bLength == 1) {
    const bool scalarB = bLength == 1;
    const float s = scalarB ? b[0] : a[0];
    const float* v = scalarB ? a : b;
    const size_t vLength = scalarB ? aLength : bLength;
    parallel_blocks(size, vLength < kBlock ? vLength : 1, [&](size_t begin, size_t end) {
      for (size_t row = begin, n = 0; row < end; row += n) {
        const float* vr = v + row % vLength;
        float* o = out + row;
        n = std::min(end, (row / vLength + 1) * vLength) - row;
        if (scalarB) {
          for (size_t i = 0; i < n; ++i) o[i] = f(vr[i], s);
        } else {
          for (size_t i = 0; i < n; ++i) o[i] = f(s, vr[i]);
        }
      }
    });
    return;
  }
  // Trailing broadcast: the shorter length divides the longer, so within a row of the shorter length both
  // operands are contiguous and the inner loop vectorises.
  const size_t row = std::min(aLength, bLength);
  parallel_blocks(size, row < kBlock ? row : 1, [&](size_t begin, size_t end) {
    for (size_t start = begin, n = 0; start < end; start += n) {
      const float* ar = a + start % aLength;
      const float* br = b + start % bLength;
      float* o = out + start;
      n = std::min(end, (start / row + 1) * row) - start;
      for (size_t i = 0; i < n; ++i) o[i] = f(ar[i], br[i]);
    }
  });
}

template <typename F>
void unary_loop(F f, const float* x, float* out, size_t size) {
  parallel_blocks(size, 1, [&](size_t begin, size_t end) {
    // A local copy: through the captured reference, a store to out could alias the lambda's own captures
    // (step's alpha), which keeps the loop from vectorising.
    const F op = f;
    for (size_t i = begin; i < end; ++i) out[i] = op(x[i]);
  });
}

}  // namespace

void binary(BinaryOp op, const float* a, size_t aLength, const float* b, size_t bLength, float* out, size_t size) {
  switch (op) {
    case BinaryOp::add: return binary_loop([](float x, float y) { return x + y; }, a, aLength, b, bLength, out, size);
    case BinaryOp::sub: return binary_loop([](float x, float y) { return x - y; }, a, aLength, b, bLength, out, size);
    case BinaryOp::mul: return binary_loop([](float x, float y) { return x * y; }, a, aLength, b, bLength, out, size);
    case BinaryOp::div: return binary_loop([](float x, float y) { return x / y; }, a, aLength, b, bLength, out, size);
    case BinaryOp::maximum:
      return binary_loop([](float x, float y) { return (x != x || y != y) ? std::numeric_limits<float>::quiet_NaN() : (x > y ? x : y); },
                         a, aLength, b, bLength, out, size);
    case BinaryOp::minimum:
      return binary_loop([](float x, float y) { return (x != x || y != y) ? std::numeric_limits<float>::quiet_NaN() : (x < y ? x : y); },
                         a, aLength, b, bLength, out, size);
    case BinaryOp::squared_difference:
      return binary_loop([](float x, float y) { return (x - y) * (x - y); }, a, aLength, b, bLength, out, size);
    case BinaryOp::relu_gradient:
      // dy * step(x): tfjs's relu gradient in one pass instead of three (step, cast, multiply); a NaN x gives a
      // NaN step, as there.
      return binary_loop([](float dy, float x) { return dy * (x > 0.0f ? 1.0f : (x <= 0.0f ? 0.0f : x)); },
                         a, aLength, b, bLength, out, size);
  }
}

void unary(UnaryOp op, const float* x, float* out, size_t size, float alpha) {
  switch (op) {
    // NaN passes through relu and step, as in tfjs's cpu kernels.
    case UnaryOp::relu: return unary_loop([](float v) { return v < 0.0f ? 0.0f : v; }, x, out, size);
    case UnaryOp::sigmoid: return unary_loop([](float v) { return 1.0f / (1.0f + std::exp(-v)); }, x, out, size);
    case UnaryOp::step:
      // NaN fails both comparisons and passes through; two ordered compares vectorise into blends.
      return unary_loop([alpha](float v) { return v > 0.0f ? 1.0f : (v <= 0.0f ? alpha : v); }, x, out, size);
    case UnaryOp::sqrt: return unary_loop([](float v) { return std::sqrt(v); }, x, out, size);
    case UnaryOp::square: return unary_loop([](float v) { return v * v; }, x, out, size);
    case UnaryOp::neg: return unary_loop([](float v) { return -v; }, x, out, size);
    case UnaryOp::exp: return unary_loop([](float v) { return std::exp(v); }, x, out, size);
    case UnaryOp::log: return unary_loop([](float v) { return std::log(v); }, x, out, size);
    case UnaryOp::abs: return unary_loop([](float v) { return std::fabs(v); }, x, out, size);
  }
}

namespace {

// block[0, columns) = the sum of rows [begin, end) of x, added row by row as the plain loop adds them, in registers:
// through memory, each row's add waited for the previous row's store, so a bias gradient of 32 channels over 100,000
// pixels took a few cycles a float. Whole vectors of columns only, at most kMaxRowVectors; false for other widths.
constexpr int kMaxRowVectors = 8;

template <int NV>
void sum_rows_vectors(const float* x, long begin, long end, float* block) {
  vfloat sum[NV] = {};
  for (long r = begin; r < end; ++r) {
    const float* row = x + static_cast<size_t>(r) * NV * kVector;
    for (int v = 0; v < NV; ++v) sum[v] += load(row + v * kVector);
  }
  for (int v = 0; v < NV; ++v) store(block + v * kVector, sum[v]);
}

bool sum_rows_in_registers(const float* x, long begin, long end, int columns, float* block) {
  if (columns % kVector != 0) return false;
  switch (columns / kVector) {
    case 1: sum_rows_vectors<1>(x, begin, end, block); return true;
    case 2: sum_rows_vectors<2>(x, begin, end, block); return true;
    case 3: sum_rows_vectors<3>(x, begin, end, block); return true;
    case 4: sum_rows_vectors<4>(x, begin, end, block); return true;
    case 5: sum_rows_vectors<5>(x, begin, end, block); return true;
    case 6: sum_rows_vectors<6>(x, begin, end, block); return true;
    case 7: sum_rows_vectors<7>(x, begin, end, block); return true;
    case kMaxRowVectors: sum_rows_vectors<kMaxRowVectors>(x, begin, end, block); return true;
    default: return false;
  }
}

}  // namespace

void sum_rows(const float* x, long rows, int columns, float* out) {
  if (columns == 1) {
    // A full reduction: per-block float partial sums (vectorised), folded in double.
    std::vector<double> partial((rows + kBlock - 1) / kBlock + 1, 0.0);
    parallel_blocks(static_cast<size_t>(rows), 1, [&](size_t begin, size_t end) {
      float sum = 0.0f;
      for (size_t i = begin; i < end; ++i) sum += x[i];
      partial[begin / kBlock] = sum;
    });
    double total = 0.0;
    for (double p : partial) total += p;
    out[0] = static_cast<float>(total);
    return;
  }
  // The row blocks depend on the row count alone (not the thread count), so the sums repeat bit for bit with any
  // number of threads.
  const long rowsPerItem = std::max<long>(16, (rows + kSumRanges - 1) / kSumRanges);
  const int items = static_cast<int>((rows + rowsPerItem - 1) / rowsPerItem);
  std::vector<std::vector<double>> partial(items);
  auto body = [&](int item, int) {
    long begin = item * rowsPerItem, end = std::min(rows, begin + rowsPerItem);
    // Rows are summed in float (vectorised over columns), each item's total folded into double.
    std::vector<float> block(columns, 0.0f);
    if (!sum_rows_in_registers(x, begin, end, columns, block.data())) {
      for (long r = begin; r < end; ++r) {
        const float* row = x + static_cast<size_t>(r) * columns;
        for (int c = 0; c < columns; ++c) block[c] += row[c];
      }
    }
    partial[item].assign(block.begin(), block.end());
  };
  if (static_cast<size_t>(rows) * columns < kBlock) {
    for (int item = 0; item < items; ++item) body(item, 0);
  } else {
    parallel_for(items, body);
  }
  for (int c = 0; c < columns; ++c) {
    double total = 0.0;
    for (int item = 0; item < items; ++item) total += partial[item][c];
    out[c] = static_cast<float>(total);
  }
}

void mean_columns(const float* x, long rows, long columns, float* out) {
  const float count = static_cast<float>(columns);
  auto row_mean = [&](long r) {
    // tfjs's cpu Mean: each element divided by the count in float32, the quotients summed in double.
    const float* row = x + static_cast<size_t>(r) * columns;
    double sum = 0.0;
    for (long c = 0; c < columns; ++c) sum += row[c] / count;
    out[r] = static_cast<float>(sum);
  };
  const long rowsPerItem = std::max<long>(1, 16384 / std::max<long>(1, columns));
  const int items = static_cast<int>((rows + rowsPerItem - 1) / rowsPerItem);
  if (items <= 1) {
    for (long r = 0; r < rows; ++r) row_mean(r);
    return;
  }
  parallel_for(items, [&](int item, int) {
    long begin = item * rowsPerItem, end = std::min(rows, begin + rowsPerItem);
    for (long r = begin; r < end; ++r) row_mean(r);
  });
}

}  // namespace dae
