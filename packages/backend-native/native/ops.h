// The kernels the addon exports. Tensors are float32, NHWC, filters HWIO
// ([kh, kw, in, out]) as in TensorFlow.js. Every kernel writes its whole output:
// output buffers arrive uninitialised (recycled from earlier tensors).
#pragma once

#include <cstdint>

namespace convnets {

struct ConvGeometry {
  int64_t batch, in_h, in_w, in_c;
  int64_t k_h, k_w, out_c;
  int64_t out_h, out_w;
  int64_t stride_h, stride_w, dilation_h, dilation_w;
  int64_t pad_top, pad_left;
};

enum class Activation { kLinear = 0, kRelu = 1 };

void conv2d(const ConvGeometry& g, const float* x, const float* filter, const float* bias,
            Activation act, float* y);
void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* filter, float* dx);
void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dfilter);

struct MatMulShape {
  int64_t batch_a, batch_b, m, n, k;
  bool transpose_a, transpose_b;
};

// C[b] = op(A[b]) · op(B[b]) (+ bias, activation); a batch of 1 broadcasts.
void matmul(const MatMulShape& s, const float* a, const float* b, const float* bias,
            int64_t bias_len, Activation act, float* c);

}  // namespace convnets

namespace convnets {

// 2-D pooling over NHWC with g.in_c == g.out_c; padding is excluded from
// both the max and the average (whose divisor is the in-bounds count).
void max_pool(const ConvGeometry& g, const float* x, float* y);
void avg_pool(const ConvGeometry& g, const float* x, float* y);
// dx gets dy at the first maximum of each window (the cpu kernel's choice).
void max_pool_grad(const ConvGeometry& g, const float* x, const float* dy, float* dx);
// dx gets dy / (k_h · k_w) at every in-bounds position of each window, as tfjs does.
void avg_pool_grad(const ConvGeometry& g, const float* dy, float* dx);

}  // namespace convnets
