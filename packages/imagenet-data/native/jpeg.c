// The JPEG fast path of @convnets/imagenet-data: decodes only the part of a
// JPEG that one view needs (libjpeg-turbo's jpeg_crop_scanline and
// jpeg_skip_scanlines, then stops) and resamples it with Pillow's
// antialiased bilinear filter in Pillow's fixed-point arithmetic, so that a
// view equals torchvision's resize-then-crop on the same file exactly.
//
// renderJpeg(input, output, params) returns a promise, runs on libuv's
// thread pool, and resolves with 0 (output written) or 1 (not a JPEG this
// path decodes: CMYK, YCCK or other component counts; the caller uses
// sharp). It rejects with the decoder's message for a damaged file.
// params: [limitPixels, preLeft, preTop, preWidth, preHeight, resizeWidth,
// resizeHeight, postLeft, postTop, postWidth, postHeight, flip].
//
// The addon's N-API glue: renderJpeg (its work in jpeg_decode.c and
// resample.c), normalize, readFile (jpeg_read.c) and info.
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "jpeg_decode.h"
#include "resample.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref, output_ref;
  View view;
} Job;

static void execute(napi_env env, void *data) {
  (void)env;
  render_view(&((Job *)data)->view);
}

static void complete(napi_env env, napi_status status, void *data) {
  Job *job = (Job *)data;
  napi_value result;
  if (status == napi_ok && job->view.status != 2) {
    napi_create_int32(env, job->view.status, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message;
    const char *text = status == napi_ok ? job->view.message : "the decode was cancelled";
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_reference(env, job->output_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static int bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *pointer;
  if (napi_get_typedarray_info(env, value, &type, length, &pointer, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return 0;
  *data = pointer;
  return 1;
}

napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

// Reads renderJpeg's params into `params`: a positive limit, then sizes
// and positions that are integers in [0, 2^30], so that no sum of two of
// them overflows an int. Throws and returns 0 otherwise.
static int read_params(napi_env env, napi_value array, double *params) {
  uint32_t count = 0;
  bool is_array;
  napi_is_array(env, array, &is_array);
  if (is_array) napi_get_array_length(env, array, &count);
  if (count != PARAM_COUNT) {
    throw_type(env, "renderJpeg: params must be 12 numbers");
    return 0;
  }
  for (uint32_t i = 0; i < PARAM_COUNT; i++) {
    napi_value v;
    double x;
    if (napi_get_element(env, array, i, &v) != napi_ok ||
        napi_get_value_double(env, v, &x) != napi_ok || !(x >= 0) ||
        (i == 0 ? !(x > 0) : x != floor(x) || x > (double)(1 << 30))) {
      bool pending;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return 0;
      napi_throw_range_error(env, NULL,
                             "renderJpeg: params must be a positive limit and 11 integers in "
                             "[0, 2^30]");
      return 0;
    }
    params[i] = x;
  }
  return 1;
}

static napi_value RenderJpeg(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_type(env, "renderJpeg(input, output, params) takes 3 arguments");
  uint8_t *input, *output;
  size_t input_length, output_length;
  if (!bytes_of(env, argv[0], &input, &input_length) ||
      !bytes_of(env, argv[1], &output, &output_length))
    return throw_type(env, "renderJpeg: input and output must be Uint8Arrays");
  double params[PARAM_COUNT];
  if (!read_params(env, argv[2], params)) return NULL;
  Job *job = calloc(1, sizeof(Job));
  if (!job) {
    napi_throw_error(env, NULL, "renderJpeg: out of memory");
    return NULL;
  }
  memcpy(job->view.params, params, sizeof params);
  job->view.input = input;
  job->view.input_length = input_length;
  job->view.output = output;
  job->view.output_length = output_length;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_reference(env, argv[0], 1, &job->input_ref);
  napi_create_reference(env, argv[1], 1, &job->output_ref);
  napi_create_string_utf8(env, "convnets:renderJpeg", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

// out[offset + i] = pixels[i] · a[i mod 3] + b[i mod 3], in double and then
// rounded to float32, as the JavaScript loop it replaces computes it.
CPU_CLONES static void affine(float *out, const uint8_t *pixels, size_t n, const double *a,
                              const double *b) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    out[i] = (float)(pixels[i] * a[0] + b[0]);
    out[i + 1] = (float)(pixels[i + 1] * a[1] + b[1]);
    out[i + 2] = (float)(pixels[i + 2] * a[2] + b[2]);
  }
  for (; i < n; i++) out[i] = (float)(pixels[i] * a[i % 3] + b[i % 3]);
}

// normalize(out: Float32Array, offset, pixels: Uint8Array, [a0, a1, a2, b0, b1, b2]):
// the per-channel normalisation of one view into a batch, synchronously.
static napi_value Normalize(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_typedarray_type type;
  size_t out_length, n;
  void *out, *pixels;
  double offset, coefficients[6];
  bool ok = argc == 4 &&
            napi_get_typedarray_info(env, argv[0], &type, &out_length, &out, NULL, NULL) ==
                napi_ok &&
            type == napi_float32_array &&
            napi_get_value_double(env, argv[1], &offset) == napi_ok &&
            napi_get_typedarray_info(env, argv[2], &type, &n, &pixels, NULL, NULL) == napi_ok &&
            type == napi_uint8_array;
  for (uint32_t i = 0; ok && i < 6; i++) {
    napi_value v;
    ok = napi_get_element(env, argv[3], i, &v) == napi_ok &&
         napi_get_value_double(env, v, &coefficients[i]) == napi_ok;
  }
  if (!ok || !(offset >= 0) || offset != floor(offset) || offset > (double)out_length ||
      n > out_length - (size_t)offset)
    return throw_type(env,
                      "normalize(out: Float32Array, offset, pixels: Uint8Array, 6 numbers): "
                      "bad arguments or the pixels do not fit at offset");
  affine((float *)out + (size_t)offset, pixels, n, coefficients, coefficients + 3);
  return NULL;
}

static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, version;
  napi_create_object(env, &result);
  char text[32];
  snprintf(text, sizeof text, "%d.%d.%d", LIBJPEG_TURBO_VERSION_NUMBER / 1000000,
           LIBJPEG_TURBO_VERSION_NUMBER / 1000 % 1000, LIBJPEG_TURBO_VERSION_NUMBER % 1000);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, result, "libjpegTurbo", version);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "renderJpeg", NAPI_AUTO_LENGTH, RenderJpeg, NULL, &fn);
  napi_set_named_property(env, exports, "renderJpeg", fn);
  napi_create_function(env, "normalize", NAPI_AUTO_LENGTH, Normalize, NULL, &fn);
  napi_set_named_property(env, exports, "normalize", fn);
  napi_create_function(env, "readFile", NAPI_AUTO_LENGTH, ReadFile, NULL, &fn);
  napi_set_named_property(env, exports, "readFile", fn);
  napi_create_function(env, "info", NAPI_AUTO_LENGTH, Info, NULL, &fn);
  napi_set_named_property(env, exports, "info", fn);
  return exports;
}
