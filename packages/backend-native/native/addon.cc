// The addon's entry point: registers the kernel bindings (bindings.h) and
// the two functions that call no kernel, info() and discard().
#define NAPI_VERSION 8
#include <node_api.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#endif

#include "bindings.h"
#include "isa.h"
#include "thread_pool.h"

namespace {

using namespace convnets;

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
