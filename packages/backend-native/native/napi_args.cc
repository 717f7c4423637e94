// The argument readers and geometry checks of napi_args.h.
#include "napi_args.h"

namespace convnets {

Args::Args(napi_env e, napi_callback_info info) : env(e) {
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
}

void Args::fail(const std::string& message) {
  if (!failed) napi_throw_type_error(env, nullptr, message.c_str());
  failed = true;
}

float* Args::f32(size_t i, bool optional) {
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

bool Args::expect_length(size_t i, int64_t want, const char* what) {
  if (failed) return false;
  const int64_t have = i < lengths.size() ? lengths[i] : -1;
  if (want < 0 || have != want) {
    fail(std::string(what) + " has " + std::to_string(have) + " values but the shape needs " +
         std::to_string(want));
    return false;
  }
  return true;
}

std::vector<int64_t> Args::int_list(size_t i) {
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

double Args::number(size_t i) {
  double d = 0;
  if (i >= argc || napi_get_value_double(env, argv[i], &d) != napi_ok)
    fail("argument " + std::to_string(i) + " must be a number");
  return d;
}

bool Args::ints(size_t i, int64_t* out, uint32_t count) {
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

ConvGeometry geometry(const int64_t* p) {
  return ConvGeometry{p[0], p[1], p[2],  p[3],  p[4],  p[5],  p[6], p[7],
                      p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
}

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

namespace {

int64_t extent_size(const ConvGeometry& g, Extent e) {
  switch (e) {
    case Extent::kInput:
      return input_size(g);
    case Extent::kOutput:
      return output_size(g);
    case Extent::kFilter:
      return filter_size(g);
    case Extent::kOutChannels:
      return g.out_c;
  }
  return -1;
}

}  // namespace

bool checked_geometry(Args& a, size_t i, int64_t* p, uint32_t count, const char* kernel,
                      std::initializer_list<Expect> expects, ConvGeometry* g) {
  if (a.failed || !a.ints(i, p, count)) return false;
  *g = geometry(p);
  if (!valid_geometry(a, *g, kernel)) return false;
  for (const Expect& e : expects) {
    if (!e.check) continue;
    const std::string what = std::string(kernel) + ": " + e.name;
    if (!a.expect_length(e.arg, extent_size(*g, e.extent), what.c_str())) return false;
  }
  return true;
}

}  // namespace convnets
