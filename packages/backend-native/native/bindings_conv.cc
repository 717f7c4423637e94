// N-API bindings of the convolution, matmul and pooling kernels (ops.h):
// each checks its geometry and buffer lengths before calling the kernel.
#include <algorithm>
#include <string>

#include "bindings.h"
#include "ops.h"

namespace convnets {
namespace {

// Fails unless a pooling geometry keeps its channels.
bool same_channels(Args& a, const ConvGeometry& g, const char* kernel) {
  if (g.in_c == g.out_c) return true;
  a.fail(std::string(kernel) + ": input and output channels differ");
  return false;
}

}  // namespace

// conv2d(x, filter, bias | null, y, [geometry..., activation])
napi_value Conv2d(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t p[16];
  ConvGeometry g;
  float* x = a.f32(0);
  float* filter = a.f32(1);
  float* bias = a.f32(2, true);
  float* y = a.f32(3);
  if (!checked_geometry(a, 4, p, 16, "conv2d",
                        {{0, Extent::kInput, "x"},
                         {1, Extent::kFilter, "filter"},
                         {2, Extent::kOutChannels, "bias", bias != nullptr},
                         {3, Extent::kOutput, "y"}},
                        &g))
    return nullptr;
  conv2d(g, x, filter, bias, static_cast<Activation>(p[15]), y);
  return nullptr;
}

// conv2dBackpropInput(dy, filter, dx, [geometry...])
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t p[15];
  ConvGeometry g;
  float* dy = a.f32(0);
  float* filter = a.f32(1);
  float* dx = a.f32(2);
  if (!checked_geometry(
          a, 3, p, 15, "conv2dBackpropInput",
          {{0, Extent::kOutput, "dy"}, {1, Extent::kFilter, "filter"}, {2, Extent::kInput, "dx"}},
          &g))
    return nullptr;
  conv2d_backprop_input(g, dy, filter, dx);
  return nullptr;
}

// conv2dBackpropFilter(x, dy, dfilter, [geometry...])
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t p[15];
  ConvGeometry g;
  float* x = a.f32(0);
  float* dy = a.f32(1);
  float* df = a.f32(2);
  if (!checked_geometry(
          a, 3, p, 15, "conv2dBackpropFilter",
          {{0, Extent::kInput, "x"}, {1, Extent::kOutput, "dy"}, {2, Extent::kFilter, "dfilter"}},
          &g))
    return nullptr;
  conv2d_backprop_filter(g, x, dy, df);
  return nullptr;
}

// matmul(a, b, bias | null, c, [batchA, batchB, m, n, k, transposeA, transposeB, biasLength, activation])
napi_value MatMul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t p[9];
  float* lhs = a.f32(0);
  float* rhs = a.f32(1);
  float* bias = a.f32(2, true);
  float* out = a.f32(3);
  if (a.failed || !a.ints(4, p, 9)) return nullptr;
  MatMulShape s{p[0], p[1], p[2], p[3], p[4], p[5] != 0, p[6] != 0};
  if (s.batch_a < 0 || s.batch_b < 0 || s.m < 0 || s.n < 0 || s.k < 0 ||
      (s.batch_a != s.batch_b && s.batch_a != 1 && s.batch_b != 1)) {
    a.fail("matMul: batches " + std::to_string(s.batch_a) + " and " + std::to_string(s.batch_b) +
           ", m " + std::to_string(s.m) + ", n " + std::to_string(s.n) + ", k " +
           std::to_string(s.k) + ": expected sizes of at least 0 and batches equal or 1");
    return nullptr;
  }
  const int64_t batch = s.batch_a == 0 || s.batch_b == 0 ? 0 : std::max(s.batch_a, s.batch_b);
  if (!a.expect_length(0, s.batch_a * s.m * s.k, "matMul: a") ||
      !a.expect_length(1, s.batch_b * s.k * s.n, "matMul: b") ||
      (bias && !a.expect_length(2, p[7] == 1 ? 1 : s.n, "matMul: bias")) ||
      !a.expect_length(3, batch * s.m * s.n, "matMul: c"))
    return nullptr;
  matmul(s, lhs, rhs, bias, p[7], static_cast<Activation>(p[8]), out);
  return nullptr;
}

// pool(kind, x, y, [geometry...]) with kind 0 = max, 1 = average
napi_value Pool(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const int kind = static_cast<int>(a.number(0));
  float* x = a.f32(1);
  float* y = a.f32(2);
  int64_t p[15];
  ConvGeometry g;
  if (!checked_geometry(a, 3, p, 15, "pool",
                        {{1, Extent::kInput, "x"}, {2, Extent::kOutput, "y"}}, &g) ||
      !same_channels(a, g, "pool"))
    return nullptr;
  if (kind == 0) max_pool(g, x, y);
  else avg_pool(g, x, y);
  return nullptr;
}

// maxPoolGrad(x, dy, dx, [geometry...])
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* x = a.f32(0);
  float* dy = a.f32(1);
  float* dx = a.f32(2);
  int64_t p[15];
  ConvGeometry g;
  if (!checked_geometry(
          a, 3, p, 15, "maxPoolGrad",
          {{0, Extent::kInput, "x"}, {1, Extent::kOutput, "dy"}, {2, Extent::kInput, "dx"}}, &g) ||
      !same_channels(a, g, "maxPoolGrad"))
    return nullptr;
  max_pool_grad(g, x, dy, dx);
  return nullptr;
}

// avgPoolGrad(dy, dx, [geometry...])
napi_value AvgPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* dy = a.f32(0);
  float* dx = a.f32(1);
  int64_t p[15];
  ConvGeometry g;
  if (!checked_geometry(a, 2, p, 15, "avgPoolGrad",
                        {{0, Extent::kOutput, "dy"}, {1, Extent::kInput, "dx"}}, &g) ||
      !same_channels(a, g, "avgPoolGrad"))
    return nullptr;
  avg_pool_grad(g, dy, dx);
  return nullptr;
}

}  // namespace convnets
