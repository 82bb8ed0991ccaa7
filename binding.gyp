{
  # On x86-64 the kernels are compiled three times, for the x86-64 microarchitecture levels: v4 (AVX-512), v3
  # (AVX2 + FMA) and the baseline (SSE2), and dae_cpu (baseline code) tells the loader which level this CPU runs
  # (src/backend/native/addon.ts), so one build, prebuilt or from source, runs at full speed on any x86-64 CPU.
  # Elsewhere (arm64, ...) one build for the machine it is compiled on, as before.
  "variables": {
    "dae_sources": [
      "native/addon.cc",
      "native/thread_pool.cc",
      "native/gemm.cc",
      "native/conv.cc",
      "native/conv_single_channel.cc",
      "native/conv_phases.cc",
      "native/conv_filter_gradient.cc",
      "native/elementwise.cc",
      "native/adam.cc",
      "native/augment.cc",
      "native/reconstruction.cc",
      "native/training_step.cc",
      "native/peak.cc"
    ],
    "dae_flags": ["-std=c++20", "-O3", "-ffp-contract=fast", "-fno-math-errno", "-pthread"],
    "dae_xcode_flags": ["-std=c++20", "-O3", "-ffp-contract=fast"]
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
    "cflags!": ["-fno-exceptions", "-O2"],
    "cflags_cc!": ["-fno-exceptions", "-O2"],
    "ldflags": ["-pthread"],
    "conditions": [
      # So that a prebuilt addon loads with an older libstdc++ than the one it was built with: see the header.
      ["OS=='linux'", { "cflags_cc": ["-include", "<(module_root_dir)/native/glibcxx_compat.h"] }]
    ]
  },
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "dae_cpu",
          "sources": ["native/cpu_level.cc"],
          "cflags_cc": ["<@(dae_flags)", "-march=x86-64", "-mtune=generic"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(dae_xcode_flags)", "-march=x86-64", "-mtune=generic"] }
        },
        {
          "target_name": "dae_native_v4",
          "sources": ["<@(dae_sources)"],
          "cflags_cc": ["<@(dae_flags)", "-march=x86-64-v4", "-mtune=generic"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(dae_xcode_flags)", "-march=x86-64-v4", "-mtune=generic"] }
        },
        {
          "target_name": "dae_native_v3",
          "sources": ["<@(dae_sources)"],
          "cflags_cc": ["<@(dae_flags)", "-march=x86-64-v3", "-mtune=generic"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(dae_xcode_flags)", "-march=x86-64-v3", "-mtune=generic"] }
        },
        {
          "target_name": "dae_native_v1",
          "sources": ["<@(dae_sources)"],
          "cflags_cc": ["<@(dae_flags)", "-march=x86-64", "-mtune=generic"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(dae_xcode_flags)", "-march=x86-64", "-mtune=generic"] }
        }
      ]
    }, {
      "targets": [
        {
          "target_name": "dae_native",
          "sources": ["<@(dae_sources)"],
          "cflags_cc": ["<@(dae_flags)", "-march=native"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(dae_xcode_flags)", "-march=native"] }
        }
      ]
    }]
  ]
}
