// Memory-bound kernels: broadcasting binary ops, unary ops, reductions over a
// contiguous range of axes, tile, slice, pad, batch normalisation and AddN.
// Shapes are passed with their rank (at most kMaxRank). Every kernel writes its
// whole output, which arrives uninitialised (recycled from earlier tensors).
#pragma once

#include <cstdint>

namespace convnets {

constexpr int kMaxRank = 8;

enum class BinaryOp { kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kSquaredDifference };
enum class UnaryOp { kRelu = 0, kStep, kSquare, kNeg, kSqrt, kRsqrt, kExp, kLog, kAbs, kReciprocal, kRelu6 };

// out[i] = a[i·sa] op b[i·sb] with per-axis element strides (0 = broadcast).
void binary(BinaryOp op, int rank, const int64_t* shape, const float* a, const int64_t* a_strides,
            const float* b, const int64_t* b_strides, float* out);
void unary(UnaryOp op, int64_t n, const float* x, float alpha, float* out);
// out[o, i] = scale · Σ_r x[o, r, i], summed in double precision in a fixed order.
void reduce_sum(int64_t outer, int64_t reduce, int64_t inner, const float* x, double scale, float* out);
void tile(int rank, const int64_t* in_shape, const int64_t* reps, const float* x, float* out);
void slice(int rank, const int64_t* in_shape, const int64_t* begin, const int64_t* size, const float* x,
           float* out);
void pad(int rank, const int64_t* in_shape, const int64_t* before, const int64_t* after, float value,
         const float* x, float* out);
// y = (x - mean) · scale / sqrt(variance + epsilon) + offset over rows of `channels`;
// each parameter has `channels` values or 1 (broadcast); scale/offset may be null.
void batch_norm(int64_t rows, int64_t channels, const float* x, const float* mean, int64_t mean_n,
                const float* variance, int64_t variance_n, const float* offset, int64_t offset_n,
                const float* scale, int64_t scale_n, float epsilon, float* out);
void add_n(int count, const float* const* inputs, int64_t n, float* out);

}  // namespace convnets
