// N-API surface of the kernels. Every function works on Float32Arrays owned by JavaScript (tfjs's tensor
// buffers), without copying them; shapes come as plain integers and are checked before any pointer is used.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <string>

#include "adam.h"
#include "augment.h"
#include "reconstruction.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "peak.h"
#include "thread_pool.h"
#include "training_step.h"

namespace {

using dae::ConvGeometry;
using dae::Epilogue;

float* floats(const Napi::Value& value, size_t minimum, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    NAPI_THROW(Napi::TypeError::New(value.Env(), std::string(name) + " must be a Float32Array"), nullptr);
  }
  Napi::Float32Array array = value.As<Napi::Float32Array>();
  if (array.ElementLength() < minimum) {
    NAPI_THROW(Napi::RangeError::New(value.Env(), std::string(name) + " has " + std::to_string(array.ElementLength()) +
                                                      " elements, needs " + std::to_string(minimum)),
               nullptr);
  }
  return array.Data();
}

bool read_geometry(const Napi::Value& value, ConvGeometry& g) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      value.As<Napi::Int32Array>().ElementLength() != 15) {
    NAPI_THROW(Napi::TypeError::New(value.Env(), "geometry must be an Int32Array of 15 values"), false);
  }
  const int32_t* v = value.As<Napi::Int32Array>().Data();
  g = ConvGeometry{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  for (int i = 0; i < 15; ++i) {
    if (v[i] < 0 || ((i < 11 || i > 12) && v[i] == 0)) {
      NAPI_THROW(Napi::RangeError::New(value.Env(), "geometry value " + std::to_string(i) + " is out of range"), false);
    }
  }
  return true;
}

size_t input_size(const ConvGeometry& g) { return static_cast<size_t>(g.N) * g.H * g.W * g.C; }
size_t output_size(const ConvGeometry& g) { return static_cast<size_t>(g.N) * g.OH * g.OW * g.F; }
size_t filter_size(const ConvGeometry& g) { return static_cast<size_t>(g.KH) * g.KW * g.C * g.F; }

bool read_epilogue(const Napi::CallbackInfo& info, size_t index, int columns, Epilogue& epilogue) {
  if (info.Length() > index && !info[index].IsNull() && !info[index].IsUndefined()) {
    epilogue.bias = floats(info[index], columns, "bias");
    if (epilogue.bias == nullptr) return false;
  }
  if (info.Length() > index + 1) {
    int activation = info[index + 1].As<Napi::Number>().Int32Value();
    if (activation < 0 || activation > 2) {
      NAPI_THROW(Napi::RangeError::New(info.Env(), "activation code must be 0, 1 or 2"), false);
    }
    epilogue.activation = static_cast<dae::Activation>(activation);
  }
  return true;
}

// conv2d(geometry, x, w, y, bias?, activation?, reference?)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  ConvGeometry g;
  if (!read_geometry(info[0], g)) return {};
  const float* x = floats(info[1], input_size(g), "x");
  const float* w = floats(info[2], filter_size(g), "filter");
  float* y = floats(info[3], output_size(g), "y");
  Epilogue epilogue;
  if (!x || !w || !y || !read_epilogue(info, 4, g.F, epilogue)) return {};
  bool reference = info.Length() > 6 && info[6].ToBoolean();
  (reference ? dae::conv2d_reference : dae::conv2d)(g, x, w, y, epilogue);
  return info.Env().Undefined();
}

// conv2dBackpropInput(geometry, dy, w, dx, reference?)
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  ConvGeometry g;
  if (!read_geometry(info[0], g)) return {};
  const float* dy = floats(info[1], output_size(g), "dy");
  const float* w = floats(info[2], filter_size(g), "filter");
  float* dx = floats(info[3], input_size(g), "dx");
  if (!dy || !w || !dx) return {};
  bool reference = info.Length() > 4 && info[4].ToBoolean();
  if (reference) {
    dae::conv2d_backprop_input_reference(g, dy, w, dx);
  } else {
    dae::conv2d_backprop_input(g, dy, w, dx);
  }
  return info.Env().Undefined();
}

// conv2dBackpropFilter(geometry, x, dy, dw, reference?)
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  ConvGeometry g;
  if (!read_geometry(info[0], g)) return {};
  const float* x = floats(info[1], input_size(g), "x");
  const float* dy = floats(info[2], output_size(g), "dy");
  float* dw = floats(info[3], filter_size(g), "dw");
  if (!x || !dy || !dw) return {};
  bool reference = info.Length() > 4 && info[4].ToBoolean();
  (reference ? dae::conv2d_backprop_filter_reference : dae::conv2d_backprop_filter)(g, x, dy, dw);
  return info.Env().Undefined();
}

// batchMatMul(a, b, c, batch, M, N, K, transA, transB, batchStrideA, batchStrideB, bias?, activation?, reference?)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int batch = info[3].As<Napi::Number>().Int32Value();
  int M = info[4].As<Napi::Number>().Int32Value();
  int N = info[5].As<Napi::Number>().Int32Value();
  int K = info[6].As<Napi::Number>().Int32Value();
  bool transA = info[7].ToBoolean(), transB = info[8].ToBoolean();
  long strideA = info[9].As<Napi::Number>().Int64Value(), strideB = info[10].As<Napi::Number>().Int64Value();
  if (batch <= 0 || M <= 0 || N <= 0 || K < 0 || strideA < 0 || strideB < 0) {
    NAPI_THROW(Napi::RangeError::New(env, "batchMatMul: sizes must be positive"), {});
  }
  const float* a = floats(info[0], static_cast<size_t>(strideA) * (batch - 1) + static_cast<size_t>(M) * K, "a");
  const float* b = floats(info[1], static_cast<size_t>(strideB) * (batch - 1) + static_cast<size_t>(K) * N, "b");
  float* c = floats(info[2], static_cast<size_t>(batch) * M * N, "c");
  Epilogue epilogue;
  if (!a || !b || !c || !read_epilogue(info, 11, N, epilogue)) return {};
  bool reference = info.Length() > 13 && info[13].ToBoolean();
  for (int i = 0; i < batch; ++i) {
    const float* ai = a + static_cast<size_t>(strideA) * i;
    const float* bi = b + static_cast<size_t>(strideB) * i;
    float* ci = c + static_cast<size_t>(M) * N * i;
    int lda = transA ? M : K, ldb = transB ? K : N;
    (reference ? dae::gemm_reference : dae::gemm)(transA, transB, M, N, K, ai, lda, bi, ldb, ci, N, epilogue);
  }
  return env.Undefined();
}

// sumRows(x, rows, columns, out)
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  long rows = info[1].As<Napi::Number>().Int64Value();
  int columns = info[2].As<Napi::Number>().Int32Value();
  if (rows < 0 || columns <= 0) NAPI_THROW(Napi::RangeError::New(info.Env(), "sumRows: bad shape"), {});
  const float* x = floats(info[0], static_cast<size_t>(rows) * columns, "x");
  float* out = floats(info[3], columns, "out");
  if (!x || !out) return {};
  dae::sum_rows(x, rows, columns, out);
  return info.Env().Undefined();
}

// meanColumns(x, rows, columns, out): out[r] = mean of row r
Napi::Value MeanColumns(const Napi::CallbackInfo& info) {
  long rows = info[1].As<Napi::Number>().Int64Value();
  long columns = info[2].As<Napi::Number>().Int64Value();
  if (rows <= 0 || columns <= 0) NAPI_THROW(Napi::RangeError::New(info.Env(), "meanColumns: bad shape"), {});
  const float* x = floats(info[0], static_cast<size_t>(rows) * columns, "x");
  float* out = floats(info[3], rows, "out");
  if (!x || !out) return {};
  dae::mean_columns(x, rows, columns, out);
  return info.Env().Undefined();
}

// adamUpdate(value, m, v, gradient, newValue, newM, newV, parameters): one fused Adam step; parameters is a
// Float32Array [beta1, beta2, 1 - beta1, 1 - beta2, 1 - accBeta1, 1 - accBeta2, epsilon, -learningRate].
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) NAPI_THROW(Napi::TypeError::New(info.Env(), "adamUpdate: value must be a Float32Array"), {});
  size_t size = info[0].As<Napi::TypedArray>().ElementLength();
  const char* names[] = {"value", "m", "v", "gradient", "newValue", "newM", "newV"};
  float* arrays[7];
  for (int i = 0; i < 7; ++i) {
    arrays[i] = floats(info[i], size, names[i]);
    if (!arrays[i]) return {};
  }
  const float* parameters = floats(info[7], 8, "parameters");
  if (!parameters) return {};
  dae::AdamParameters p{parameters[0], parameters[1], parameters[2], parameters[3],
                        parameters[4], parameters[5], parameters[6], parameters[7]};
  dae::adam_update(p, arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6], size);
  return info.Env().Undefined();
}

// binary(op, a, b, out): b and a are read at i % length (trailing broadcast), lengths dividing out's length
Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  if (op < 0 || op > 7) NAPI_THROW(Napi::RangeError::New(info.Env(), "binary: unknown op"), {});
  const float* a = floats(info[1], 1, "a");
  const float* b = floats(info[2], 1, "b");
  float* out = floats(info[3], 1, "out");
  if (!a || !b || !out) return {};
  size_t aLength = info[1].As<Napi::Float32Array>().ElementLength();
  size_t bLength = info[2].As<Napi::Float32Array>().ElementLength();
  size_t size = info[3].As<Napi::Float32Array>().ElementLength();
  if (size % aLength != 0 || size % bLength != 0) {
    NAPI_THROW(Napi::RangeError::New(info.Env(), "binary: operand lengths must divide the output length"), {});
  }
  dae::binary(static_cast<dae::BinaryOp>(op), a, aLength, b, bLength, out, size);
  return info.Env().Undefined();
}

// unary(op, x, out, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  if (op < 0 || op > 8) NAPI_THROW(Napi::RangeError::New(info.Env(), "unary: unknown op"), {});
  const float* x = floats(info[1], 0, "x");
  if (!x) return {};
  size_t size = info[1].As<Napi::Float32Array>().ElementLength();
  float* out = floats(info[2], size, "out");
  if (!out) return {};
  float alpha = info.Length() > 3 ? info[3].As<Napi::Number>().FloatValue() : 0.0f;
  dae::unary(static_cast<dae::UnaryOp>(op), x, out, size, alpha);
  return info.Env().Undefined();
}

// createTrainingStep(layers, loss): layers is an Int32Array of 21 values per layer: kind, activation, trainable,
// hasBias, inSize, outSize and the 15 geometry values (see geometry above; N is ignored). Returns a handle.
Napi::Value CreateTrainingStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[0].As<Napi::Int32Array>().ElementLength() % 21 != 0 || info[0].As<Napi::Int32Array>().ElementLength() == 0) {
    NAPI_THROW(Napi::TypeError::New(env, "createTrainingStep: layers must be an Int32Array of 21 values per layer"), {});
  }
  const int32_t* v = info[0].As<Napi::Int32Array>().Data();
  size_t count = info[0].As<Napi::Int32Array>().ElementLength() / 21;
  int loss = info[1].As<Napi::Number>().Int32Value();
  if (loss < 0 || loss > 1) NAPI_THROW(Napi::RangeError::New(env, "createTrainingStep: loss code must be 0 or 1"), {});
  std::vector<dae::LayerSpec> layers;
  for (size_t l = 0; l < count; ++l) {
    const int32_t* s = v + l * 21;
    if (s[0] < 0 || s[0] > 2 || s[1] < 0 || s[1] > 3 || s[4] <= 0 || s[5] <= 0) {
      NAPI_THROW(Napi::RangeError::New(env, "createTrainingStep: layer " + std::to_string(l) + " is out of range"), {});
    }
    const int32_t* g = s + 6;
    layers.push_back({static_cast<dae::LayerKind>(s[0]), static_cast<dae::StepActivation>(s[1]), s[2] != 0, s[3] != 0,
                      s[4], s[5], ConvGeometry{1, g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
                                               g[13], g[14]}});
  }
  auto* step = new dae::TrainingStep(std::move(layers), static_cast<dae::StepLoss>(loss));
  return Napi::External<dae::TrainingStep>::New(env, step, [](Napi::Env finalizing, dae::TrainingStep* s) {
    Napi::MemoryManagement::AdjustExternalMemory(finalizing, -s->reported_bytes);
    delete s;
  });
}

// Tells V8 what a step's buffers hold now. A handle is a few bytes to V8, but its buffers are tens of megabytes (the
// autoencoder's activations for 128 images: ~25 MB); unreported, dropped handles piled up for hundreds of megabytes
// before a collection came. On the JavaScript thread only.
void report_buffers(Napi::Env env, dae::TrainingStep* step) {
  const int64_t bytes = static_cast<int64_t>(step->buffer_bytes());
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes - step->reported_bytes);
  step->reported_bytes = bytes;
}

// Runs one training step off the JavaScript thread (on libuv's pool; the kernels still use their own threads), so
// the caller prepares the next batch meanwhile. The arrays it reads and writes are held until it is done.
class TrainingStepWorker : public Napi::AsyncWorker {
 public:
  TrainingStepWorker(Napi::Env env, dae::TrainingStep* step, std::vector<dae::LayerParameters> layers, const float* x,
                     const float* target, int count, dae::AdamParameters adam, std::vector<Napi::ObjectReference> held)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        step_(step),
        layers_(std::move(layers)),
        x_(x),
        target_(target),
        count_(count),
        adam_(adam),
        held_(std::move(held)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override { loss_ = step_->run(layers_, x_, target_, count_, adam_); }

  void OnOK() override {
    step_->release();
    report_buffers(Env(), step_);
    held_.clear();
    deferred_.Resolve(Napi::Number::New(Env(), loss_));
  }

  void OnError(const Napi::Error& error) override {
    step_->release();
    report_buffers(Env(), step_);
    held_.clear();
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  dae::TrainingStep* step_;
  std::vector<dae::LayerParameters> layers_;
  const float* x_;
  const float* target_;
  int count_;
  dae::AdamParameters adam_;
  std::vector<Napi::ObjectReference> held_;
  double loss_ = 0.0;
};

// The per-layer arrays of a training step's parameters (6 entries per layer: kernel, bias, kernel m, kernel v, bias
// m, bias v; null where absent), checked against the layers' sizes; each one read is also appended to `held`.
bool read_parameters(Napi::Env env, dae::TrainingStep* step, const Napi::Value& value, std::vector<dae::LayerParameters>& layers,
                     std::vector<Napi::ObjectReference>* held) {
  const std::vector<dae::LayerSpec>& specs = step->layers();
  if (!value.IsArray() || value.As<Napi::Array>().Length() != specs.size() * 6) {
    NAPI_THROW(Napi::TypeError::New(env, "trainingStep: parameters must be an array of 6 entries per layer"), false);
  }
  Napi::Array parameters = value.As<Napi::Array>();
  layers.assign(specs.size(), dae::LayerParameters{});
  for (size_t l = 0; l < specs.size(); ++l) {
    const dae::LayerSpec& s = specs[l];
    const size_t kernelSize = dae::kernel_size(s), biasSize = dae::bias_channels(s);
    float* arrays[6] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
    const size_t sizes[6] = {kernelSize, biasSize, kernelSize, kernelSize, biasSize, biasSize};
    const bool needed[6] = {true, s.hasBias, s.trainable, s.trainable, s.trainable && s.hasBias, s.trainable && s.hasBias};
    for (int i = 0; i < 6; ++i) {
      if (!needed[i]) continue;
      Napi::Value entry = parameters.Get(l * 6 + i);
      arrays[i] = floats(entry, sizes[i], "trainingStep parameter");
      if (!arrays[i]) return false;
      if (held) held->push_back(Napi::Persistent(entry.As<Napi::Object>()));
    }
    layers[l] = {arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5]};
  }
  return true;
}

dae::TrainingStep* step_of(const Napi::Value& value) {
  if (!value.IsExternal()) {
    NAPI_THROW(Napi::TypeError::New(value.Env(), "trainingStep: handle must come from createTrainingStep"), nullptr);
  }
  return value.As<Napi::External<dae::TrainingStep>>().Data();
}

// trainingStep(handle, parameters, x, target, count, adam) -> Promise<loss>: parameters as read_parameters reads
// them; adam as for adamUpdate.
Napi::Value TrainingStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  dae::TrainingStep* step = step_of(info[0]);
  if (!step) return {};
  int count = info[4].As<Napi::Number>().Int32Value();
  if (count <= 0) NAPI_THROW(Napi::RangeError::New(env, "trainingStep: count must be positive"), {});
  std::vector<Napi::ObjectReference> held;
  std::vector<dae::LayerParameters> layers;
  if (!read_parameters(env, step, info[1], layers, &held)) return {};
  const float* x = floats(info[2], static_cast<size_t>(count) * step->layers().front().inSize, "x");
  const float* target = floats(info[3], static_cast<size_t>(count) * step->layers().back().outSize, "target");
  const float* a = floats(info[5], 8, "adam parameters");
  if (!x || !target || !a) return {};
  held.push_back(Napi::Persistent(info[2].As<Napi::Object>()));
  held.push_back(Napi::Persistent(info[3].As<Napi::Object>()));
  dae::AdamParameters adam{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]};
  if (!step->try_acquire()) {
    NAPI_THROW(Napi::Error::New(env, "trainingStep: the previous step of this model has not finished; await it first"), {});
  }
  auto* worker = new TrainingStepWorker(env, step, std::move(layers), x, target, count, adam, std::move(held));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// predict(handle, parameters, x, count, out): the forward pass of a layer chain into out, on this thread.
Napi::Value Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  dae::TrainingStep* step = step_of(info[0]);
  if (!step) return {};
  int count = info[3].As<Napi::Number>().Int32Value();
  if (count <= 0) NAPI_THROW(Napi::RangeError::New(env, "predict: count must be positive"), {});
  std::vector<dae::LayerParameters> layers;
  if (!read_parameters(env, step, info[1], layers, nullptr)) return {};
  const float* x = floats(info[2], static_cast<size_t>(count) * step->layers().front().inSize, "x");
  float* out = floats(info[4], static_cast<size_t>(count) * step->layers().back().outSize, "out");
  if (!x || !out) return {};
  if (!step->try_acquire()) NAPI_THROW(Napi::Error::New(env, "predict: a step of this model is still running"), {});
  step->predict(layers, x, count, out);
  step->release();
  report_buffers(env, step);
  return env.Undefined();
}

// freeBuffers(handle): gives back the step's buffers when its last step or forward pass is done; using the handle
// again grows them anew.
Napi::Value FreeBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  dae::TrainingStep* step = step_of(info[0]);
  if (!step) return {};
  if (!step->try_acquire()) NAPI_THROW(Napi::Error::New(env, "freeBuffers: a step of this model is still running"), {});
  step->free_buffers();
  step->release();
  report_buffers(env, step);
  return env.Undefined();
}

double* doubles(const Napi::Value& value, size_t minimum, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      value.As<Napi::Float64Array>().ElementLength() < minimum) {
    NAPI_THROW(Napi::TypeError::New(value.Env(), std::string(name) + " must be a Float64Array of at least " +
                                                     std::to_string(minimum) + " values"),
               nullptr);
  }
  return value.As<Napi::Float64Array>().Data();
}

// warpImages(images, count, height, width, maps, out): the bilinear affine warp of each image, on this thread;
// maps holds four float64 values per image (src/data/augment.ts).
Napi::Value WarpImages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int count = info[1].As<Napi::Number>().Int32Value();
  int height = info[2].As<Napi::Number>().Int32Value();
  int width = info[3].As<Napi::Number>().Int32Value();
  if (count <= 0 || height <= 0 || width <= 0) {
    NAPI_THROW(Napi::RangeError::New(env, "warpImages: count, height and width must be positive"), {});
  }
  const size_t size = static_cast<size_t>(count) * height * width;
  const float* images = floats(info[0], size, "images");
  float* out = floats(info[5], size, "out");
  const double* maps = doubles(info[4], static_cast<size_t>(count) * 4, "warpImages: maps (4 values per image)");
  if (!images || !out || !maps) return {};
  dae::warp_images(images, count, height, width, maps, out);
  return env.Undefined();
}

// reconstructionScores(clean, other, count, height, width, taps, c1, c2, squaredErrors, ssims): per image, its sum
// of squared differences and its mean SSIM (src/eval/reconstruction.ts), spread over the pool.
Napi::Value ReconstructionScores(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int count = info[2].As<Napi::Number>().Int32Value();
  int height = info[3].As<Napi::Number>().Int32Value();
  int width = info[4].As<Napi::Number>().Int32Value();
  const Napi::Value& taps_value = info[5];
  const int window = taps_value.IsTypedArray() ? static_cast<int>(taps_value.As<Napi::TypedArray>().ElementLength()) : 0;
  if (count <= 0 || window <= 0 || height < window || width < window) {
    NAPI_THROW(Napi::RangeError::New(env, "reconstructionScores: need images of at least the window's size, and a window"), {});
  }
  const size_t size = static_cast<size_t>(count) * height * width;
  const float* clean = floats(info[0], size, "clean");
  const float* other = floats(info[1], size, "other");
  const double* taps = doubles(info[5], static_cast<size_t>(window), "taps");
  double* squared_errors = doubles(info[8], static_cast<size_t>(count), "squaredErrors");
  double* ssims = doubles(info[9], static_cast<size_t>(count), "ssims");
  if (!clean || !other || !taps || !squared_errors || !ssims) return {};
  dae::reconstruction_scores(clean, other, count, height, width, taps, window, info[6].As<Napi::Number>().DoubleValue(),
                             info[7].As<Napi::Number>().DoubleValue(), squared_errors, ssims);
  return env.Undefined();
}

// peakFlops(threads, iterations) -> {flops, seconds, checksum, lanes}: independent multiply-adds at this build's
// vector width on `threads` threads at once (peak.cc), on this thread and threads of its own.
Napi::Value PeakFlops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads = info[0].As<Napi::Number>().Int32Value();
  int64_t iterations = info[1].As<Napi::Number>().Int64Value();
  if (threads < 1 || threads > 1024 || iterations < 1) {
    NAPI_THROW(Napi::RangeError::New(env, "peakFlops: threads must be 1 to 1024 and iterations at least 1"), {});
  }
  dae::PeakMeasurement measured = dae::peak_flops(threads, static_cast<long>(iterations));
  Napi::Object result = Napi::Object::New(env);
  result.Set("flops", measured.flops);
  result.Set("seconds", measured.seconds);
  result.Set("checksum", measured.checksum);
  result.Set("lanes", dae::vector_lanes());
  return result;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  dae::set_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), dae::thread_count());
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), dae::thread_count()); }

Napi::Value Target(const Napi::CallbackInfo& info) {
#if defined(__AVX512F__)
  const char* target = "avx512";
#elif defined(__AVX2__)
  const char* target = "avx2";
#elif defined(__AVX__)
  const char* target = "avx";
#elif defined(__ARM_NEON) || defined(__aarch64__)
  const char* target = "neon";
#else
  const char* target = "generic";
#endif
  return Napi::String::New(info.Env(), target);
}

// tfjs allocates a fresh Float32Array for every kernel output, and glibc serves large blocks with mmap and
// gives them back on free, so each activation-sized output (up to 12.8 MB here) paid for thousands of page
// faults: measured on this machine, allocating and touching a 12.8 MB array took ~11 ms, ~0.7 ms with these
// settings. Blocks up to 16 MB now come from the heap, which keeps up to 64 MB free at its top for the next ones.
// Larger ones, whole image sets (a test set is 31 MB of floats), are rare and still mapped, so that freeing them
// gives their memory back: in the heap they left holes that nothing returned. Each thread that allocates has a heap
// of its own (glibc's arenas): with 32 MB, a trim threshold of 512 MB and 64 MB of padding each, as before, the
// study's threads kept ~400 MB of freed memory between them; releaseFreeMemory gives back the rest between runs.
void keep_large_allocations_in_heap() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  mallopt(M_TOP_PAD, 16 * 1024 * 1024);
#endif
}

// releaseFreeMemory(): gives the memory that the heaps of every thread hold free back to the system (glibc's
// malloc_trim; elsewhere nothing). Costs a walk over the free lists: call it between runs, not between batches.
Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  keep_large_allocations_in_heap();
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("meanColumns", Napi::Function::New(env, MeanColumns));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("createTrainingStep", Napi::Function::New(env, CreateTrainingStep));
  exports.Set("trainingStep", Napi::Function::New(env, TrainingStep));
  exports.Set("predict", Napi::Function::New(env, Predict));
  exports.Set("freeBuffers", Napi::Function::New(env, FreeBuffers));
  exports.Set("releaseFreeMemory", Napi::Function::New(env, ReleaseFreeMemory));
  exports.Set("warpImages", Napi::Function::New(env, WarpImages));
  exports.Set("reconstructionScores", Napi::Function::New(env, ReconstructionScores));
  exports.Set("peakFlops", Napi::Function::New(env, PeakFlops));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("target", Napi::Function::New(env, Target));
  return exports;
}

}  // namespace

NODE_API_MODULE(dae_native, Init)
