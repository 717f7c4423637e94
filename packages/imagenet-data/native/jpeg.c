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
#define _GNU_SOURCE  // statx
#include <node_api.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
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
  char message[JMSG_LENGTH_MAX + 128];
} ErrorManager;

static void on_error(j_common_ptr cinfo) {
  ErrorManager *err = (ErrorManager *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

// Warnings pass (as with libvips' fail_on=truncated), except the end of the
// data arriving early: a truncated file fails. So does the 100th warning of
// one decode, as libvips (sharp) fails it whatever its fail_on, so that a
// file that sharp refuses (a progressive JPEG whose scans are repeated gives
// a warning per coefficient of each repeat) is refused here too.
#define MAX_WARNINGS 100
static void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  ErrorManager *err = (ErrorManager *)cinfo->err;
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    snprintf(err->message, sizeof err->message,
             "the JPEG data ends early (truncated file)");
    longjmp(err->jump, 1);
  }
  if (++cinfo->err->num_warnings >= MAX_WARNINGS) {
    char last[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, last);
    snprintf(err->message, sizeof err->message,
             "the JPEG decoder gave %d warnings, where sharp (libvips) refuses a file too; "
             "the last: %s",
             MAX_WARNINGS, last);
    longjmp(err->jump, 1);
  }
}

// libjpeg-turbo's scan limit (its TurboJPEG API and djpeg -maxscans): a
// progress monitor that fails once input_scan_number passes the limit, so
// that a small file with its scans repeated thousands of times (each scan a
// pass over every block) fails at once instead of decoding for seconds.
// 500 is TurboJPEG's limit; readHeader() refuses such files before either
// decoder sees them (see MAX_JPEG_SCANS in src/decode.ts), this is the same
// limit where libjpeg itself counts.
#define MAX_SCANS 500
static void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  int scans = ((j_decompress_ptr)cinfo)->input_scan_number;
  if (scans > MAX_SCANS) {
    ErrorManager *err = (ErrorManager *)cinfo->err;
    snprintf(err->message, sizeof err->message,
             "the JPEG has more than %d scans (libjpeg-turbo's scan limit)", MAX_SCANS);
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
  int32_t *sums;
  int status;  // 0 written, 1 not for this path, 2 error
  char message[JMSG_LENGTH_MAX + 128];
} Job;

static void fail(Job *job, const char *message) {
  job->status = 2;
  snprintf(job->message, sizeof job->message, "%s", message);
}

#define HALF (1 << (PRECISION_BITS - 1))

// Both passes are compiled twice, for AVX2 and for plain x86-64, and the
// loader picks the one the CPU runs (GCC's target_clones).
#if defined(__x86_64__) && defined(__GNUC__)
#define CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CPU_CLONES
#endif

// One row of the horizontal pass with K weights per output pixel; inlined
// with K a constant, the compiler unrolls the taps.
static inline __attribute__((always_inline)) void horizontal_row(
    const uint8_t *src, uint8_t *dst, int count, const int *first, const int32_t *weights,
    int ksize, const int K) {
  for (int i = 0; i < count; i++) {
    const int32_t *k = weights + (size_t)i * ksize;
    const uint8_t *s = src + (size_t)first[i] * 3;
    int32_t s0 = HALF, s1 = HALF, s2 = HALF;
    for (int x = 0; x < K; x++) {
      s0 += s[3 * x] * k[x];
      s1 += s[3 * x + 1] * k[x];
      s2 += s[3 * x + 2] * k[x];
    }
    dst[3 * i] = clip8(s0);
    dst[3 * i + 1] = clip8(s1);
    dst[3 * i + 2] = clip8(s2);
  }
}

// The loop over the rows around one of the row functions, with the common
// numbers of taps as constants so that each is unrolled.
#define DEFINE_HORIZONTAL_ROWS(name, row, attributes)                                         \
  attributes static void name(const uint8_t *rows, size_t stride, uint8_t *temp, int nrows,   \
                              int count, const Axis *a, int taps) {                           \
    for (int y = 0; y < nrows; y++) {                                                         \
      const uint8_t *src = rows + (size_t)y * stride;                                         \
      uint8_t *dst = temp + (size_t)y * count * 3;                                            \
      switch (taps) {                                                                         \
        case 2: row(src, dst, count, a->first, a->weights, a->ksize, 2); break;               \
        case 3: row(src, dst, count, a->first, a->weights, a->ksize, 3); break;               \
        case 4: row(src, dst, count, a->first, a->weights, a->ksize, 4); break;               \
        case 5: row(src, dst, count, a->first, a->weights, a->ksize, 5); break;               \
        case 6: row(src, dst, count, a->first, a->weights, a->ksize, 6); break;               \
        default: row(src, dst, count, a->first, a->weights, a->ksize, taps);                  \
      }                                                                                       \
    }                                                                                         \
  }

DEFINE_HORIZONTAL_ROWS(horizontal_rows_c, horizontal_row, CPU_CLONES)

#if defined(__x86_64__) && defined(__GNUC__)
// horizontal_row with one pixel's three channels (and a fourth byte, the
// next pixel's, whose sum is discarded) in one vector of 32-bit sums: the
// same products and sums as Pillow's, and clip8 is exactly a saturating pack
// of sum >> 22. Reads and writes one byte past a pixel, hence the 4 spare
// bytes at the end of the buffers; the stray byte written is overwritten by
// the next pixel, or lands in those spare bytes.
static inline __attribute__((always_inline, target("sse4.1"))) void horizontal_row_sse(
    const uint8_t *src, uint8_t *dst, int count, const int *first, const int32_t *weights,
    int ksize, const int K) {
  const __m128i half = _mm_set1_epi32(HALF);
  for (int i = 0; i < count; i++) {
    const int32_t *k = weights + (size_t)i * ksize;
    const uint8_t *s = src + (size_t)first[i] * 3;
    __m128i sum = half;
    for (int x = 0; x < K; x++) {
      int32_t bytes;
      memcpy(&bytes, s + 3 * x, 4);
      __m128i p = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(bytes));
      sum = _mm_add_epi32(sum, _mm_mullo_epi32(p, _mm_set1_epi32(k[x])));
    }
    __m128i v = _mm_srai_epi32(sum, PRECISION_BITS);
    v = _mm_packus_epi16(_mm_packs_epi32(v, v), v);
    int32_t out = _mm_cvtsi128_si32(v);
    memcpy(dst + 3 * i, &out, 4);
  }
}

// horizontal_row_sse for two output pixels at once: pixel i in the low
// 128-bit half, pixel i + 1 in the high half, each with its own weights.
static inline __attribute__((always_inline, target("avx2"))) void horizontal_row_avx2(
    const uint8_t *src, uint8_t *dst, int count, const int *first, const int32_t *weights,
    int ksize, const int K) {
  const __m256i half = _mm256_set1_epi32(HALF);
  int i = 0;
  for (; i + 2 <= count; i += 2) {
    const int32_t *k0 = weights + (size_t)i * ksize;
    const int32_t *k1 = k0 + ksize;
    const uint8_t *s0 = src + (size_t)first[i] * 3;
    const uint8_t *s1 = src + (size_t)first[i + 1] * 3;
    __m256i sum = half;
    for (int x = 0; x < K; x++) {
      int32_t b0, b1;
      memcpy(&b0, s0 + 3 * x, 4);
      memcpy(&b1, s1 + 3 * x, 4);
      __m256i p = _mm256_cvtepu8_epi32(_mm_insert_epi32(_mm_cvtsi32_si128(b0), b1, 1));
      __m256i w = _mm256_set_m128i(_mm_set1_epi32(k1[x]), _mm_set1_epi32(k0[x]));
      sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(p, w));
    }
    __m256i v = _mm256_srai_epi32(sum, PRECISION_BITS);
    v = _mm256_packus_epi16(_mm256_packs_epi32(v, v), v);
    int32_t out0 = _mm256_extract_epi32(v, 0), out1 = _mm256_extract_epi32(v, 4);
    memcpy(dst + 3 * i, &out0, 4);
    memcpy(dst + 3 * i + 3, &out1, 4);
  }
  if (i < count)
    horizontal_row_sse(src, dst + 3 * i, 1, first + i, weights + (size_t)i * ksize, ksize, K);
}

DEFINE_HORIZONTAL_ROWS(horizontal_rows_sse, horizontal_row_sse, __attribute__((target("sse4.1"))))
DEFINE_HORIZONTAL_ROWS(horizontal_rows_avx2, horizontal_row_avx2, __attribute__((target("avx2"))))

// 2 for AVX2, 1 for SSE4.1, 0 for neither; CONVNETS_JPEG_SIMD=sse4.1 or
// none caps it, so that tests can run every version of the horizontal pass.
static int simd_level(void) {
  int level = __builtin_cpu_supports("avx2") ? 2 : __builtin_cpu_supports("sse4.1") ? 1 : 0;
  const char *cap = getenv("CONVNETS_JPEG_SIMD");
  if (cap && strcmp(cap, "sse4.1") == 0 && level > 1) level = 1;
  if (cap && strcmp(cap, "none") == 0) level = 0;
  return level;
}

#endif

// Pillow's horizontal pass for the view's columns over `nrows` rows of
// `width` decoded pixels, into job->temp. `shift` turns a column of the
// resized source into a column of the rows. Every output pixel is made to
// read the same number of taps: a window running past the right edge moves
// left and its weights move right behind zeros (the weights past a window's
// length are already zero), which adds only zeros to Pillow's sums, so the
// result stays Pillow's to the bit.
static int horizontal_pass(Job *job, Axis *a, const uint8_t *rows, size_t stride, int width,
                           int shift, int nrows, int count) {
  job->temp = malloc((size_t)nrows * count * 3 + 4);  // + 4: see horizontal_row_sse
  if (!job->temp) return 0;
  int taps = 1;
  for (int i = 0; i < count; i++) {
    a->first[i] += shift;
    if (a->length[i] > taps) taps = a->length[i];
  }
  if (taps > width) {
    // Too narrow an image to pad the windows: take each as it is.
    for (int y = 0; y < nrows; y++)
      for (int i = 0; i < count; i++)
        horizontal_row(rows + (size_t)y * stride, job->temp + ((size_t)y * count + i) * 3, 1,
                       a->first + i, a->weights + (size_t)i * a->ksize, a->ksize, a->length[i]);
    return 1;
  }
  for (int i = 0; i < count; i++) {
    int over = a->first[i] + taps - width;
    if (over > 0) {
      int32_t *w = a->weights + (size_t)i * a->ksize;
      memmove(w + over, w, sizeof(int32_t) * a->length[i]);
      memset(w, 0, sizeof(int32_t) * over);
      a->first[i] -= over;
    }
  }
#if defined(__x86_64__) && defined(__GNUC__)
  int level = simd_level();
  if (level >= 2) {
    horizontal_rows_avx2(rows, stride, job->temp, nrows, count, a, taps);
    return 1;
  }
  if (level >= 1) {
    horizontal_rows_sse(rows, stride, job->temp, nrows, count, a, taps);
    return 1;
  }
#endif
  horizontal_rows_c(rows, stride, job->temp, nrows, count, a, taps);
  return 1;
}

// Pillow's vertical pass from job->temp (rows from a->lo) into the output,
// a whole row of sums at a time (contiguous, so the compiler vectorises it),
// mirrored on the way out when asked.
CPU_CLONES static int vertical_pass(Job *job, const Axis *a, int width, int height, int flip) {
  size_t n = (size_t)width * 3;
  job->sums = malloc(sizeof(int32_t) * n);
  if (!job->sums) return 0;
  int32_t *sums = job->sums;
  for (int j = 0; j < height; j++) {
    const int32_t *k = a->weights + (size_t)j * a->ksize;
    const uint8_t *src = job->temp + (size_t)(a->first[j] - a->lo) * n;
    for (size_t c = 0; c < n; c++) sums[c] = HALF;
    for (int y = 0; y < a->length[j]; y++) {
      const uint8_t *s = src + (size_t)y * n;
      int32_t w = k[y];
      for (size_t c = 0; c < n; c++) sums[c] += s[c] * w;
    }
    uint8_t *dst = job->output + (size_t)j * n;
    if (!flip) {
      for (size_t c = 0; c < n; c++) dst[c] = clip8(sums[c]);
    } else {
      for (int i = 0; i < width; i++) {
        uint8_t *o = dst + (size_t)(width - 1 - i) * 3;
        o[0] = clip8(sums[3 * i]);
        o[1] = clip8(sums[3 * i + 1]);
        o[2] = clip8(sums[3 * i + 2]);
      }
    }
  }
  return 1;
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
  struct jpeg_progress_mgr progress = {.progress_monitor = on_progress};
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
  cinfo.progress = &progress;
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
  // Not for progressive files: when scans are missing, libjpeg smooths their
  // blocks with DC values up to two blocks away, and a cropped decode takes
  // its first column for the image's edge (pixels then differ from a full
  // decode by up to 11 levels). They decode whole rows.
  if (cwidth < (JDIMENSION)width && !cinfo.progressive_mode)
    jpeg_crop_scanline(&cinfo, &xoffset, &cwidth);
  else xoffset = 0;
  size_t stride = (size_t)cinfo.output_width * 3;
  int nrows = y_hi - y_lo;
  job->rows = malloc(stride * (size_t)(y_hi - ry0) + 4);  // + 4: see horizontal_row_sse
  if (!job->rows) {
    fail(job, "out of memory");
    goto done;
  }
  if (ry0 > 0) jpeg_skip_scanlines(&cinfo, (JDIMENSION)ry0);
  while ((int)cinfo.output_scanline < y_hi) {
    JSAMPROW row = job->rows + (size_t)((int)cinfo.output_scanline - ry0) * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  // Horizontal pass over the rows read, then vertical, as Pillow orders them.
  if (!horizontal_pass(job, ax, job->rows + (size_t)(y_lo - ry0) * stride, stride,
                       (int)cinfo.output_width, pre_left - (int)xoffset, nrows, post_w) ||
      !vertical_pass(job, ay, post_w, post_h, flip)) {
    fail(job, "out of memory");
    goto done;
  }
  job->status = 0;
done:
  // Stop here: the rows below the view are never decoded.
  if (created) jpeg_destroy_decompress(&cinfo);
  free(job->rows);
  free(job->temp);
  free(job->sums);
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
    double x;
    // The limit is positive; sizes and positions are integers in [0, 2^30],
    // so that no sum of two of them overflows an int.
    if (napi_get_element(env, argv[2], i, &v) != napi_ok ||
        napi_get_value_double(env, v, &x) != napi_ok || !(x >= 0) ||
        (i == 0 ? !(x > 0) : x != floor(x) || x > (double)(1 << 30))) {
      free(job);
      bool pending;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
      napi_throw_range_error(env, NULL,
                             "renderJpeg: params must be a positive limit and 11 integers in "
                             "[0, 2^30]");
      return NULL;
    }
    job->params[i] = x;
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

// readFile(path, maxBytes): the whole file in one thread-pool job (open,
// statx, read, close), where fs.promises takes four. Resolves with a Buffer,
// or with null when anything is off (cannot open, not a regular file, empty,
// larger than maxBytes, changed while read): the caller then reads it with
// Node's fs, which reports the problem.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  double max_bytes;
  uint8_t *data;
  size_t length;
} ReadJob;

static void read_execute(napi_env env, void *data) {
  (void)env;
  ReadJob *job = (ReadJob *)data;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer,
  // holding this thread-pool thread forever. Regular files ignore it.
  int fd = open(job->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  // Only regular files are read: a FIFO, socket, device or folder goes back
  // to fs, which names it. statx, not fstat: fstat is versioned GLIBC_2.33
  // and would keep the addon from loading on older systems (statx is 2.28);
  // where the kernel lacks statx, fs reads the file.
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &sx) != 0 || !(sx.stx_mask & STATX_TYPE) ||
      !S_ISREG(sx.stx_mode)) {
    close(fd);
    return;
  }
  off_t size = lseek(fd, 0, SEEK_END);
  // Files over 2 GiB go to fs too (Node's Buffers have a size limit).
  if (size > 0 && (double)size <= job->max_bytes && size <= INT32_MAX &&
      lseek(fd, 0, SEEK_SET) == 0) {
    size_t length = (size_t)size, done = 0;
    uint8_t *buffer = malloc(length);
    while (buffer && done < length) {
      ssize_t got = read(fd, buffer + done, length - done);
      if (got <= 0) break;
      done += (size_t)got;
    }
    uint8_t extra;
    if (buffer && done == length && read(fd, &extra, 1) == 0) {
      job->data = buffer;
      job->length = length;
    } else {
      free(buffer);
    }
  }
  close(fd);
}

static void free_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void read_complete(napi_env env, napi_status status, void *data) {
  ReadJob *job = (ReadJob *)data;
  napi_value result;
  // The caller keeps maxBytes within Buffer's limit, so the buffer is made;
  // if it were not, Node has already called free_data (or will): the data is
  // not freed here again.
  if (status != napi_ok || !job->data ||
      napi_create_external_buffer(env, job->length, job->data, free_data, NULL, &result) !=
          napi_ok) {
    if (status != napi_ok) free(job->data);
    napi_value ignored;
    bool pending;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
      napi_get_and_clear_last_exception(env, &ignored);
    napi_get_null(env, &result);
  }
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  free(job->path);
  free(job);
}

static napi_value ReadFile(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t length;
  double max_bytes;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok ||
      napi_get_value_double(env, argv[1], &max_bytes) != napi_ok)
    return throw_type(env, "readFile(path: string, maxBytes: number)");
  ReadJob *job = calloc(1, sizeof(ReadJob));
  char *path = job ? malloc(length + 1) : NULL;
  if (!path) {
    free(job);
    napi_throw_error(env, NULL, "readFile: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], path, length + 1, &length);
  job->path = path;
  if (strlen(path) != length) path[0] = '\0';  // a NUL inside: open fails, fs reports it
  job->max_bytes = max_bytes;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "convnets:readFile", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, read_execute, read_complete, job, &job->work);
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
  napi_create_function(env, "normalize", NAPI_AUTO_LENGTH, Normalize, NULL, &fn);
  napi_set_named_property(env, exports, "normalize", fn);
  napi_create_function(env, "readFile", NAPI_AUTO_LENGTH, ReadFile, NULL, &fn);
  napi_set_named_property(env, exports, "readFile", fn);
  napi_create_function(env, "info", NAPI_AUTO_LENGTH, Info, NULL, &fn);
  napi_set_named_property(env, exports, "info", fn);
  return exports;
}
