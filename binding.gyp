{
  "targets": [
    {
      "target_name": "dae_native",
      "sources": [
        "native/addon.cc",
        "native/thread_pool.cc",
        "native/gemm.cc",
        "native/conv.cc",
        "native/conv_single_channel.cc",
        "native/conv_phases.cc",
        "native/elementwise.cc",
        "native/adam.cc",
        "native/training_step.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-march=native", "-ffp-contract=fast", "-fno-math-errno", "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++20", "-O3", "-march=native", "-ffp-contract=fast"]
      }
    }
  ]
}
