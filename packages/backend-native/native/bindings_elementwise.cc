// N-API bindings of the elementwise, reduction and reshaping kernels
// (elementwise.h).
#include <initializer_list>
#include <vector>

#include "bindings.h"
#include "elementwise.h"

namespace convnets {
namespace {

// Fails with `message` unless `shape` has at most kMaxRank dimensions and
// each of `others` (strides, begins, sizes, paddings) as many entries.
bool same_rank(Args& a, const std::vector<int64_t>& shape,
               std::initializer_list<const std::vector<int64_t>*> others, const char* message) {
  bool ok = shape.size() <= static_cast<size_t>(kMaxRank);
  for (const auto* other : others) ok = ok && other->size() == shape.size();
  if (!ok) a.fail(message);
  return ok;
}

}  // namespace

// binary(op, a, b, out, shape, aStrides, bStrides)
napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const int op = static_cast<int>(a.number(0));
  float* x = a.f32(1);
  float* y = a.f32(2);
  float* out = a.f32(3);
  auto shape = a.int_list(4), sa = a.int_list(5), sb = a.int_list(6);
  if (a.failed) return nullptr;
  if (!same_rank(a, shape, {&sa, &sb},
                 "binary: shape and strides must have the same rank, at most 8"))
    return nullptr;
  binary(static_cast<BinaryOp>(op), static_cast<int>(shape.size()), shape.data(), x, sa.data(), y,
         sb.data(), out);
  return nullptr;
}

// unary(op, x, out, alpha)
napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const int op = static_cast<int>(a.number(0));
  float* x = a.f32(1);
  float* out = a.f32(2);
  const double alpha = a.number(3);
  if (a.failed) return nullptr;
  size_t n = 0;
  napi_typedarray_type kind;
  void* data;
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(env, a.argv[1], &kind, &n, &data, &buffer, &offset);
  unary(static_cast<UnaryOp>(op), static_cast<int64_t>(n), x, static_cast<float>(alpha), out);
  return nullptr;
}

// reduceSum(x, out, [outer, reduce, inner], scale)
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* x = a.f32(0);
  float* out = a.f32(1);
  int64_t p[3];
  if (a.failed || !a.ints(2, p, 3)) return nullptr;
  const double scale = a.number(3);
  if (a.failed) return nullptr;
  reduce_sum(p[0], p[1], p[2], x, scale, out);
  return nullptr;
}

// tile(x, out, inShape, reps)
napi_value Tile(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* x = a.f32(0);
  float* out = a.f32(1);
  auto shape = a.int_list(2), reps = a.int_list(3);
  if (a.failed) return nullptr;
  if (!same_rank(a, shape, {&reps}, "tile: shape and reps must have the same rank, at most 8"))
    return nullptr;
  tile(static_cast<int>(shape.size()), shape.data(), reps.data(), x, out);
  return nullptr;
}

// slice(x, out, inShape, begin, size)
napi_value Slice(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* x = a.f32(0);
  float* out = a.f32(1);
  auto shape = a.int_list(2), begin = a.int_list(3), size = a.int_list(4);
  if (a.failed) return nullptr;
  if (!same_rank(a, shape, {&begin, &size},
                 "slice: shape, begin and size must have the same rank, at most 8"))
    return nullptr;
  slice(static_cast<int>(shape.size()), shape.data(), begin.data(), size.data(), x, out);
  return nullptr;
}

// pad(x, out, inShape, before, after, value)
napi_value Pad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* x = a.f32(0);
  float* out = a.f32(1);
  auto shape = a.int_list(2), before = a.int_list(3), after = a.int_list(4);
  const double value = a.number(5);
  if (a.failed) return nullptr;
  if (!same_rank(a, shape, {&before, &after},
                 "pad: shape and paddings must have the same rank, at most 8"))
    return nullptr;
  pad(static_cast<int>(shape.size()), shape.data(), before.data(), after.data(),
      static_cast<float>(value), x, out);
  return nullptr;
}

// batchNorm(x, mean, variance, offset | null, scale | null, out, [rows, channels, meanN, varianceN, offsetN, scaleN], epsilon)
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* x = a.f32(0);
  float* mean = a.f32(1);
  float* variance = a.f32(2);
  float* offset = a.f32(3, true);
  float* scale = a.f32(4, true);
  float* out = a.f32(5);
  int64_t p[6];
  if (a.failed || !a.ints(6, p, 6)) return nullptr;
  const double eps = a.number(7);
  if (a.failed) return nullptr;
  batch_norm(p[0], p[1], x, mean, p[2], variance, p[3], offset, p[4], scale, p[5],
             static_cast<float>(eps), out);
  return nullptr;
}

// addN([inputs...], out, n)
napi_value AddN(napi_env env, napi_callback_info info) {
  Args a(env, info);
  uint32_t count = 0;
  if (a.argc < 3 || napi_get_array_length(env, a.argv[0], &count) != napi_ok || count == 0) {
    a.fail("addN: expected a non-empty array of Float32Arrays");
    return nullptr;
  }
  std::vector<const float*> inputs(count);
  for (uint32_t j = 0; j < count; ++j) {
    napi_value v;
    napi_get_element(env, a.argv[0], j, &v);
    bool is_typed = false;
    napi_is_typedarray(env, v, &is_typed);
    napi_typedarray_type kind = napi_int8_array;
    size_t length;
    void* data = nullptr;
    napi_value buffer;
    size_t offset;
    if (is_typed) napi_get_typedarray_info(env, v, &kind, &length, &data, &buffer, &offset);
    if (kind != napi_float32_array) {
      a.fail("addN: every input must be a Float32Array");
      return nullptr;
    }
    inputs[j] = static_cast<const float*>(data);
  }
  float* out = a.f32(1);
  const double n = a.number(2);
  if (a.failed) return nullptr;
  add_n(static_cast<int>(count), inputs.data(), static_cast<int64_t>(n), out);
  return nullptr;
}

}  // namespace convnets
