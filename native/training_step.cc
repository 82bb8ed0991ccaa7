// One training step of a layer chain (training_step.h). The oracle is tfjs itself: test/training-step.test.ts
// runs the same step through tfjs-layers' trainOnBatch on the stock cpu backend and compares loss and weights.
// Every sum splits its work by item count, as the kernels it calls do, so a step repeats bit for bit on any
// number of threads.
#include "training_step.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <utility>

#include "elementwise.h"
#include "gemm.h"
#include "thread_pool.h"

namespace dae {
namespace {

constexpr long kBlock = 1 << 14;

// Grows a buffer to at least `floats` and never shrinks it: resizing a std::vector up fills the new part with zeros,
// and the gradient buffers change size layer by layer, so a plain resize zeroed megabytes every step for nothing.
float* at_least(std::vector<float>& buffer, size_t floats) {
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// body(begin, end) over [0, size) in blocks of kBlock, spread over the pool.
template <typename Body>
void parallel_blocks(long size, Body body) {
  const int blocks = static_cast<int>((size + kBlock - 1) / kBlock);
  if (blocks <= 1) return body(0L, size);
  parallel_for(blocks, [&](int block, int) {
    long begin = block * kBlock;
    body(begin, std::min(size, begin + kBlock));
  });
}

// Row-wise softmax in place, as tfjs's cpu kernel computes it: exp(x - max), divided by the row's sum.
void softmax_rows(float* x, int rows, int columns) {
  for (int r = 0; r < rows; ++r) {
    float* row = x + static_cast<size_t>(r) * columns;
    float largest = *std::max_element(row, row + columns);
    float sum = 0.0f;
    for (int c = 0; c < columns; ++c) {
      row[c] = std::exp(row[c] - largest);
      sum += row[c];
    }
    for (int c = 0; c < columns; ++c) row[c] /= sum;
  }
}

Activation epilogue_activation(StepActivation activation) {
  switch (activation) {
    case StepActivation::relu:
      return Activation::relu;
    case StepActivation::sigmoid:
      return Activation::sigmoid;
    default:
      return Activation::linear;
  }
}

// gradient *= activation'(output), where output = activation(z), in blocks over the pool: the same derivative the
// kernels' epilogues apply to an input gradient (apply_epilogue).
void multiply_activation_gradient(float* gradient, const float* output, long size, StepActivation activation) {
  const Epilogue derivative{nullptr, Activation::linear, output, epilogue_activation(activation)};
  parallel_blocks(size, [&](long begin, long end) {
    apply_epilogue(gradient + begin, 1, static_cast<int>(end - begin), static_cast<int>(end - begin),
                   offset(derivative, static_cast<size_t>(begin), 0));
  });
}

}  // namespace

size_t kernel_size(const LayerSpec& layer) {
  const ConvGeometry& g = layer.geometry;
  return layer.kind == LayerKind::dense ? static_cast<size_t>(layer.inSize) * layer.outSize
                                        : static_cast<size_t>(g.KH) * g.KW * g.C * g.F;
}

int bias_channels(const LayerSpec& layer) {
  switch (layer.kind) {
    case LayerKind::conv:
      return layer.geometry.F;
    case LayerKind::conv_transpose:
      return layer.geometry.C;
    default:
      return layer.outSize;
  }
}

TrainingStep::TrainingStep(std::vector<LayerSpec> layers, StepLoss loss)
    : layers_(std::move(layers)), loss_(loss), firstTrainable_(static_cast<int>(layers_.size())) {
  for (int l = 0; l < static_cast<int>(layers_.size()); ++l)
    if (layers_[l].trainable) {
      firstTrainable_ = l;
      break;
    }
  activations_.resize(layers_.size());
  kernelGradients_.resize(layers_.size());
  biasGradients_.resize(layers_.size());
}

void TrainingStep::forward(const std::vector<LayerParameters>& parameters, const float* x, int count) {
  const float* in = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerSpec& layer = layers_[l];
    float* out = at_least(activations_[l], static_cast<size_t>(count) * layer.outSize);
    Epilogue epilogue{parameters[l].bias, epilogue_activation(layer.activation)};
    ConvGeometry g = layer.geometry;
    g.N = count;
    switch (layer.kind) {
      case LayerKind::dense:
        gemm(false, false, count, layer.outSize, layer.inSize, in, layer.inSize, parameters[l].kernel, layer.outSize, out,
             layer.outSize, epilogue);
        break;
      case LayerKind::conv:
        conv2d(g, in, parameters[l].kernel, out, epilogue);
        break;
      case LayerKind::conv_transpose:
        conv2d_backprop_input(g, in, parameters[l].kernel, out, epilogue);
        break;
    }
    if (layer.activation == StepActivation::softmax) softmax_rows(out, count, layer.outSize);
    in = out;
  }
}

double TrainingStep::loss_and_gradient(const float* target, int count) {
  const LayerSpec& last = layers_.back();
  const float* output = activations_.back().data();
  const long size = static_cast<long>(count) * last.outSize;
  at_least(gradient_, size);
  double loss = 0.0;
  if (loss_ == StepLoss::categorical_crossentropy) {
    // Softmax and cross-entropy together: d loss / d logits = (p * s - t) / count, s the sum of the row's
    // targets. Rows of a distribution (s = 1) give p - t; a row scaled by w weighs w times, an all-zero row not at
    // all (semi-supervised training's masked pseudo-labels). The loss clips p to [1e-7, 1 - 1e-7] as tfjs-layers does.
    const float scale = 1.0f / static_cast<float>(count);
    const int classes = last.outSize;
    for (long row = 0; row < size; row += classes) {
      float sum = 0.0f;
      for (int c = 0; c < classes; ++c) sum += target[row + c];
      for (long i = row; i < row + classes; ++i) {
        float p = output[i], t = target[i];
        if (t != 0.0f) loss -= static_cast<double>(t) * std::log(std::min(std::max(p, 1e-7f), 1.0f - 1e-7f));
        gradient_[i] = (p * sum - t) * scale;
      }
    }
    return loss / count;
  }
  // Mean squared error over every output value, and its gradient through the last activation.
  const float scale = 2.0f / static_cast<float>(size);
  for (long i = 0; i < size; ++i) {
    float difference = output[i] - target[i];
    loss += static_cast<double>(difference) * difference;
    gradient_[i] = difference * scale;
  }
  multiply_activation_gradient(gradient_.data(), output, size, last.activation);
  return loss / static_cast<double>(size);
}

void TrainingStep::backward(const std::vector<LayerParameters>& parameters, const float* x, int count) {
  for (int l = static_cast<int>(layers_.size()) - 1; l >= firstTrainable_; --l) {
    const LayerSpec& layer = layers_[l];
    const float* in = l == 0 ? x : activations_[l - 1].data();
    const float* dz = gradient_.data();
    ConvGeometry g = layer.geometry;
    g.N = count;
    // The input gradient through the activation of the layer below, in the kernel's epilogue; for a transposed
    // convolution that trains, made together with its filter gradient where the kernels allow (both read dz and in).
    float* dx = l == firstTrainable_ ? nullptr : at_least(nextGradient_, static_cast<size_t>(count) * layer.inSize);
    const Epilogue below = l == firstTrainable_
                               ? Epilogue{}
                               : Epilogue{nullptr, Activation::linear, in, epilogue_activation(layers_[l - 1].activation)};
    const bool together = dx != nullptr && layer.trainable && layer.kind == LayerKind::conv_transpose &&
                          conv2d_with_filter_gradient_applies(g);
    if (layer.trainable) {
      std::vector<float>& dw = kernelGradients_[l];
      const int channels = bias_channels(layer);
      dw.resize(kernel_size(layer));
      switch (layer.kind) {
        case LayerKind::dense:
          gemm(true, false, layer.inSize, layer.outSize, count, in, layer.inSize, dz, layer.outSize, dw.data(),
               layer.outSize, Epilogue{});
          break;
        case LayerKind::conv:
          conv2d_backprop_filter(g, in, dz, dw.data());
          break;
        case LayerKind::conv_transpose:
          if (together) {
            conv2d_with_filter_gradient(g, dz, parameters[l].kernel, dx, below, in, dw.data());
          } else {
            conv2d_backprop_filter(g, dz, in, dw.data());
          }
          break;
      }
      if (layer.hasBias) {
        biasGradients_[l].resize(channels);
        sum_rows(dz, static_cast<long>(count) * layer.outSize / channels, channels, biasGradients_[l].data());
      }
    }
    if (l == firstTrainable_) break;
    switch (layer.kind) {
      case LayerKind::dense:
        gemm(false, true, count, layer.inSize, layer.outSize, dz, layer.outSize, parameters[l].kernel, layer.outSize, dx,
             layer.inSize, below);
        break;
      case LayerKind::conv:
        conv2d_backprop_input(g, dz, parameters[l].kernel, dx, below);
        break;
      case LayerKind::conv_transpose:
        if (!together) conv2d(g, dz, parameters[l].kernel, dx, below);
        break;
    }
    std::swap(gradient_, nextGradient_);
  }
}

size_t TrainingStep::buffer_bytes() const {
  size_t floats = gradient_.capacity() + nextGradient_.capacity();
  for (const auto* group : {&activations_, &kernelGradients_, &biasGradients_})
    for (const std::vector<float>& buffer : *group) floats += buffer.capacity();
  return floats * sizeof(float);
}

void TrainingStep::free_buffers() {
  for (auto* group : {&activations_, &kernelGradients_, &biasGradients_})
    for (std::vector<float>& buffer : *group) std::vector<float>().swap(buffer);
  std::vector<float>().swap(gradient_);
  std::vector<float>().swap(nextGradient_);
}

void TrainingStep::predict(const std::vector<LayerParameters>& parameters, const float* x, int count, float* out) {
  forward(parameters, x, count);
  const std::vector<float>& last = activations_.back();
  std::copy(last.begin(), last.begin() + static_cast<long>(count) * layers_.back().outSize, out);
}

double TrainingStep::run(const std::vector<LayerParameters>& parameters, const float* x, const float* target, int count,
                         const AdamParameters& adam) {
  forward(parameters, x, count);
  double loss = loss_and_gradient(target, count);
  backward(parameters, x, count);
  // Adam after every gradient is known, as tfjs applies it: the backward pass reads the weights before the update.
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerSpec& layer = layers_[l];
    const LayerParameters& p = parameters[l];
    if (!layer.trainable) continue;
    const std::vector<float>& dw = kernelGradients_[l];
    adam_update(adam, p.kernel, p.kernelFirstMoment, p.kernelSecondMoment, dw.data(), p.kernel, p.kernelFirstMoment,
                p.kernelSecondMoment, dw.size());
    if (layer.hasBias) {
      const std::vector<float>& db = biasGradients_[l];
      adam_update(adam, p.bias, p.biasFirstMoment, p.biasSecondMoment, db.data(), p.bias, p.biasFirstMoment,
                  p.biasSecondMoment, db.size());
    }
  }
  return loss;
}

}  // namespace dae
