// The N-API functions the addon exports (addon.cc registers them). Every
// function takes float32 typed arrays (inputs, then the output, which it
// fills) and a plain array of integer parameters; nothing is allocated on the
// JavaScript heap here.
#pragma once

#include "napi_args.h"

namespace convnets {

// Convolution, matmul and pooling kernels (bindings_conv.cc).
napi_value Conv2d(napi_env env, napi_callback_info info);
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info);
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info);
napi_value MatMul(napi_env env, napi_callback_info info);
napi_value Pool(napi_env env, napi_callback_info info);
napi_value MaxPoolGrad(napi_env env, napi_callback_info info);
napi_value AvgPoolGrad(napi_env env, napi_callback_info info);

// Elementwise, reduction and reshaping kernels (bindings_elementwise.cc).
napi_value Binary(napi_env env, napi_callback_info info);
napi_value Unary(napi_env env, napi_callback_info info);
napi_value ReduceSum(napi_env env, napi_callback_info info);
napi_value Tile(napi_env env, napi_callback_info info);
napi_value Slice(napi_env env, napi_callback_info info);
napi_value Pad(napi_env env, napi_callback_info info);
napi_value BatchNorm(napi_env env, napi_callback_info info);
napi_value AddN(napi_env env, napi_callback_info info);

}  // namespace convnets
