// A whole training step of a chain of layers in one call: forward, loss, backward and Adam, on the same kernels
// as the per-kernel path (conv.cc, gemm.cc, adam.cc) but without tfjs's graph between them, with bias and
// activation fused into each layer's output and the activation's gradient into the loss or the layer above.
// N = batch; a layer maps [N, inSize] to [N, outSize] (NHWC images flattened per example).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "adam.h"
#include "conv.h"

namespace dae {

enum class LayerKind { dense = 0, conv = 1, conv_transpose = 2 };
enum class StepActivation { linear = 0, relu = 1, sigmoid = 2, softmax = 3 };
enum class StepLoss { mean_squared_error = 0, categorical_crossentropy = 1 };

struct LayerSpec {
  LayerKind kind;
  StepActivation activation;
  bool trainable;
  bool hasBias;
  int inSize, outSize;  // per example
  // conv: the convolution itself; conv_transpose: the convolution whose input gradient it is (its "input" is the
  // transposed layer's output). N is set per step.
  ConvGeometry geometry;
};

// The floats of a layer's kernel, and the channels its bias runs along (the last axis of its output).
size_t kernel_size(const LayerSpec& layer);
int bias_channels(const LayerSpec& layer);

// Per layer: kernel, bias (null without one); their gradients and Adam moments only for trainable layers.
struct LayerParameters {
  float* kernel;
  float* bias;
  float *kernelFirstMoment, *kernelSecondMoment, *biasFirstMoment, *biasSecondMoment;
};

class TrainingStep {
 public:
  TrainingStep(std::vector<LayerSpec> layers, StepLoss loss);
  // Trains on x[count, inSize of layer 0] against target[count, outSize of the last layer]; returns the loss
  // (mean over the batch, as tfjs-layers reports it). Weights and moments are updated in place.
  double run(const std::vector<LayerParameters>& parameters, const float* x, const float* target, int count,
             const AdamParameters& adam);
  // The forward pass alone: out[count, outSize of the last layer] (no gradient, no update).
  void predict(const std::vector<LayerParameters>& parameters, const float* x, int count, float* out);
  const std::vector<LayerSpec>& layers() const { return layers_; }
  // One step at a time per instance (its buffers are shared by the phases of a step): true if it was free.
  bool try_acquire() { return !busy_.exchange(true); }
  void release() { busy_.store(false); }
  // Bytes its buffers hold: activations and gradients of the largest batch so far, kept for the next step.
  size_t buffer_bytes() const;
  // Gives the buffers back; a later step or forward pass grows them again. Not while a step runs.
  void free_buffers();
  // What addon.cc last told V8 the buffers hold, so it can report the difference.
  int64_t reported_bytes = 0;

 private:
  void forward(const std::vector<LayerParameters>& parameters, const float* x, int count);
  double loss_and_gradient(const float* target, int count);
  void backward(const std::vector<LayerParameters>& parameters, const float* x, int count);

  std::vector<LayerSpec> layers_;
  StepLoss loss_;
  int firstTrainable_;
  std::vector<std::vector<float>> activations_;  // output of each layer
  std::vector<float> gradient_, nextGradient_;   // d loss / d (pre-activation) of the current layer, and below
  std::vector<std::vector<float>> kernelGradients_, biasGradients_;
  std::atomic<bool> busy_{false};
};

}  // namespace dae
