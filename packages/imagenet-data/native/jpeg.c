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
#include <node_api.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

// Pillow's Resample.c: coefficients are fixed point with 22 fraction bits.
#define PRECISION_BITS (32 - 8 - 2)
#define PARAM_COUNT 12

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} ErrorManager;

static void on_error(j_common_ptr cinfo) {
  ErrorManager *err = (ErrorManager *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

// Warnings pass (as with libvips' fail_on=truncated), except the end of the
// data arriving early: a truncated file fails.
static void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    ErrorManager *err = (ErrorManager *)cinfo->err;
    snprintf(err->message, sizeof err->message,
             "the JPEG data ends early (truncated file)");
    longjmp(err->jump, 1);
  }
}

// One axis of a resize: for each wanted output index, the first input index
// and the fixed-point weights of the inputs it reads.
typedef struct {
  int *first;   // [count]
  int *length;  // [count]
  int32_t *weights;  // [count * ksize]
  int ksize;
  int lo, hi;   // input indices read: [lo, hi)
} Axis;

static double bilinear(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow's precompute_coeffs and normalize_coeffs_8bpc for the bilinear
// filter over input [0, in_size) resized to out_size, restricted to output
// indices [from, from + count).
static int axis_init(Axis *a, int in_size, int out_size, int from, int count) {
  double scale = (double)in_size / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * filterscale;
  double ss = 1.0 / filterscale;
  a->ksize = (int)ceil(support) * 2 + 1;
  a->first = malloc(sizeof(int) * count);
  a->length = malloc(sizeof(int) * count);
  a->weights = malloc(sizeof(int32_t) * (size_t)count * a->ksize);
  double *k = malloc(sizeof(double) * a->ksize);
  if (!a->first || !a->length || !a->weights || !k) {
    free(k);
    return 0;
  }
  a->lo = in_size;
  a->hi = 0;
  for (int i = 0; i < count; i++) {
    double center = (from + i + 0.5) * scale;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; x++) {
      k[x] = bilinear((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    int32_t *w = a->weights + (size_t)i * a->ksize;
    for (int x = 0; x < a->ksize; x++) {
      double v = x < xmax && ww != 0.0 ? k[x] / ww : 0.0;
      w[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                   : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
    }
    a->first[i] = xmin;
    a->length[i] = xmax;
    if (xmin < a->lo) a->lo = xmin;
    if (xmin + xmax > a->hi) a->hi = xmin + xmax;
  }
  free(k);
  return 1;
}

static void axis_free(Axis *a) {
  free(a->first);
  free(a->length);
  free(a->weights);
}

static inline uint8_t clip8(int32_t v) {
  if (v >= (1 << PRECISION_BITS << 8)) return 255;
  if (v <= 0) return 0;
  return (uint8_t)(v >> PRECISION_BITS);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref, output_ref;
  const uint8_t *input;
  size_t input_length;
  uint8_t *output;
  size_t output_length;
  double params[PARAM_COUNT];
  // Allocations of render(), here so that they survive its longjmp.
  Axis ax, ay;
  uint8_t *rows, *temp;
  int status;  // 0 written, 1 not for this path, 2 error
  char message[JMSG_LENGTH_MAX + 64];
} Job;

static void fail(Job *job, const char *message) {
  job->status = 2;
  snprintf(job->message, sizeof job->message, "%s", message);
}

// Rows and columns decoded beyond the ones the filters read, so that the
// edges of a partial decode (chroma upsampling across an iMCU boundary)
// never touch a value that is used.
#define MARGIN 16

static void render(Job *job) {
  const double *p = job->params;
  double limit = p[0];
  int pre_left = (int)p[1], pre_top = (int)p[2], pre_w = (int)p[3], pre_h = (int)p[4];
  int rw = (int)p[5], rh = (int)p[6];
  int post_left = (int)p[7], post_top = (int)p[8], post_w = (int)p[9], post_h = (int)p[10];
  int flip = p[11] != 0;

  struct jpeg_decompress_struct cinfo;
  ErrorManager err;
  Axis *ax = &job->ax, *ay = &job->ay;
  volatile int created = 0;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  if (setjmp(err.jump)) {
    fail(job, err.message);
    goto done;
  }
  jpeg_create_decompress(&cinfo);
  created = 1;
  jpeg_mem_src(&cinfo, job->input, (unsigned long)job->input_length);
  jpeg_read_header(&cinfo, TRUE);
  J_COLOR_SPACE space = cinfo.jpeg_color_space;
  if (!((space == JCS_YCbCr && cinfo.num_components == 3) ||
        (space == JCS_RGB && cinfo.num_components == 3) ||
        (space == JCS_GRAYSCALE && cinfo.num_components == 1))) {
    job->status = 1;
    goto done;
  }
  int width = (int)cinfo.image_width, height = (int)cinfo.image_height;
  if ((double)width * height > limit) {
    snprintf(job->message, sizeof job->message,
             "%d×%d = %.0f pixels exceeds limitInputPixels (%.0f)", width, height,
             (double)width * height, limit);
    job->status = 2;
    goto done;
  }
  if (pre_left < 0 || pre_top < 0 || pre_w < 1 || pre_h < 1 || pre_left + pre_w > width ||
      pre_top + pre_h > height || rw < 1 || rh < 1 || post_left < 0 || post_top < 0 ||
      post_w < 1 || post_h < 1 || post_left + post_w > rw || post_top + post_h > rh ||
      (size_t)post_w * post_h * 3 != job->output_length) {
    fail(job, "the view's geometry does not fit the image (an internal error)");
    goto done;
  }
  if (!axis_init(ax, pre_w, rw, post_left, post_w) ||
      !axis_init(ay, pre_h, rh, post_top, post_h)) {
    fail(job, "out of memory");
    goto done;
  }
  // Source rows and columns the filters read, in image coordinates.
  int x_lo = pre_left + ax->lo, x_hi = pre_left + ax->hi;
  int y_lo = pre_top + ay->lo, y_hi = pre_top + ay->hi;
  int cx0 = x_lo - MARGIN < 0 ? 0 : x_lo - MARGIN;
  int cx1 = x_hi + MARGIN > width ? width : x_hi + MARGIN;
  int ry0 = y_lo - MARGIN < 0 ? 0 : y_lo - MARGIN;

  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  JDIMENSION xoffset = (JDIMENSION)cx0, cwidth = (JDIMENSION)(cx1 - cx0);
  if (cwidth < (JDIMENSION)width) jpeg_crop_scanline(&cinfo, &xoffset, &cwidth);
  else xoffset = 0;
  size_t stride = (size_t)cinfo.output_width * 3;
  int nrows = y_hi - y_lo;
  job->rows = malloc(stride * (size_t)(y_hi - ry0));
  job->temp = malloc((size_t)nrows * post_w * 3);
  if (!job->rows || !job->temp) {
    fail(job, "out of memory");
    goto done;
  }
  if (ry0 > 0) jpeg_skip_scanlines(&cinfo, (JDIMENSION)ry0);
  while ((int)cinfo.output_scanline < y_hi) {
    JSAMPROW row = job->rows + (size_t)((int)cinfo.output_scanline - ry0) * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  // Horizontal pass over the rows read, then vertical, as Pillow orders them.
  int shift = pre_left - (int)xoffset;
  for (int y = 0; y < nrows; y++) {
    const uint8_t *src = job->rows + (size_t)(y + y_lo - ry0) * stride;
    uint8_t *dst = job->temp + (size_t)y * post_w * 3;
    for (int i = 0; i < post_w; i++) {
      const int32_t *k = ax->weights + (size_t)i * ax->ksize;
      const uint8_t *s = src + (size_t)(ax->first[i] + shift) * 3;
      int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < ax->length[i]; x++) {
        s0 += s[3 * x] * k[x];
        s1 += s[3 * x + 1] * k[x];
        s2 += s[3 * x + 2] * k[x];
      }
      dst[3 * i] = clip8(s0);
      dst[3 * i + 1] = clip8(s1);
      dst[3 * i + 2] = clip8(s2);
    }
  }
  for (int j = 0; j < post_h; j++) {
    const int32_t *k = ay->weights + (size_t)j * ay->ksize;
    const uint8_t *src = job->temp + (size_t)(ay->first[j] - ay->lo) * post_w * 3;
    uint8_t *dst = job->output + (size_t)j * post_w * 3;
    for (int i = 0; i < post_w; i++) {
      int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
      for (int y = 0; y < ay->length[j]; y++) {
        const uint8_t *s = src + ((size_t)y * post_w + i) * 3;
        s0 += s[0] * k[y];
        s1 += s[1] * k[y];
        s2 += s[2] * k[y];
      }
      int o = flip ? post_w - 1 - i : i;
      dst[3 * o] = clip8(s0);
      dst[3 * o + 1] = clip8(s1);
      dst[3 * o + 2] = clip8(s2);
    }
  }
  job->status = 0;
done:
  // Stop here: the rows below the view are never decoded.
  if (created) jpeg_destroy_decompress(&cinfo);
  free(job->rows);
  free(job->temp);
  axis_free(ax);
  axis_free(ay);
}

static void execute(napi_env env, void *data) {
  (void)env;
  render((Job *)data);
}

static void complete(napi_env env, napi_status status, void *data) {
  Job *job = (Job *)data;
  napi_value result;
  if (status == napi_ok && job->status != 2) {
    napi_create_int32(env, job->status, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message;
    napi_create_string_utf8(env, status == napi_ok ? job->message : "the decode was cancelled",
                            NAPI_AUTO_LENGTH, &message);
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

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
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
  uint32_t count = 0;
  bool is_array;
  napi_is_array(env, argv[2], &is_array);
  if (is_array) napi_get_array_length(env, argv[2], &count);
  if (count != PARAM_COUNT) return throw_type(env, "renderJpeg: params must be 12 numbers");
  Job *job = calloc(1, sizeof(Job));
  if (!job) {
    napi_throw_error(env, NULL, "renderJpeg: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < PARAM_COUNT; i++) {
    napi_value v;
    napi_get_element(env, argv[2], i, &v);
    if (napi_get_value_double(env, v, &job->params[i]) != napi_ok) {
      free(job);
      return throw_type(env, "renderJpeg: params must be 12 numbers");
    }
  }
  job->input = input;
  job->input_length = input_length;
  job->output = output;
  job->output_length = output_length;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_reference(env, argv[0], 1, &job->input_ref);
  napi_create_reference(env, argv[1], 1, &job->output_ref);
  napi_create_string_utf8(env, "convnets:renderJpeg", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
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
  napi_create_function(env, "info", NAPI_AUTO_LENGTH, Info, NULL, &fn);
  napi_set_named_property(env, exports, "info", fn);
  return exports;
}
