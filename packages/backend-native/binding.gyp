{
  "targets": [
    {
      "target_name": "convnets_native",
      "sources": [
        "native/addon.cc",
        "native/napi_args.cc",
        "native/bindings_conv.cc",
        "native/bindings_elementwise.cc",
        "native/gemm.cc",
        "native/conv.cc",
        "native/conv_filter.cc",
        "native/matmul.cc",
        "native/elementwise.cc",
        "native/pool.cc",
        "native/thread_pool.cc",
        "native/isa.cc",
        "native/isa_generic.cc",
        "native/isa_avx2.cc",
        "native/isa_avx512.cc"
      ],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-ffp-contract=fast", "-fvisibility=hidden"],
      "ldflags": ["-static-libstdc++", "-s"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
