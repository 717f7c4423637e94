// Pillow's antialiased bilinear resampling for the JPEG fast path: the
// weights of each axis (axis_init), the horizontal pass with its plain C,
// SSE4.1 and AVX2 row functions, and the vertical pass, all in Pillow's
// fixed-point arithmetic so that a view equals Pillow's to the bit.
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resample.h"

static double bilinear(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow's precompute_coeffs and normalize_coeffs_8bpc (see resample.h).
int axis_init(Axis *a, int in_size, int out_size, int from, int count) {
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

void axis_free(Axis *a) {
  free(a->first);
  free(a->length);
  free(a->weights);
}

static inline uint8_t clip8(int32_t v) {
  if (v >= (1 << PRECISION_BITS << 8)) return 255;
  if (v <= 0) return 0;
  return (uint8_t)(v >> PRECISION_BITS);
}

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

// Pillow's horizontal pass for the view's columns (see resample.h). Every
// output pixel is made to read the same number of taps: a window running
// past the right edge moves left and its weights move right behind zeros
// (the weights past a window's length are already zero), which adds only
// zeros to Pillow's sums, so the result stays Pillow's to the bit.
int horizontal_pass(uint8_t **temp, Axis *a, const uint8_t *rows, size_t stride, int width,
                    int shift, int nrows, int count) {
  *temp = malloc((size_t)nrows * count * 3 + 4);  // + 4: see horizontal_row_sse
  if (!*temp) return 0;
  int taps = 1;
  for (int i = 0; i < count; i++) {
    a->first[i] += shift;
    if (a->length[i] > taps) taps = a->length[i];
  }
  if (taps > width) {
    // Too narrow an image to pad the windows: take each as it is.
    for (int y = 0; y < nrows; y++)
      for (int i = 0; i < count; i++)
        horizontal_row(rows + (size_t)y * stride, *temp + ((size_t)y * count + i) * 3, 1,
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
    horizontal_rows_avx2(rows, stride, *temp, nrows, count, a, taps);
    return 1;
  }
  if (level >= 1) {
    horizontal_rows_sse(rows, stride, *temp, nrows, count, a, taps);
    return 1;
  }
#endif
  horizontal_rows_c(rows, stride, *temp, nrows, count, a, taps);
  return 1;
}

// Pillow's vertical pass (see resample.h) with its row of sums, a whole row
// at a time (contiguous, so the compiler vectorises it), mirrored on the way
// out when asked. Static: a global function's target_clones resolver would
// be exported from the addon.
CPU_CLONES static void vertical_rows(int32_t *sums, const uint8_t *temp, uint8_t *output,
                                     const Axis *a, int width, int height, int flip) {
  size_t n = (size_t)width * 3;
  for (int j = 0; j < height; j++) {
    const int32_t *k = a->weights + (size_t)j * a->ksize;
    const uint8_t *src = temp + (size_t)(a->first[j] - a->lo) * n;
    for (size_t c = 0; c < n; c++) sums[c] = HALF;
    for (int y = 0; y < a->length[j]; y++) {
      const uint8_t *s = src + (size_t)y * n;
      int32_t w = k[y];
      for (size_t c = 0; c < n; c++) sums[c] += s[c] * w;
    }
    uint8_t *dst = output + (size_t)j * n;
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
}

int vertical_pass(int32_t **sums, const uint8_t *temp, uint8_t *output, const Axis *a, int width,
                  int height, int flip) {
  *sums = malloc(sizeof(int32_t) * (size_t)width * 3);
  if (!*sums) return 0;
  vertical_rows(*sums, temp, output, a, width, height, flip);
  return 1;
}
