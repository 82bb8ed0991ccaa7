// The x86-64 microarchitecture level this CPU runs, for the loader (src/backend/native/addon.ts) to pick the
// kernel build compiled for it: x86-64-v4 (AVX-512 F/BW/CD/DQ/VL), x86-64-v3 (AVX2, FMA, BMI1/2, ...) or the
// x86-64 baseline (SSE2). Compiled for the baseline, so it loads on every x86-64 CPU. The check includes the
// operating system's support: AVX-512 counts only if the kernel saves the zmm registers (XCR0), as the
// compiler's runtime checks.
#include <napi.h>

namespace {

const char* cpu_level() {
  __builtin_cpu_init();
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  // GCC knows the levels by name and checks every feature in each (MOVBE, LZCNT, F16C, ... too).
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
#else
  const bool v3 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
                  __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
  if (v4) return "x86-64-v4";
  if (v3) return "x86-64-v3";
#endif
  return "x86-64";
}

Napi::Value Level(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), cpu_level()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("level", Napi::Function::New(env, Level));
  return exports;
}

}  // namespace

NODE_API_MODULE(dae_cpu, Init)
