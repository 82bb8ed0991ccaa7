// One Adam step for one variable in a single pass, in float32 with every operation rounded as tfjs's
// AdamOptimizer rounds it (one op at a time, no fused multiply-add), so the result is bit for bit the stock
// optimizer's: it replaces 13 tfjs kernels per variable, each a pass over memory and a round of engine bookkeeping.
#include "adam.h"

#include <cmath>

#include "thread_pool.h"

namespace dae {

namespace {
constexpr size_t kGrain = 1 << 14;
}

__attribute__((optimize("fp-contract=off"))) void adam_update_range(const AdamParameters& p, const float* value, const float* m,
                                                                    const float* v, const float* gradient, float* newValue,
                                                                    float* newM, float* newV, size_t begin, size_t end) {
  const float beta1 = p.beta1, beta2 = p.beta2, oneMinusBeta1 = p.oneMinusBeta1, oneMinusBeta2 = p.oneMinusBeta2;
  const float oneMinusAccBeta1 = p.oneMinusAccBeta1, oneMinusAccBeta2 = p.oneMinusAccBeta2;
  const float epsilon = p.epsilon, negativeLearningRate = p.negativeLearningRate;
  // The step runs in place (newValue == value, and so on), which made the compiler's overlap check send every
  // element down its scalar loop. Element i reads and writes only index i, so no iteration depends on another: the
  // loop is vectorised as written (the same correctly rounded operations per element, so the same bits).
#pragma GCC ivdep
  for (size_t i = begin; i < end; ++i) {
    const float g = gradient[i];
    // newFirstMoment = add(mul(m, beta1), mul(g, 1 - beta1)), and likewise for the second moment with square(g).
    const float first = m[i] * beta1 + g * oneMinusBeta1;
    const float square = g * g;
    const float second = v[i] * beta2 + square * oneMinusBeta2;
    const float correctedFirst = first / oneMinusAccBeta1;
    const float correctedSecond = second / oneMinusAccBeta2;
    const float root = std::sqrt(correctedSecond);
    const float step = correctedFirst / (root + epsilon);
    newValue[i] = step * negativeLearningRate + value[i];
    newM[i] = first;
    newV[i] = second;
  }
}

void adam_update(const AdamParameters& p, const float* value, const float* m, const float* v, const float* gradient,
                 float* newValue, float* newM, float* newV, size_t size) {
  const int chunks = static_cast<int>((size + kGrain - 1) / kGrain);
  if (chunks <= 1) return adam_update_range(p, value, m, v, gradient, newValue, newM, newV, 0, size);
  parallel_for(chunks, [&](int chunk, int) {
    size_t begin = static_cast<size_t>(chunk) * kGrain;
    adam_update_range(p, value, m, v, gradient, newValue, newM, newV, begin, std::min(size, begin + kGrain));
  });
}

}  // namespace dae
