// conv2d and conv2d_backprop_input (ops.h). The forward convolution is an
// indirect GEMM; a stride-1 input gradient is the same convolution of dy with
// the rotated filter, a strided one a GEMM followed by a scatter-add (col2im).
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "isa.h"
#include "ops.h"
#include "thread_pool.h"

namespace convnets {
namespace {

// Convolution as an indirect GEMM: each output pixel's row of the im2col
// matrix is read in place, one input pixel (a run of channels) per tap, through
// a table of pointers (a zero row where the tap falls in the padding). The
// reduction runs in passes of whole taps x a fixed chunk of channels, both
// depending only on the shape, so the order of additions is fixed.
// b is the filter as a K x N matrix b[k * b_rs + n * b_cs], k = tap * C + c.
class IndirectConv {
 public:
  IndirectConv(const ConvGeometry& g, const float* x, const float* bp, const Epilogue& ep, float* y)
      : g_(g), x_(x), bp_(bp), ep_(ep), y_(y), cpu_(isa()) {
    M_ = g.batch * g.out_h * g.out_w;
    C_ = g.in_c;
    N_ = g.out_c;
    taps_ = g.k_h * g.k_w;
    const int nv = columns_vectors(cpu_, N_);
    nr_ = nv * cpu_.vl;
    mr_ = cpu_.igemm_mr[nv - 1];
    kernel_ = cpu_.igemm[nv - 1];
    plan_taps();
    plan_passes();
    plan_blocks();
  }

  // Runs every row x column block on the pool.
  void run() const {
    pool().run(row_blocks_ * col_blocks_, [&](int64_t u, int) { run_block(u); });
  }

 private:
  // One MR-row tile of one pass: rows [i, i + r_count) of the block, channels
  // [c0, c0 + kc) of taps [t0, t0 + nt), columns [n0, n0 + cols).
  struct Tile {
    int64_t i;
    int r_count;
    int64_t c0, kc, t0, nt, n0, cols;
    float* cblock;
    bool first;
  };

  void plan_taps() {
    tap_offset_.resize(taps_);
    tap_kh_.resize(taps_);
    tap_kw_.resize(taps_);
    for (int64_t t = 0; t < taps_; ++t) {
      tap_kh_[t] = t / g_.k_w;
      tap_kw_[t] = t % g_.k_w;
      tap_offset_[t] = (tap_kh_[t] * g_.dilation_h * g_.in_w + tap_kw_[t] * g_.dilation_w) * C_;
    }
  }

  // Passes: channel chunks of at most KC, and as many whole taps as fit in KC.
  void plan_passes() {
    const int64_t chunks = ceil_div(C_, KC);
    cc_ = ceil_div(C_, chunks);
    tg_ = std::max<int64_t>(1, KC / cc_);
    // When a whole row of the filter (k_w taps x C channels) fits in a pass, the
    // taps of one filter row read k_w * C contiguous floats of the input for a
    // window that does not cross the image's left or right edge: those rows of A
    // are read as one run (the same products, added in the same order). Passes
    // then hold whole filter rows.
    merge_ = chunks == 1 && g_.dilation_w == 1 && g_.k_w > 1 && g_.k_w * C_ <= KC;
    if (merge_) tg_ = (KC / (g_.k_w * C_)) * g_.k_w;
    zeros_.assign(merge_ ? g_.k_w * C_ : C_, 0.f);
  }

  // Work units: row blocks x column blocks, as in gemm_parallel.
  void plan_blocks() {
    const int64_t threads = pool().size();
    const int64_t unit = mr_ * 4;
    mc_ = std::min<int64_t>(unit * 6, round_up(M_, unit));
    while (mc_ > unit && ceil_div(M_, mc_) < 2 * threads) mc_ -= unit;
    row_blocks_ = ceil_div(M_, mc_);
    nc_ = round_up(std::min<int64_t>(N_, 256), nr_);
    if (row_blocks_ < 2 * threads) {
      const int64_t want = std::min(ceil_div(N_, nr_), ceil_div(2 * threads, row_blocks_));
      nc_ = std::min(nc_, round_up(ceil_div(N_, std::max<int64_t>(want, 1)), nr_));
    }
    col_blocks_ = ceil_div(N_, nc_);
  }

  // Per row of the block: its image and the top-left input position of its
  // window, and whether the whole window lies inside the image (bit 0; then
  // every tap's row is the window's corner plus a fixed offset) or inside it
  // horizontally (bit 1).
  void fill_origins(int64_t m0, int64_t rows, int64_t* origin) const {
    // (n, oh, ow) of row m0, then stepped row by row: no divisions per row.
    int64_t ow = m0 % g_.out_w, oh = (m0 / g_.out_w) % g_.out_h, n = m0 / (g_.out_w * g_.out_h);
    for (int64_t i = 0; i < round_up(rows, mr_); ++i) {
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
      o[1] = oh * g_.stride_h - g_.pad_top;
      o[2] = ow * g_.stride_w - g_.pad_left;
      if (++ow == g_.out_w) {
        ow = 0;
        if (++oh == g_.out_h) {
          oh = 0;
          ++n;
        }
      }
      const bool inside_w = o[2] >= 0 && o[2] + (g_.k_w - 1) * g_.dilation_w < g_.in_w;
      o[3] = (o[1] >= 0 && o[1] + (g_.k_h - 1) * g_.dilation_h < g_.in_h && inside_w ? 1 : 0) |
             (inside_w ? 2 : 0);
    }
  }

  // The tile with whole filter rows read as one run each, when every row's
  // window lies inside the image horizontally; returns false otherwise.
  bool tile_merged(const Tile& t, const int64_t* origin, const float** ptrs) const {
    for (int r = 0; r < t.r_count; ++r)
      if (!(origin[4 * (t.i + r) + 3] & 2)) return false;
    const int64_t kh0 = t.t0 / g_.k_w, nkh = t.nt / g_.k_w;
    for (int r = 0; r < mr_; ++r) {
      const int64_t* o = &origin[4 * (t.i + r)];
      for (int64_t q = 0; q < nkh; ++q) {
        const int64_t ih = o[1] + (kh0 + q) * g_.dilation_h;
        ptrs[q * mr_ + r] = o[0] >= 0 && ih >= 0 && ih < g_.in_h
                                ? x_ + ((o[0] * g_.in_h + ih) * g_.in_w + o[2]) * C_
                                : zeros_.data();
      }
    }
    for (int64_t j = t.n0; j < t.n0 + t.cols; j += nr_) {
      const float* bs = bp_ + (j / nr_) * taps_ * C_ * nr_ + t.t0 * C_ * nr_;
      kernel_(nkh, g_.k_w * C_, ptrs, bs, g_.k_w * C_ * nr_, t.cblock + t.i * N_ + j, N_,
              t.r_count, static_cast<int>(std::min<int64_t>(nr_, t.n0 + t.cols - j)), !t.first);
    }
    return true;
  }

  // The tile tap by tap: one pointer per row and tap (the zero row in the padding).
  void tile_taps(const Tile& t, const int64_t* origin, const float** ptrs) const {
    for (int r = 0; r < mr_; ++r) {
      const int64_t* o = &origin[4 * (t.i + r)];
      if (o[3] & 1) {
        const float* corner = x_ + ((o[0] * g_.in_h + o[1]) * g_.in_w + o[2]) * C_ + t.c0;
        for (int64_t q = 0; q < t.nt; ++q) ptrs[q * mr_ + r] = corner + tap_offset_[t.t0 + q];
        continue;
      }
      for (int64_t q = 0; q < t.nt; ++q) {
        const int64_t kh = tap_kh_[t.t0 + q], kw = tap_kw_[t.t0 + q];
        const float* p = zeros_.data() + t.c0;
        if (o[0] >= 0) {
          const int64_t ih = o[1] + kh * g_.dilation_h, iw = o[2] + kw * g_.dilation_w;
          if (ih >= 0 && ih < g_.in_h && iw >= 0 && iw < g_.in_w)
            p = x_ + ((o[0] * g_.in_h + ih) * g_.in_w + iw) * C_ + t.c0;
        }
        ptrs[q * mr_ + r] = p;
      }
    }
    for (int64_t j = t.n0; j < t.n0 + t.cols; j += nr_) {
      const float* bs = bp_ + (j / nr_) * taps_ * C_ * nr_ + (t.t0 * C_ + t.c0) * nr_;
      kernel_(t.nt, t.kc, ptrs, bs, C_ * nr_, t.cblock + t.i * N_ + j, N_, t.r_count,
              static_cast<int>(std::min<int64_t>(nr_, t.n0 + t.cols - j)), !t.first);
    }
  }

  // Block u: every pass over its rows and columns, then the epilogue.
  void run_block(int64_t u) const {
    const int64_t m0 = (u / col_blocks_) * mc_;
    const int64_t n0 = (u % col_blocks_) * nc_;
    const int64_t rows = std::min(mc_, M_ - m0);
    const int64_t cols = std::min(nc_, N_ - n0);
    thread_local std::vector<int64_t> origin;
    thread_local std::vector<const float*> ptrs;
    origin.resize(4 * round_up(rows, mr_));
    ptrs.resize(static_cast<size_t>(std::min(taps_, tg_)) * mr_);
    fill_origins(m0, rows, origin.data());
    Tile t{0, 0, 0, 0, 0, 0, n0, cols, y_ + m0 * N_, true};
    for (t.c0 = 0; t.c0 < C_; t.c0 += cc_) {
      t.kc = std::min(cc_, C_ - t.c0);
      for (t.t0 = 0; t.t0 < taps_; t.t0 += tg_) {
        t.nt = std::min(tg_, taps_ - t.t0);
        for (t.i = 0; t.i < rows; t.i += mr_) {
          t.r_count = static_cast<int>(std::min<int64_t>(mr_, rows - t.i));
          if (merge_ && tile_merged(t, origin.data(), ptrs.data())) continue;
          tile_taps(t, origin.data(), ptrs.data());
        }
        t.first = false;
      }
    }
    ep_.apply(t.cblock, N_, rows, n0, cols);
  }

  const ConvGeometry& g_;
  const float* x_;
  const float* bp_;
  const Epilogue& ep_;
  float* y_;
  const Isa& cpu_;
  int64_t M_, C_, N_, taps_;
  int64_t nr_;
  int mr_;
  IgemmKernel kernel_;
  std::vector<int64_t> tap_offset_, tap_kh_, tap_kw_;
  int64_t cc_, tg_;
  bool merge_;
  std::vector<float> zeros_;
  int64_t mc_, nc_, row_blocks_, col_blocks_;
};

void conv2d_indirect(const ConvGeometry& g, const float* x, const float* b, int64_t b_rs,
                     int64_t b_cs, const Epilogue& ep, float* y) {
  const int64_t M = g.batch * g.out_h * g.out_w;
  const int64_t C = g.in_c, N = g.out_c;
  const int64_t taps = g.k_h * g.k_w;
  if (M <= 0 || N <= 0) return;
  if (C <= 0 || taps <= 0) {  // an empty sum: the output is the epilogue of zeros
    std::memset(y, 0, M * N * sizeof(float));
    ep.apply(y, N, M, 0, N);
    return;
  }
  const int nv = columns_vectors(isa(), N);
  const float* bp = pack_b(nv * isa().vl, taps * C, N, b, b_rs, b_cs);
  IndirectConv(g, x, bp, ep, y).run();
}

// The filter rotated by 180° with its input and output channels swapped, for
// the stride-1 input gradient.
const float* rotated_filter(const ConvGeometry& g, const float* filter) {
  const int64_t taps = g.k_h * g.k_w;
  float* rotated = scratch(kRotated, taps * g.out_c * g.in_c);
  for (int64_t kh = 0; kh < g.k_h; ++kh)
    for (int64_t kw = 0; kw < g.k_w; ++kw) {
      const float* src = filter + ((g.k_h - 1 - kh) * g.k_w + (g.k_w - 1 - kw)) * g.in_c * g.out_c;
      float* dst = rotated + (kh * g.k_w + kw) * g.out_c * g.in_c;
      for (int64_t ci = 0; ci < g.in_c; ++ci)
        for (int64_t co = 0; co < g.out_c; ++co) dst[co * g.in_c + ci] = src[ci * g.out_c + co];
    }
  return rotated;
}

// A stride-1 input gradient is a forward convolution of dy with the filter
// rotated by 180° and its channels swapped, so it gathers instead of scattering.
void backprop_input_stride1(const ConvGeometry& g, const float* dy, const float* filter,
                            float* dx) {
  const float* rotated = rotated_filter(g, filter);
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
}

// Adds rows [m0, m0 + count) of one image's dcol (K columns each) into the
// input positions their taps read (col2im), in row order.
void col2im_add(const ConvGeometry& g, const float* dcol, int64_t m0, int64_t count, int64_t K,
                float* image) {
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

// Strided: dcol = dy · filterᵀ, then scatter-add (col2im). Scatters from
// neighbouring rows overlap, so one image is one unit of work, summed in row order.
void backprop_input_strided(const ConvGeometry& g, const float* dy, const float* filter,
                            float* dx) {
  const Isa& cpu = isa();
  const int64_t K = g.k_h * g.k_w * g.in_c;
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
      col2im_add(g, dcol, m0, count, K, image);
    }
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
  if (g.stride_h == 1 && g.stride_w == 1) {
    backprop_input_stride1(g, dy, filter, dx);
  } else {
    backprop_input_strided(g, dy, filter, dx);
  }
}

}  // namespace convnets
