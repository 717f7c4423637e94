// N-API bindings. Every function takes float32 typed arrays (inputs, then the
// output, which it fills) and a plain array of integer parameters; nothing is
// allocated on the JavaScript heap here.
#define NAPI_VERSION 8
#include <node_api.h>

#include <algorithm>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#endif

#include "elementwise.h"
#include "isa.h"
#include "ops.h"
#include "thread_pool.h"

namespace {

using namespace convnets;

struct Args {
  napi_env env;
  napi_value argv[8];
  size_t argc = 8;
  bool failed = false;
  std::vector<int64_t> lengths = std::vector<int64_t>(8, -1);  // of the Float32Array arguments

  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }

  void fail(const std::string& message) {
    if (!failed) napi_throw_type_error(env, nullptr, message.c_str());
    failed = true;
  }

  // A Float32Array argument, or nullptr for null/undefined when optional.
  float* f32(size_t i, bool optional = false) {
    if (i >= argc) {
      if (!optional) fail("argument " + std::to_string(i) + " is missing");
      return nullptr;
    }
    napi_valuetype type;
    napi_typeof(env, argv[i], &type);
    if (optional && (type == napi_null || type == napi_undefined)) return nullptr;
    bool is_typed = false;
    napi_is_typedarray(env, argv[i], &is_typed);
    if (!is_typed) {
      fail("argument " + std::to_string(i) + " must be a Float32Array");
      return nullptr;
    }
    napi_typedarray_type kind;
    size_t length;
    void* data;
    napi_value buffer;
    size_t offset;
    napi_get_typedarray_info(env, argv[i], &kind, &length, &data, &buffer, &offset);
    if (kind != napi_float32_array) {
      fail("argument " + std::to_string(i) + " must be a Float32Array");
      return nullptr;
    }
    if (i < lengths.size()) lengths[i] = static_cast<int64_t>(length);
    // An empty array may have no storage (a null pointer); the kernels never
    // read it, but they may pass it to memcpy with a length of 0, which must
    // not get a null pointer.
    static float none = 0.f;
    return length == 0 || data == nullptr ? &none : static_cast<float*>(data);
  }

  // Fails unless Float32Array argument i (already read with f32) holds
  // exactly `want` floats: a kernel given a shorter buffer than its geometry
  // says would read or write past its end.
  bool expect_length(size_t i, int64_t want, const char* what) {
    if (failed) return false;
    const int64_t have = i < lengths.size() ? lengths[i] : -1;
    if (want < 0 || have != want) {
      fail(std::string(what) + " has " + std::to_string(have) + " values but the shape needs " +
           std::to_string(want));
      return false;
    }
    return true;
  }

  // An array of integers of any length.
  std::vector<int64_t> int_list(size_t i) {
    std::vector<int64_t> out;
    uint32_t length = 0;
    if (i >= argc || napi_get_array_length(env, argv[i], &length) != napi_ok) {
      fail("argument " + std::to_string(i) + " must be an array of integers");
      return out;
    }
    out.resize(length);
    for (uint32_t j = 0; j < length; ++j) {
      napi_value v;
      double d = 0;
      napi_get_element(env, argv[i], j, &v);
      napi_get_value_double(env, v, &d);
      out[j] = static_cast<int64_t>(d);
    }
    return out;
  }

  double number(size_t i) {
    double d = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &d) != napi_ok)
      fail("argument " + std::to_string(i) + " must be a number");
    return d;
  }

  // The integer parameters in the array argument i.
  bool ints(size_t i, int64_t* out, uint32_t count) {
    if (i >= argc) {
      fail("the parameter array is missing");
      return false;
    }
    uint32_t length = 0;
    if (napi_get_array_length(env, argv[i], &length) != napi_ok || length != count) {
      fail("expected " + std::to_string(count) + " integer parameters");
      return false;
    }
    for (uint32_t j = 0; j < count; ++j) {
      napi_value v;
      double d;
      napi_get_element(env, argv[i], j, &v);
      if (napi_get_value_double(env, v, &d) != napi_ok) {
        fail("parameter " + std::to_string(j) + " is not a number");
        return false;
      }
      out[j] = static_cast<int64_t>(d);
    }
    return true;
  }
};

ConvGeometry geometry(const int64_t* p) {
  return ConvGeometry{p[0], p[1], p[2],  p[3],  p[4],  p[5],  p[6], p[7],
                      p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
}

// Whether a convolution or pooling geometry is one the kernels handle: no
// negative sizes, strides and dilations at least 1. Fails with a message
// naming the first bad value otherwise.
bool valid_geometry(Args& a, const ConvGeometry& g, const char* kernel) {
  const struct {
    const char* name;
    int64_t value;
    int64_t min;
  } checks[] = {{"batch", g.batch, 0},           {"input height", g.in_h, 0},
                {"input width", g.in_w, 0},      {"input channels", g.in_c, 0},
                {"filter height", g.k_h, 0},     {"filter width", g.k_w, 0},
                {"output channels", g.out_c, 0}, {"output height", g.out_h, 0},
                {"output width", g.out_w, 0},    {"stride height", g.stride_h, 1},
                {"stride width", g.stride_w, 1}, {"dilation height", g.dilation_h, 1},
                {"dilation width", g.dilation_w, 1}};
  for (const auto& c : checks) {
    if (c.value < c.min) {
      a.fail(std::string(kernel) + ": " + c.name + " is " + std::to_string(c.value) +
             ", expected at least " + std::to_string(c.min));
      return false;
    }
  }
  return true;
}

int64_t input_size(const ConvGeometry& g) { return g.batch * g.in_h * g.in_w * g.in_c; }
int64_t output_size(const ConvGeometry& g) { return g.batch * g.out_h * g.out_w * g.out_c; }
int64_t filter_size(const ConvGeometry& g) { return g.k_h * g.k_w * g.in_c * g.out_c; }

// conv2d(x, filter, bias | null, y, [geometry..., activation])
napi_value Conv2d(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t p[16];
  float* x = a.f32(0);
  float* filter = a.f32(1);
  float* bias = a.f32(2, true);
  float* y = a.f32(3);
  if (a.failed || !a.ints(4, p, 16)) return nullptr;
  const ConvGeometry g = geometry(p);
  if (!valid_geometry(a, g, "conv2d") || !a.expect_length(0, input_size(g), "conv2d: x") ||
      !a.expect_length(1, filter_size(g), "conv2d: filter") ||
      (bias && !a.expect_length(2, g.out_c, "conv2d: bias")) ||
      !a.expect_length(3, output_size(g), "conv2d: y"))
    return nullptr;
  conv2d(g, x, filter, bias, static_cast<Activation>(p[15]), y);
  return nullptr;
}

// conv2dBackpropInput(dy, filter, dx, [geometry...])
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t p[15];
  float* dy = a.f32(0);
  float* filter = a.f32(1);
  float* dx = a.f32(2);
  if (a.failed || !a.ints(3, p, 15)) return nullptr;
  const ConvGeometry g = geometry(p);
  if (!valid_geometry(a, g, "conv2dBackpropInput") ||
      !a.expect_length(0, output_size(g), "conv2dBackpropInput: dy") ||
      !a.expect_length(1, filter_size(g), "conv2dBackpropInput: filter") ||
      !a.expect_length(2, input_size(g), "conv2dBackpropInput: dx"))
    return nullptr;
  conv2d_backprop_input(g, dy, filter, dx);
  return nullptr;
}

// conv2dBackpropFilter(x, dy, dfilter, [geometry...])
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t p[15];
  float* x = a.f32(0);
  float* dy = a.f32(1);
  float* df = a.f32(2);
  if (a.failed || !a.ints(3, p, 15)) return nullptr;
  const ConvGeometry g = geometry(p);
  if (!valid_geometry(a, g, "conv2dBackpropFilter") ||
      !a.expect_length(0, input_size(g), "conv2dBackpropFilter: x") ||
      !a.expect_length(1, output_size(g), "conv2dBackpropFilter: dy") ||
      !a.expect_length(2, filter_size(g), "conv2dBackpropFilter: dfilter"))
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


// binary(op, a, b, out, shape, aStrides, bStrides)
napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const int op = static_cast<int>(a.number(0));
  float* x = a.f32(1);
  float* y = a.f32(2);
  float* out = a.f32(3);
  auto shape = a.int_list(4), sa = a.int_list(5), sb = a.int_list(6);
  if (a.failed) return nullptr;
  if (shape.size() > static_cast<size_t>(kMaxRank) || sa.size() != shape.size() ||
      sb.size() != shape.size()) {
    a.fail("binary: shape and strides must have the same rank, at most 8");
    return nullptr;
  }
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
  if (shape.size() > static_cast<size_t>(kMaxRank) || reps.size() != shape.size()) {
    a.fail("tile: shape and reps must have the same rank, at most 8");
    return nullptr;
  }
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
  if (shape.size() > static_cast<size_t>(kMaxRank) || begin.size() != shape.size() ||
      size.size() != shape.size()) {
    a.fail("slice: shape, begin and size must have the same rank, at most 8");
    return nullptr;
  }
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
  if (shape.size() > static_cast<size_t>(kMaxRank) || before.size() != shape.size() ||
      after.size() != shape.size()) {
    a.fail("pad: shape and paddings must have the same rank, at most 8");
    return nullptr;
  }
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


// pool(kind, x, y, [geometry...]) with kind 0 = max, 1 = average
napi_value Pool(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const int kind = static_cast<int>(a.number(0));
  float* x = a.f32(1);
  float* y = a.f32(2);
  int64_t p[15];
  if (a.failed || !a.ints(3, p, 15)) return nullptr;
  const ConvGeometry g = geometry(p);
  if (!valid_geometry(a, g, "pool") || !a.expect_length(1, input_size(g), "pool: x") ||
      !a.expect_length(2, output_size(g), "pool: y"))
    return nullptr;
  if (g.in_c != g.out_c) {
    a.fail("pool: input and output channels differ");
    return nullptr;
  }
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
  if (a.failed || !a.ints(3, p, 15)) return nullptr;
  const ConvGeometry g = geometry(p);
  if (!valid_geometry(a, g, "maxPoolGrad") ||
      !a.expect_length(0, input_size(g), "maxPoolGrad: x") ||
      !a.expect_length(1, output_size(g), "maxPoolGrad: dy") ||
      !a.expect_length(2, input_size(g), "maxPoolGrad: dx"))
    return nullptr;
  if (g.in_c != g.out_c) {
    a.fail("maxPoolGrad: input and output channels differ");
    return nullptr;
  }
  max_pool_grad(g, x, dy, dx);
  return nullptr;
}

// avgPoolGrad(dy, dx, [geometry...])
napi_value AvgPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* dy = a.f32(0);
  float* dx = a.f32(1);
  int64_t p[15];
  if (a.failed || !a.ints(2, p, 15)) return nullptr;
  const ConvGeometry g = geometry(p);
  if (!valid_geometry(a, g, "avgPoolGrad") ||
      !a.expect_length(0, output_size(g), "avgPoolGrad: dy") ||
      !a.expect_length(1, input_size(g), "avgPoolGrad: dx"))
    return nullptr;
  if (g.in_c != g.out_c) {
    a.fail("avgPoolGrad: input and output channels differ");
    return nullptr;
  }
  avg_pool_grad(g, dy, dx);
  return nullptr;
}

// info() → { isa, threads }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value result, isa_name, threads;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, isa().name, NAPI_AUTO_LENGTH, &isa_name);
  napi_create_int32(env, pool().size(), &threads);
  napi_set_named_property(env, result, "isa", isa_name);
  napi_set_named_property(env, result, "threads", threads);
  return result;
}

// discard(array): hands the physical pages of a typed array's whole buffer,
// which no one will read again, back to the system now rather than when the
// garbage collector gets to it. Only whole pages inside the buffer are
// discarded; on Linux they read as zeros if touched again (MADV_DONTNEED on
// private memory), so a mistaken later read sees zeros, never freed memory.
// Returns the bytes discarded (0 where the platform offers no such call).
napi_value Discard(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  double discarded = 0;
#if defined(__linux__)
  napi_typedarray_type type;
  size_t length, offset;
  void* data;
  napi_value arraybuffer;
  void* base;
  size_t bytes;
  if (argc == 1 &&
      napi_get_typedarray_info(env, arg, &type, &length, &data, &arraybuffer, &offset) ==
          napi_ok &&
      napi_get_arraybuffer_info(env, arraybuffer, &base, &bytes) == napi_ok && base != nullptr) {
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(base) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(base) + bytes) & ~(page - 1);
    if (end > begin && madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) == 0) {
      discarded = static_cast<double>(end - begin);
    }
  }
#endif
  napi_value result;
  napi_create_double(env, discarded, &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr,
       napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr,
       napi_default, nullptr},
      {"matMul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"tile", nullptr, Tile, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"slice", nullptr, Slice, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pad", nullptr, Pad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addN", nullptr, AddN, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pool", nullptr, Pool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPoolGrad", nullptr, AvgPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"discard", nullptr, Discard, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
