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
// Slots 0-2 are used inside gemm_block and the packers (on every thread); the
// others hold a whole call's packed filter, rotated filter or partial sums (on
// the calling thread), so that large buffers are not allocated, zero-filled
// and page-faulted on every call. Their contents are always written before use.
enum Slot { kPackedA = 0, kColumns = 1, kRow = 2, kPackedB = 3, kRotated = 4, kPartial = 5 };
float* scratch(int slot, int64_t size) {
  thread_local std::vector<float> buffers[6];
  auto& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < size) b.resize(size);
  return b.data();
}

// Packs B[k][n] = b[k * rs + n * cs] (k < K, n < N) into NR-column slivers
// covering all of K: sliver j holds [K][NR], zero beyond column N.
const float* pack_b(int64_t nr, int64_t K, int64_t N, const float* b, int64_t rs, int64_t cs) {
  const int64_t slivers = ceil_div(N, nr);
  float* packed = scratch(kPackedB, slivers * K * nr);
  pool().run(slivers, [&](int64_t j, int) {
    float* dst = packed + j * K * nr;
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

// Packs rows [m0, m0 + mc) x columns [k0, k0 + kc) of a strided matrix
// A[m][k] = a[m * rs + k * cs] into MR-row slivers ([kc][MR] each), zero beyond row mc.
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
  float* ap = scratch(kPackedA, round_up(mc, mr) * std::min(K, KC));
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
  if (M <= 0 || N <= 0) return;  // an empty output: nothing to write (and no block sizes)
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

// Columns per sliver for the indirect kernels: two vectors, unless one-vector
// slivers leave fewer padding columns (e.g. 16 output channels with AVX-512).
int columns_vectors(const Isa& cpu, int64_t n) {
  const int64_t vl = cpu.vl;
  return round_up(n, 2 * vl) - n <= round_up(n, vl) - n ? 2 : 1;
}

// Convolution as an indirect GEMM: each output pixel's row of the im2col
// matrix is read in place, one input pixel (a run of channels) per tap, through
// a table of pointers (a zero row where the tap falls in the padding). The
// reduction runs in passes of whole taps x a fixed chunk of channels, both
// depending only on the shape, so the order of additions is fixed.
// b is the filter as a K x N matrix b[k * b_rs + n * b_cs], k = tap * C + c.
void conv2d_indirect(const ConvGeometry& g, const float* x, const float* b, int64_t b_rs,
                     int64_t b_cs, const Epilogue& ep, float* y) {
  const Isa& cpu = isa();
  const int64_t M = g.batch * g.out_h * g.out_w;
  const int64_t C = g.in_c, N = g.out_c;
  const int64_t taps = g.k_h * g.k_w;
  if (M <= 0 || N <= 0) return;
  if (C <= 0 || taps <= 0) {  // an empty sum: the output is the epilogue of zeros
    std::memset(y, 0, M * N * sizeof(float));
    ep.apply(y, N, M, 0, N);
    return;
  }
  const int nv = columns_vectors(cpu, N);
  const int64_t nr = nv * cpu.vl;
  const int mr = cpu.igemm_mr[nv - 1];
  const IgemmKernel kernel = cpu.igemm[nv - 1];
  const float* bp = pack_b(nr, taps * C, N, b, b_rs, b_cs);
  std::vector<int64_t> tap_offset(taps), tap_kh(taps), tap_kw(taps);
  for (int64_t t = 0; t < taps; ++t) {
    tap_kh[t] = t / g.k_w;
    tap_kw[t] = t % g.k_w;
    tap_offset[t] = (tap_kh[t] * g.dilation_h * g.in_w + tap_kw[t] * g.dilation_w) * C;
  }
  // Passes: channel chunks of at most KC, and as many whole taps as fit in KC.
  const int64_t chunks = ceil_div(C, KC);
  const int64_t cc = ceil_div(C, chunks);
  int64_t tg = std::max<int64_t>(1, KC / cc);
  // When a whole row of the filter (k_w taps x C channels) fits in a pass, the
  // taps of one filter row read k_w * C contiguous floats of the input for a
  // window that does not cross the image's left or right edge: those rows of A
  // are read as one run (the same products, added in the same order). Passes
  // then hold whole filter rows.
  const bool merge = chunks == 1 && g.dilation_w == 1 && g.k_w > 1 && g.k_w * C <= KC;
  if (merge) tg = (KC / (g.k_w * C)) * g.k_w;
  const std::vector<float> zeros(merge ? g.k_w * C : C, 0.f);
  // Work units: row blocks x column blocks, as in gemm_parallel.
  const int64_t threads = pool().size();
  const int64_t unit = mr * 4;
  int64_t mc = std::min<int64_t>(unit * 6, round_up(M, unit));
  while (mc > unit && ceil_div(M, mc) < 2 * threads) mc -= unit;
  const int64_t row_blocks = ceil_div(M, mc);
  int64_t nc = round_up(std::min<int64_t>(N, 256), nr);
  if (row_blocks < 2 * threads) {
    const int64_t want = std::min(ceil_div(N, nr), ceil_div(2 * threads, row_blocks));
    nc = std::min(nc, round_up(ceil_div(N, std::max<int64_t>(want, 1)), nr));
  }
  const int64_t col_blocks = ceil_div(N, nc);
  pool().run(row_blocks * col_blocks, [&](int64_t u, int) {
    const int64_t m0 = (u / col_blocks) * mc;
    const int64_t n0 = (u % col_blocks) * nc;
    const int64_t rows = std::min(mc, M - m0);
    const int64_t cols = std::min(nc, N - n0);
    // Per row: its image and the top-left input position of its window, and
    // whether the whole window lies inside the image (then every tap's row is
    // the window's corner plus a fixed offset).
    thread_local std::vector<int64_t> origin;
    thread_local std::vector<const float*> ptrs;
    origin.resize(4 * round_up(rows, mr));
    ptrs.resize(static_cast<size_t>(std::min(taps, tg)) * mr);
    // (n, oh, ow) of row m0, then stepped row by row: no divisions per row.
    int64_t ow = m0 % g.out_w, oh = (m0 / g.out_w) % g.out_h, n = m0 / (g.out_w * g.out_h);
    for (int64_t i = 0; i < round_up(rows, mr); ++i) {
      int64_t* o = &origin[4 * i];
      if (i >= rows) {
        // A padding row of the last tile: it reads the zero row at every tap.
        // All four entries are written, flags included: `origin` is
        // thread_local, and a flag left from an earlier call marking the row
        // "inside the image" made it read a window at image -1, before the
        // start of x (a wild read, and a SIGSEGV where that memory was not
        // mapped, e.g. an empty dy in a gradient).
        o[0] = -1;
        o[1] = o[2] = o[3] = 0;
        continue;
      }
      o[0] = n;
      o[1] = oh * g.stride_h - g.pad_top;
      o[2] = ow * g.stride_w - g.pad_left;
      if (++ow == g.out_w) {
        ow = 0;
        if (++oh == g.out_h) {
          oh = 0;
          ++n;
        }
      }
      const bool inside_w = o[2] >= 0 && o[2] + (g.k_w - 1) * g.dilation_w < g.in_w;
      o[3] = (o[1] >= 0 && o[1] + (g.k_h - 1) * g.dilation_h < g.in_h && inside_w ? 1 : 0) |
             (inside_w ? 2 : 0);
    }
    float* cblock = y + m0 * N;
    bool first = true;
    for (int64_t c0 = 0; c0 < C; c0 += cc) {
      const int64_t kc = std::min(cc, C - c0);
      for (int64_t t0 = 0; t0 < taps; t0 += tg) {
        const int64_t nt = std::min(tg, taps - t0);
        for (int64_t i = 0; i < rows; i += mr) {
          const int r_count = static_cast<int>(std::min<int64_t>(mr, rows - i));
          if (merge) {
            bool inside = true;
            for (int r = 0; r < r_count; ++r) inside = inside && (origin[4 * (i + r) + 3] & 2);
            if (inside) {
              const int64_t kh0 = t0 / g.k_w, nkh = nt / g.k_w;
              for (int r = 0; r < mr; ++r) {
                const int64_t* o = &origin[4 * (i + r)];
                for (int64_t q = 0; q < nkh; ++q) {
                  const int64_t ih = o[1] + (kh0 + q) * g.dilation_h;
                  ptrs[q * mr + r] = o[0] >= 0 && ih >= 0 && ih < g.in_h
                                         ? x + ((o[0] * g.in_h + ih) * g.in_w + o[2]) * C
                                         : zeros.data();
                }
              }
              for (int64_t j = n0; j < n0 + cols; j += nr) {
                const float* bs = bp + (j / nr) * taps * C * nr + t0 * C * nr;
                kernel(nkh, g.k_w * C, ptrs.data(), bs, g.k_w * C * nr, cblock + i * N + j, N,
                       r_count, static_cast<int>(std::min<int64_t>(nr, n0 + cols - j)), !first);
              }
              continue;
            }
          }
          for (int r = 0; r < mr; ++r) {
            const int64_t* o = &origin[4 * (i + r)];
            if (o[3] & 1) {
              const float* corner = x + ((o[0] * g.in_h + o[1]) * g.in_w + o[2]) * C + c0;
              for (int64_t t = 0; t < nt; ++t) ptrs[t * mr + r] = corner + tap_offset[t0 + t];
              continue;
            }
            for (int64_t t = 0; t < nt; ++t) {
              const int64_t kh = tap_kh[t0 + t], kw = tap_kw[t0 + t];
              const float* p = zeros.data() + c0;
              if (o[0] >= 0) {
                const int64_t ih = o[1] + kh * g.dilation_h, iw = o[2] + kw * g.dilation_w;
                if (ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w)
                  p = x + ((o[0] * g.in_h + ih) * g.in_w + iw) * C + c0;
              }
              ptrs[t * mr + r] = p;
            }
          }
          for (int64_t j = n0; j < n0 + cols; j += nr) {
            const float* bs = bp + (j / nr) * taps * C * nr + (t0 * C + c0) * nr;
            kernel(nt, kc, ptrs.data(), bs, C * nr, cblock + i * N + j, N, r_count,
                   static_cast<int>(std::min<int64_t>(nr, n0 + cols - j)), !first);
          }
        }
        first = false;
      }
    }
    ep.apply(cblock, N, rows, n0, cols);
  });
}

}  // namespace

void conv2d(const ConvGeometry& g, const float* x, const float* filter, const float* bias,
            Activation act, float* y) {
  Epilogue ep;
  ep.bias = bias;
  ep.act = act;
  conv2d_indirect(g, x, filter, g.out_c, 1, ep, y);
}

void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* filter,
                           float* dx) {
  const Isa& cpu = isa();
  const int64_t K = g.k_h * g.k_w * g.in_c;
  if (g.stride_h == 1 && g.stride_w == 1) {
    // A stride-1 input gradient is a forward convolution of dy with the filter
    // rotated by 180° and its channels swapped, so it gathers instead of scattering.
    const int64_t taps = g.k_h * g.k_w;
    float* rotated = scratch(kRotated, taps * g.out_c * g.in_c);
    for (int64_t kh = 0; kh < g.k_h; ++kh)
      for (int64_t kw = 0; kw < g.k_w; ++kw) {
        const float* src = filter + ((g.k_h - 1 - kh) * g.k_w + (g.k_w - 1 - kw)) * g.in_c * g.out_c;
        float* dst = rotated + (kh * g.k_w + kw) * g.out_c * g.in_c;
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
    conv2d_indirect(t, dy, rotated, g.in_c, 1, Epilogue{}, dx);
    return;
  }
  // Strided: dcol = dy · filterᵀ, then scatter-add (col2im). Scatters from
  // neighbouring rows overlap, so one image is one unit of work, summed in row order.
  const float* bp = pack_b(cpu.nr, g.out_c, K, filter, 1, g.out_c);
  const int64_t rows = g.out_h * g.out_w;
  const int64_t mc = std::min<int64_t>(rows, 96);
  pool().run(g.batch, [&](int64_t n, int) {
    float* image = dx + n * g.in_h * g.in_w * g.in_c;
    std::memset(image, 0, g.in_h * g.in_w * g.in_c * sizeof(float));
    const float* dy_n = dy + n * rows * g.out_c;
    float* dcol = scratch(kColumns, mc * K);
    for (int64_t m0 = 0; m0 < rows; m0 += mc) {
      const int64_t count = std::min(mc, rows - m0);
      auto pack = [&](int64_t a0, int64_t ac, int64_t k0, int64_t kc, float* dst) {
        pack_a_strided(cpu.mr, a0, ac, k0, kc, dst, dy_n, g.out_c, 1);
      };
      gemm_block(cpu, m0, count, 0, K, g.out_c, pack, bp, dcol, K, false);
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

namespace {

// The filter gradient through the packed GEMM: for output channel counts the
// direct kernels do not cover.
void conv2d_backprop_filter_gemm(const ConvGeometry& g, const float* x, const float* dy,
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
  float* partial = scratch(kPartial, chunks * Co * K);
  pool().run(chunks, [&](int64_t ci, int) {
    float* out = partial + ci * Co * K;
    const int64_t r0 = ci * chunk, r1 = std::min(M, r0 + chunk);
    if (r1 <= r0) {
      std::memset(out, 0, Co * K * sizeof(float));
      return;
    }
    float* ap = scratch(kPackedA, round_up(Co, mr) * KC);
    float* bp = scratch(kColumns, KC * round_up(std::min(K, NB), nr));
    float* row = scratch(kRow, NB);
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
        const float* p = partial + c * Co * K;
        for (int64_t co = 0; co < Co; ++co) d[co] += p[co * K + k];
      }
    }
  });
}

// The filter gradient computed directly: for each tap, dW[tap][c][co] =
// Σ_m x[pixel(m, tap)][c] · dy[m][co], a register tile of input channels x
// output channels accumulated over runs of output pixels that see the image
// at that tap (taps in the padding contribute nothing and are skipped). The
// output pixels are cut into chunks whose size depends only on the shapes;
// each chunk has its own partial sum, added in chunk order at the end.
void conv2d_backprop_filter_direct(const ConvGeometry& g, const float* x, const float* dy,
                                   float* dfilter, int nv) {
  const Isa& cpu = isa();
  const int64_t M = g.batch * g.out_h * g.out_w;
  const int64_t C = g.in_c, Co = g.out_c;
  const int64_t K = g.k_h * g.k_w * C;
  const int64_t nr = nv * cpu.vl;
  // When every window lies inside the image horizontally (no left/right
  // padding), the k_w taps of a filter row read k_w * C contiguous input
  // floats: one filter row is then one "tap" of k_w * C channels.
  const bool merge = g.dilation_w == 1 && g.k_w > 1 && g.pad_left == 0 &&
                     (g.out_w - 1) * g.stride_w + g.k_w <= g.in_w;
  const int64_t taps = merge ? g.k_h : g.k_h * g.k_w;
  const int64_t tap_w = merge ? 1 : g.k_w;
  const int64_t width = merge ? g.k_w * C : C;  // rows of dW per tap
  // Channel blocks: as many of the widest tile as fit, then halves for the rest.
  std::vector<std::pair<int64_t, WgradKernel>> blocks;  // {first channel, kernel}, 16 >> i rows
  std::vector<int64_t> block_rows;
  for (int64_t c = 0, i = 0; c < width;) {
    const int64_t rows = int64_t{16} >> i;
    const WgradKernel k = cpu.wgrad[nv - 1][i];
    if (k && c + rows <= width) {
      blocks.push_back({c, k});
      block_rows.push_back(rows);
      c += rows;
    } else {
      ++i;
    }
  }
  const int64_t chunks = std::max<int64_t>(
      1, std::min({ceil_div(M, 512), int64_t{64}, (int64_t{1} << 22) / std::max<int64_t>(K * Co, 1)}));
  const int64_t chunk = ceil_div(M, chunks);
  float* partial = chunks > 1 ? scratch(kPartial, chunks * K * Co) : nullptr;
  // Units of work: chunk x tap x group of output channels; each writes its own tiles.
  const int64_t group = round_up(std::min<int64_t>(Co, 64), nr);
  const int64_t groups = ceil_div(Co, group);
  pool().run(chunks * taps * groups, [&](int64_t u, int) {
    const int64_t ch = u / (taps * groups);
    const int64_t t = (u / groups) % taps;
    const int64_t co0 = (u % groups) * group;
    const int64_t co1 = std::min(Co, co0 + group);
    const int64_t kh = t / tap_w, kw = t % tap_w;
    float* out = (chunks > 1 ? partial + ch * K * Co : dfilter) + t * width * Co;
    // Runs of consecutive output pixels of this chunk whose tap lies in the image.
    thread_local std::vector<int64_t> runs;
    runs.clear();
    const int64_t m1 = std::min(M, (ch + 1) * chunk);
    // The output columns whose tap column lies in the image: [ow_lo, ow_hi).
    const int64_t off_w = kw * g.dilation_w - g.pad_left;
    const int64_t ow_lo = off_w >= 0 ? 0 : ceil_div(-off_w, g.stride_w);
    const int64_t ow_hi = std::min(g.out_w, off_w >= g.in_w ? 0 : ceil_div(g.in_w - off_w, g.stride_w));
    for (int64_t m = ch * chunk; m < m1;) {
      const int64_t ow = m % g.out_w, row = m / g.out_w;
      const int64_t end = std::min(m1, m + g.out_w - ow);
      const int64_t oh = row % g.out_h, n = row / g.out_h;
      const int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
      const int64_t a = std::max(ow, ow_lo), b = std::min(ow + (end - m), ow_hi);
      if (ih >= 0 && ih < g.in_h && a < b) {
        const int64_t iw = a * g.stride_w + off_w;
        runs.push_back(((n * g.in_h + ih) * g.in_w + iw) * C);
        runs.push_back((m + (a - ow)) * Co);
        runs.push_back(b - a);
      }
      m = end;
    }
    // Sub-chunks of about kSubPixels output pixels (whole runs): each tile's
    // slice of dy and x is then read from L1 for every channel block; the
    // tile's sums are added to its output once per sub-chunk.
    constexpr int64_t kSubPixels = 128;
    const int64_t nruns = static_cast<int64_t>(runs.size() / 3);
    for (int64_t r0 = 0, sub = 0; r0 < nruns || (r0 == 0 && sub == 0); ++sub) {
      int64_t r1 = r0, pixels = 0;
      while (r1 < nruns && pixels < kSubPixels) pixels += runs[3 * r1++ + 2];
      for (size_t bi = 0; bi < blocks.size(); ++bi) {
        const int64_t c0 = blocks[bi].first;
        for (int64_t co = co0; co < co1; co += nr)
          blocks[bi].second(r1 - r0, runs.data() + 3 * r0, x + c0, g.stride_w * C, dy + co, Co,
                            out + c0 * Co + co, Co, sub > 0);
      }
      r0 = r1;
    }
  });
  if (chunks == 1) return;
  const int64_t total = K * Co, piece = 4096;
  pool().run(ceil_div(total, piece), [&](int64_t b, int) {
    const int64_t i0 = b * piece, i1 = std::min(total, i0 + piece);
    std::memcpy(dfilter + i0, partial + i0, (i1 - i0) * sizeof(float));
    for (int64_t c = 1; c < chunks; ++c) {
      const float* p = partial + c * total;
      for (int64_t i = i0; i < i1; ++i) dfilter[i] += p[i];
    }
  });
}

}  // namespace

void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy,
                            float* dfilter) {
  const Isa& cpu = isa();
  const int64_t Co = g.out_c;
  if (Co > 0 && Co % cpu.vl == 0 && g.in_c > 0 && g.k_h * g.k_w > 0) {
    const int nv = Co % (2 * cpu.vl) == 0 ? 2 : 1;
    conv2d_backprop_filter_direct(g, x, dy, dfilter, nv);
  } else {
    conv2d_backprop_filter_gemm(g, x, dy, dfilter);
  }
}

void matmul(const MatMulShape& s, const float* a, const float* b, const float* bias,
            int64_t bias_len, Activation act, float* c) {
  const Isa& cpu = isa();
  const int64_t batch = std::max(s.batch_a, s.batch_b);
  // An empty output (a batch, M or N of 0) has nothing to write; K = 0 writes
  // the epilogue of zeros through gemm_block.
  if (s.batch_a <= 0 || s.batch_b <= 0 || s.m <= 0 || s.n <= 0 || s.k < 0) return;
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
    const float* bp = pack_b(cpu.nr, s.k, s.n, bi, b_rs, b_cs);
    auto pack = [&](int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
      pack_a_strided(cpu.mr, m0, mc, k0, kc, dst, ai, a_rs, a_cs);
    };
    gemm_parallel(cpu, s.m, s.n, s.k, pack, bp, ci, s.n, ep);
  }
}

}  // namespace convnets
