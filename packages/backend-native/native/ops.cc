#include "ops.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "isa.h"
#include "thread_pool.h"

namespace convnets {
namespace {

// Depth of one pass over the reduction dimension. It is the only blocking
// parameter that changes the order of floating-point additions, so it is a
// constant: results do not depend on the thread count or on how rows and
// columns are split among threads.
constexpr int64_t KC = 256;
// Columns of B packed at a time when B is produced on the fly (filter gradient).
constexpr int64_t NB = 512;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Per-thread scratch buffers, grown on demand and kept for the next call.
float* scratch(int slot, int64_t size) {
  thread_local std::vector<float> buffers[3];
  auto& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < size) b.resize(size);
  return b.data();
}

// Packs B[k][n] = b[k * rs + n * cs] (k < K, n < N) into NR-column slivers
// covering all of K: sliver j holds [K][NR], zero beyond column N.
std::vector<float> pack_b(const Isa& isa, int64_t K, int64_t N, const float* b, int64_t rs,
                          int64_t cs) {
  const int64_t nr = isa.nr;
  const int64_t slivers = ceil_div(N, nr);
  std::vector<float> packed(slivers * K * nr);
  pool().run(slivers, [&](int64_t j, int) {
    float* dst = packed.data() + j * K * nr;
    const int64_t n0 = j * nr;
    const int64_t width = std::min(nr, N - n0);
    for (int64_t k = 0; k < K; ++k) {
      float* row = dst + k * nr;
      const float* src = b + k * rs + n0 * cs;
      if (cs == 1) {
        std::memcpy(row, src, width * sizeof(float));
      } else {
        for (int64_t jj = 0; jj < width; ++jj) row[jj] = src[jj * cs];
      }
      for (int64_t jj = width; jj < nr; ++jj) row[jj] = 0.f;
    }
  });
  return packed;
}

// Writes row m of the implicit im2col matrix, columns [k0, k1), to out.
// Columns run over (kh, kw, c) with c fastest, matching an HWIO filter.
inline void im2col_segment(const ConvGeometry& g, const float* x, int64_t m, int64_t k0,
                           int64_t k1, float* out) {
  const int64_t ow = m % g.out_w;
  const int64_t t = m / g.out_w;
  const int64_t oh = t % g.out_h;
  const int64_t n = t / g.out_h;
  const float* image = x + n * g.in_h * g.in_w * g.in_c;
  int64_t k = k0;
  while (k < k1) {
    const int64_t tap = k / g.in_c;
    const int64_t c0 = k - tap * g.in_c;
    const int64_t kh = tap / g.k_w;
    const int64_t kw = tap - kh * g.k_w;
    const int64_t len = std::min(g.in_c - c0, k1 - k);
    const int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
    const int64_t iw = ow * g.stride_w + kw * g.dilation_w - g.pad_left;
    if (ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w) {
      std::memcpy(out, image + (ih * g.in_w + iw) * g.in_c + c0, len * sizeof(float));
    } else {
      std::memset(out, 0, len * sizeof(float));
    }
    out += len;
    k += len;
  }
}

// Packs rows [m0, m0 + mc) x columns [k0, k0 + kc) of A into MR-row slivers
// ([kc][MR] each), zero beyond row mc, reading each row through row(m, k0, k1, out).
template <class Row>
void pack_a_rows(int mr, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst, Row&& row) {
  float* tmp = scratch(2, kc);
  for (int64_t s = 0; s * mr < mc; ++s) {
    float* sliver = dst + s * kc * mr;
    for (int r = 0; r < mr; ++r) {
      const int64_t i = s * mr + r;
      if (i < mc) {
        row(m0 + i, k0, k0 + kc, tmp);
        for (int64_t k = 0; k < kc; ++k) sliver[k * mr + r] = tmp[k];
      } else {
        for (int64_t k = 0; k < kc; ++k) sliver[k * mr + r] = 0.f;
      }
    }
  }
}

// Packs a strided matrix A[m][k] = a[m * rs + k * cs] like pack_a_rows.
void pack_a_strided(int mr, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst,
                    const float* a, int64_t rs, int64_t cs) {
  for (int64_t s = 0; s * mr < mc; ++s) {
    float* sliver = dst + s * kc * mr;
    const int64_t rows = std::min<int64_t>(mr, mc - s * mr);
    if (rs == 1) {
      // Rows are contiguous for a fixed k (a transposed operand): copy runs of MR.
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = a + (m0 + s * mr) + (k0 + k) * cs;
        float* d = sliver + k * mr;
        for (int r = 0; r < rows; ++r) d[r] = src[r];
        for (int r = rows; r < mr; ++r) d[r] = 0.f;
      }
    } else {
      for (int r = 0; r < mr; ++r) {
        if (r < rows) {
          const float* src = a + (m0 + s * mr + r) * rs + k0 * cs;
          for (int64_t k = 0; k < kc; ++k) sliver[k * mr + r] = src[k * cs];
        } else {
          for (int64_t k = 0; k < kc; ++k) sliver[k * mr + r] = 0.f;
        }
      }
    }
  }
}

// C[0:mc, n0:n0+nc] (+)= A[m0:m0+mc, :] · B[:, n0:n0+nc] on one thread, with B
// prepacked over all of K (pack_b) and A packed block by block through pack_a.
// c points at row m0, column 0 of C.
template <class PackA>
void gemm_block(const Isa& isa, int64_t m0, int64_t mc, int64_t n0, int64_t nc, int64_t K,
                PackA&& pack_a, const float* bp, float* c, int64_t ldc, bool accumulate) {
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < mc; ++i) std::memset(c + i * ldc + n0, 0, nc * sizeof(float));
    return;
  }
  const int mr = isa.mr, nr = isa.nr;
  float* ap = scratch(0, round_up(mc, mr) * std::min(K, KC));
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    pack_a(m0, mc, pc, kc, ap);
    for (int64_t j = n0; j < n0 + nc; j += nr) {
      const float* b = bp + (j / nr) * K * nr + pc * nr;
      const int cols = static_cast<int>(std::min<int64_t>(nr, n0 + nc - j));
      for (int64_t i = 0; i < mc; i += mr) {
        isa.micro(kc, ap + (i / mr) * kc * mr, b, c + i * ldc + j, ldc,
                  static_cast<int>(std::min<int64_t>(mr, mc - i)), cols, accumulate || pc > 0);
      }
    }
  }
}

struct Epilogue {
  const float* bias = nullptr;
  Activation act = Activation::kLinear;
  void apply(float* c, int64_t ldc, int64_t rows, int64_t n0, int64_t nc) const {
    if (!bias && act == Activation::kLinear) return;
    for (int64_t i = 0; i < rows; ++i) {
      float* row = c + i * ldc;
      if (bias)
        for (int64_t j = n0; j < n0 + nc; ++j) row[j] += bias[j];
      if (act == Activation::kRelu)
        for (int64_t j = n0; j < n0 + nc; ++j) row[j] = row[j] > 0.f ? row[j] : 0.f;
    }
  }
};

// C[M, N] = A · B (+ epilogue), split into independent row x column blocks
// that the pool runs in any order.
template <class PackA>
void gemm_parallel(const Isa& isa, int64_t M, int64_t N, int64_t K, PackA&& pack_a,
                   const float* bp, float* c, int64_t ldc, const Epilogue& ep) {
  const int64_t threads = pool().size();
  const int64_t unit = 24;  // a multiple of every ISA's MR
  int64_t mc = std::min<int64_t>(192, round_up(M, unit));
  while (mc > unit && ceil_div(M, mc) < 2 * threads) mc -= unit;
  const int64_t row_blocks = ceil_div(M, mc);
  int64_t col_blocks = 1;
  if (row_blocks < 2 * threads) {
    col_blocks = std::min(ceil_div(N, isa.nr * 4), ceil_div(2 * threads, row_blocks));
    col_blocks = std::max<int64_t>(col_blocks, 1);
  }
  const int64_t nc = round_up(ceil_div(N, col_blocks), isa.nr);
  col_blocks = ceil_div(N, nc);
  pool().run(row_blocks * col_blocks, [&](int64_t u, int) {
    const int64_t m0 = (u / col_blocks) * mc;
    const int64_t n0 = (u % col_blocks) * nc;
    const int64_t rows = std::min(mc, M - m0);
    const int64_t cols = std::min(nc, N - n0);
    gemm_block(isa, m0, rows, n0, cols, K, pack_a, bp, c + m0 * ldc, ldc, false);
    ep.apply(c + m0 * ldc, ldc, rows, n0, cols);
  });
}

void conv2d_forward(const ConvGeometry& g, const float* x, const float* bp, const Epilogue& ep,
                    float* y) {
  const Isa& cpu = isa();
  const int64_t M = g.batch * g.out_h * g.out_w;
  const int64_t K = g.k_h * g.k_w * g.in_c;
  const bool pointwise = g.k_h == 1 && g.k_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
                         g.pad_top == 0 && g.pad_left == 0 && g.out_h == g.in_h &&
                         g.out_w == g.in_w;
  if (pointwise) {
    auto pack = [&](int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
      pack_a_strided(cpu.mr, m0, mc, k0, kc, dst, x, g.in_c, 1);
    };
    gemm_parallel(cpu, M, g.out_c, K, pack, bp, y, g.out_c, ep);
  } else {
    auto pack = [&](int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
      pack_a_rows(cpu.mr, m0, mc, k0, kc, dst,
                  [&](int64_t m, int64_t a, int64_t b, float* out) {
                    im2col_segment(g, x, m, a, b, out);
                  });
    };
    gemm_parallel(cpu, M, g.out_c, K, pack, bp, y, g.out_c, ep);
  }
}

}  // namespace

void conv2d(const ConvGeometry& g, const float* x, const float* filter, const float* bias,
            Activation act, float* y) {
  const int64_t K = g.k_h * g.k_w * g.in_c;
  std::vector<float> bp = pack_b(isa(), K, g.out_c, filter, g.out_c, 1);
  Epilogue ep;
  ep.bias = bias;
  ep.act = act;
  conv2d_forward(g, x, bp.data(), ep, y);
}

void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* filter,
                           float* dx) {
  const Isa& cpu = isa();
  const int64_t K = g.k_h * g.k_w * g.in_c;
  if (g.stride_h == 1 && g.stride_w == 1) {
    // A stride-1 input gradient is a forward convolution of dy with the filter
    // rotated by 180° and its channels swapped, so it gathers instead of scattering.
    const int64_t taps = g.k_h * g.k_w;
    std::vector<float> rotated(taps * g.out_c * g.in_c);
    for (int64_t kh = 0; kh < g.k_h; ++kh)
      for (int64_t kw = 0; kw < g.k_w; ++kw) {
        const float* src = filter + ((g.k_h - 1 - kh) * g.k_w + (g.k_w - 1 - kw)) * g.in_c * g.out_c;
        float* dst = rotated.data() + (kh * g.k_w + kw) * g.out_c * g.in_c;
        for (int64_t ci = 0; ci < g.in_c; ++ci)
          for (int64_t co = 0; co < g.out_c; ++co) dst[co * g.in_c + ci] = src[ci * g.out_c + co];
      }
    ConvGeometry t{g.batch,
                   g.out_h,
                   g.out_w,
                   g.out_c,
                   g.k_h,
                   g.k_w,
                   g.in_c,
                   g.in_h,
                   g.in_w,
                   1,
                   1,
                   g.dilation_h,
                   g.dilation_w,
                   g.dilation_h * (g.k_h - 1) - g.pad_top,
                   g.dilation_w * (g.k_w - 1) - g.pad_left};
    std::vector<float> bp = pack_b(cpu, taps * g.out_c, g.in_c, rotated.data(), g.in_c, 1);
    conv2d_forward(t, dy, bp.data(), Epilogue{}, dx);
    return;
  }
  // Strided: dcol = dy · filterᵀ, then scatter-add (col2im). Scatters from
  // neighbouring rows overlap, so one image is one unit of work, summed in row order.
  std::vector<float> bp = pack_b(cpu, g.out_c, K, filter, 1, g.out_c);
  const int64_t rows = g.out_h * g.out_w;
  const int64_t mc = std::min<int64_t>(rows, 96);
  pool().run(g.batch, [&](int64_t n, int) {
    float* image = dx + n * g.in_h * g.in_w * g.in_c;
    std::memset(image, 0, g.in_h * g.in_w * g.in_c * sizeof(float));
    const float* dy_n = dy + n * rows * g.out_c;
    float* dcol = scratch(1, mc * K);
    for (int64_t m0 = 0; m0 < rows; m0 += mc) {
      const int64_t count = std::min(mc, rows - m0);
      auto pack = [&](int64_t a0, int64_t ac, int64_t k0, int64_t kc, float* dst) {
        pack_a_strided(cpu.mr, a0, ac, k0, kc, dst, dy_n, g.out_c, 1);
      };
      gemm_block(cpu, m0, count, 0, K, g.out_c, pack, bp.data(), dcol, K, false);
      for (int64_t i = 0; i < count; ++i) {
        const int64_t oh = (m0 + i) / g.out_w, ow = (m0 + i) % g.out_w;
        const float* src = dcol + i * K;
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t iw = ow * g.stride_w + kw * g.dilation_w - g.pad_left;
            if (iw < 0 || iw >= g.in_w) continue;
            float* d = image + (ih * g.in_w + iw) * g.in_c;
            const float* s = src + (kh * g.k_w + kw) * g.in_c;
            for (int64_t c = 0; c < g.in_c; ++c) d[c] += s[c];
          }
        }
      }
    }
  });
}

void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy,
                            float* dfilter) {
  // dfilterᵀ[out_c, K] = dyᵀ[out_c, M] · im2col(x)[M, K]: the long dimension M is
  // the reduction, cut into chunks whose size depends only on the shapes; each
  // chunk has its own partial sum, and the partials are added in chunk order.
  const Isa& cpu = isa();
  const int mr = cpu.mr, nr = cpu.nr;
  const int64_t M = g.batch * g.out_h * g.out_w;
  const int64_t K = g.k_h * g.k_w * g.in_c;
  const int64_t Co = g.out_c;
  const int64_t chunk = std::max(KC, round_up(ceil_div(M, 16), KC));
  const int64_t chunks = std::max<int64_t>(1, ceil_div(M, chunk));
  std::vector<float> partial(chunks * Co * K);
  pool().run(chunks, [&](int64_t ci, int) {
    float* out = partial.data() + ci * Co * K;
    const int64_t r0 = ci * chunk, r1 = std::min(M, r0 + chunk);
    if (r1 <= r0) {
      std::memset(out, 0, Co * K * sizeof(float));
      return;
    }
    float* ap = scratch(0, round_up(Co, mr) * KC);
    float* bp = scratch(1, KC * round_up(std::min(K, NB), nr));
    float* row = scratch(2, NB);
    for (int64_t pc = r0; pc < r1; pc += KC) {
      const int64_t kc = std::min(KC, r1 - pc);
      pack_a_strided(mr, 0, Co, pc, kc, ap, dy, 1, Co);
      for (int64_t jn = 0; jn < K; jn += NB) {
        const int64_t nb = std::min(NB, K - jn);
        const int64_t slivers = ceil_div(nb, nr);
        for (int64_t k = 0; k < kc; ++k) {
          im2col_segment(g, x, pc + k, jn, jn + nb, row);
          for (int64_t s = 0; s < slivers; ++s) {
            float* d = bp + s * kc * nr + k * nr;
            const int64_t w = std::min<int64_t>(nr, nb - s * nr);
            std::memcpy(d, row + s * nr, w * sizeof(float));
            for (int64_t jj = w; jj < nr; ++jj) d[jj] = 0.f;
          }
        }
        for (int64_t s = 0; s < slivers; ++s) {
          const int cols = static_cast<int>(std::min<int64_t>(nr, nb - s * nr));
          for (int64_t i = 0; i < Co; i += mr) {
            cpu.micro(kc, ap + (i / mr) * kc * mr, bp + s * kc * nr, out + i * K + jn + s * nr, K,
                      static_cast<int>(std::min<int64_t>(mr, Co - i)), cols, pc > r0);
          }
        }
      }
    }
  });
  const int64_t kblock = 64;
  pool().run(ceil_div(K, kblock), [&](int64_t b, int) {
    for (int64_t k = b * kblock; k < std::min(K, (b + 1) * kblock); ++k) {
      float* d = dfilter + k * Co;
      for (int64_t co = 0; co < Co; ++co) d[co] = partial[co * K + k];
      for (int64_t c = 1; c < chunks; ++c) {
        const float* p = partial.data() + c * Co * K;
        for (int64_t co = 0; co < Co; ++co) d[co] += p[co * K + k];
      }
    }
  });
}

void matmul(const MatMulShape& s, const float* a, const float* b, const float* bias,
            int64_t bias_len, Activation act, float* c) {
  const Isa& cpu = isa();
  const int64_t batch = std::max(s.batch_a, s.batch_b);
  const int64_t a_rs = s.transpose_a ? 1 : s.k, a_cs = s.transpose_a ? s.m : 1;
  const int64_t b_rs = s.transpose_b ? 1 : s.n, b_cs = s.transpose_b ? s.k : 1;
  std::vector<float> expanded_bias;
  Epilogue ep;
  ep.act = act;
  if (bias) {
    expanded_bias.resize(s.n);
    for (int64_t j = 0; j < s.n; ++j) expanded_bias[j] = bias[bias_len == 1 ? 0 : j];
    ep.bias = expanded_bias.data();
  }
  for (int64_t i = 0; i < batch; ++i) {
    const float* ai = a + (s.batch_a == 1 ? 0 : i) * s.m * s.k;
    const float* bi = b + (s.batch_b == 1 ? 0 : i) * s.k * s.n;
    float* ci = c + i * s.m * s.n;
    std::vector<float> bp = pack_b(cpu, s.k, s.n, bi, b_rs, b_cs);
    auto pack = [&](int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
      pack_a_strided(cpu.mr, m0, mc, k0, kc, dst, ai, a_rs, a_cs);
    };
    gemm_parallel(cpu, s.m, s.n, s.k, pack, bp.data(), ci, s.n, ep);
  }
}

}  // namespace convnets
