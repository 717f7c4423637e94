// N-API argument reading and checking shared by the bindings: Float32Array
// and integer-array arguments, with a TypeError naming the first bad one.
#pragma once

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ops.h"

namespace convnets {

// A call's arguments. Each reader fails (throws a TypeError in JavaScript,
// once) on a bad argument; check `failed` before using what they return.
struct Args {
  napi_env env;
  napi_value argv[8];
  size_t argc = 8;
  bool failed = false;
  std::vector<int64_t> lengths = std::vector<int64_t>(8, -1);  // of the Float32Array arguments

  Args(napi_env e, napi_callback_info info);

  void fail(const std::string& message);

  // A Float32Array argument, or nullptr for null/undefined when optional.
  float* f32(size_t i, bool optional = false);

  // Fails unless Float32Array argument i (already read with f32) holds
  // exactly `want` floats: a kernel given a shorter buffer than its geometry
  // says would read or write past its end.
  bool expect_length(size_t i, int64_t want, const char* what);

  // An array of integers of any length.
  std::vector<int64_t> int_list(size_t i);

  double number(size_t i);

  // The integer parameters in the array argument i.
  bool ints(size_t i, int64_t* out, uint32_t count);
};

// The geometry in a parameter array's first 15 entries.
ConvGeometry geometry(const int64_t* p);

// Whether a convolution or pooling geometry is one the kernels handle: no
// negative sizes, strides and dilations at least 1. Fails with a message
// naming the first bad value otherwise.
bool valid_geometry(Args& a, const ConvGeometry& g, const char* kernel);

// Floats in the input, output and filter of a geometry.
int64_t input_size(const ConvGeometry& g);
int64_t output_size(const ConvGeometry& g);
int64_t filter_size(const ConvGeometry& g);

// What a Float32Array argument holds: a geometry's input, output, filter or bias.
enum class Extent { kInput, kOutput, kFilter, kOutChannels };

// A Float32Array argument whose length a geometry fixes (unless `check` is
// false: an absent optional argument).
struct Expect {
  size_t arg;
  Extent extent;
  const char* name;
  bool check = true;
};

// Reads the integer parameters (`count` of them, the geometry first) from
// argument i into p and the geometry into *g, then checks the geometry and,
// in order, the length of each expected array. Fails (naming `kernel`, and
// the array as "kernel: name") at the first problem, or at once when an
// argument read before already failed.
bool checked_geometry(Args& a, size_t i, int64_t* p, uint32_t count, const char* kernel,
                      std::initializer_list<Expect> expects, ConvGeometry* g);

}  // namespace convnets
