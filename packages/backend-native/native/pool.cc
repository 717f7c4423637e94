#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "ops.h"
#include "thread_pool.h"

namespace convnets {
namespace {

template <bool kMax>
void pool_forward(const ConvGeometry& g, const float* x, float* y) {
  const int64_t C = g.in_c;
  pool().run(g.batch * g.out_h, [&](int64_t row, int) {
    const int64_t n = row / g.out_h, oh = row % g.out_h;
    const float* image = x + n * g.in_h * g.in_w * C;
    std::vector<float> acc(C);
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      std::fill(acc.begin(), acc.end(), kMax ? -std::numeric_limits<float>::infinity() : 0.f);
      int64_t count = 0;
      for (int64_t kh = 0; kh < g.k_h; ++kh) {
        const int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
        if (ih < 0 || ih >= g.in_h) continue;
        for (int64_t kw = 0; kw < g.k_w; ++kw) {
          const int64_t iw = ow * g.stride_w + kw * g.dilation_w - g.pad_left;
          if (iw < 0 || iw >= g.in_w) continue;
          const float* p = image + (ih * g.in_w + iw) * C;
          ++count;
          if (kMax)
            for (int64_t c = 0; c < C; ++c) acc[c] = p[c] > acc[c] ? p[c] : acc[c];
          else
            for (int64_t c = 0; c < C; ++c) acc[c] += p[c];
        }
      }
      float* out = y + (row * g.out_w + ow) * C;
      if (kMax) {
        std::memcpy(out, acc.data(), C * sizeof(float));
      } else {
        for (int64_t c = 0; c < C; ++c) out[c] = count ? acc[c] / static_cast<float>(count) : 0.f;
      }
    }
  });
}

}  // namespace

void max_pool(const ConvGeometry& g, const float* x, float* y) { pool_forward<true>(g, x, y); }
void avg_pool(const ConvGeometry& g, const float* x, float* y) { pool_forward<false>(g, x, y); }

// Windows overlap, so one image is one unit of work, accumulated in output order.
void max_pool_grad(const ConvGeometry& g, const float* x, const float* dy, float* dx) {
  const int64_t C = g.in_c;
  pool().run(g.batch, [&](int64_t n, int) {
    const float* image = x + n * g.in_h * g.in_w * C;
    float* grad = dx + n * g.in_h * g.in_w * C;
    std::memset(grad, 0, g.in_h * g.in_w * C * sizeof(float));
    std::vector<float> best(C);
    std::vector<int64_t> where(C);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
        std::fill(where.begin(), where.end(), -1);
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t iw = ow * g.stride_w + kw * g.dilation_w - g.pad_left;
            if (iw < 0 || iw >= g.in_w) continue;
            const int64_t at = (ih * g.in_w + iw) * C;
            const float* p = image + at;
            for (int64_t c = 0; c < C; ++c) {
              if (p[c] > best[c]) {
                best[c] = p[c];
                where[c] = at + c;
              }
            }
          }
        }
        const float* d = dy + ((n * g.out_h + oh) * g.out_w + ow) * C;
        for (int64_t c = 0; c < C; ++c)
          if (where[c] >= 0) grad[where[c]] += d[c];
      }
    }
  });
}

void avg_pool_grad(const ConvGeometry& g, const float* dy, float* dx) {
  const int64_t C = g.in_c;
  const float scale = 1.f / static_cast<float>(g.k_h * g.k_w);
  pool().run(g.batch, [&](int64_t n, int) {
    float* grad = dx + n * g.in_h * g.in_w * C;
    std::memset(grad, 0, g.in_h * g.in_w * C * sizeof(float));
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const float* d = dy + ((n * g.out_h + oh) * g.out_w + ow) * C;
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t iw = ow * g.stride_w + kw * g.dilation_w - g.pad_left;
            if (iw < 0 || iw >= g.in_w) continue;
            float* p = grad + (ih * g.in_w + iw) * C;
            for (int64_t c = 0; c < C; ++c) p[c] += d[c] * scale;
          }
        }
      }
    }
  });
}

}  // namespace convnets
