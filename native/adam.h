// Adam's update of one variable, fused: the tfjs AdamOptimizer's arithmetic in one pass (adam.cc).
#pragma once
#include <cstddef>

namespace dae {

// Every value as the float32 scalar tfjs makes of it: beta1, 1 - beta1 (computed in double, then rounded), ...
struct AdamParameters {
  float beta1, beta2, oneMinusBeta1, oneMinusBeta2;
  float oneMinusAccBeta1, oneMinusAccBeta2;
  float epsilon, negativeLearningRate;
};

void adam_update(const AdamParameters& p, const float* value, const float* m, const float* v, const float* gradient,
                 float* newValue, float* newM, float* newV, size_t size);

}  // namespace dae
