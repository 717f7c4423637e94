// conv2d_backprop_filter (ops.h): the filter gradient, computed directly with
// the ISA's register-tile kernels when the output channels fill whole
// vectors, and through the packed GEMM over im2col(x) otherwise. Both cut the
// output pixels into chunks whose size depends only on the shapes, each with
// its own partial sum, added in chunk order at the end.
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "gemm.h"
#include "isa.h"
#include "ops.h"
#include "thread_pool.h"

namespace convnets {
namespace {

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

// Packs rows [pc, pc + kc) x columns [jn, jn + nb) of im2col(x) into
// NR-column slivers ([kc][NR] each), zero beyond column nb; row is scratch.
void pack_im2col(const ConvGeometry& g, const float* x, int nr, int64_t pc, int64_t kc,
                 int64_t jn, int64_t nb, float* bp, float* row) {
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
}

// One chunk's partial dfilterᵀ[out_c, K] = dyᵀ · im2col(x) over the output
// pixels [r0, r1), written to out (zeros for an empty chunk).
void filter_gemm_chunk(const ConvGeometry& g, const float* x, const float* dy, int64_t r0,
                       int64_t r1, float* out) {
  const Isa& cpu = isa();
  const int mr = cpu.mr, nr = cpu.nr;
  const int64_t K = g.k_h * g.k_w * g.in_c;
  const int64_t Co = g.out_c;
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
      pack_im2col(g, x, nr, pc, kc, jn, nb, bp, row);
      const int64_t slivers = ceil_div(nb, nr);
      for (int64_t s = 0; s < slivers; ++s) {
        const int cols = static_cast<int>(std::min<int64_t>(nr, nb - s * nr));
        for (int64_t i = 0; i < Co; i += mr) {
          cpu.micro(kc, ap + (i / mr) * kc * mr, bp + s * kc * nr, out + i * K + jn + s * nr, K,
                    static_cast<int>(std::min<int64_t>(mr, Co - i)), cols, pc > r0);
        }
      }
    }
  }
}

// The filter gradient through the packed GEMM: for output channel counts the
// direct kernels do not cover.
void conv2d_backprop_filter_gemm(const ConvGeometry& g, const float* x, const float* dy,
                                 float* dfilter) {
  // dfilterᵀ[out_c, K] = dyᵀ[out_c, M] · im2col(x)[M, K]: the long dimension M is
  // the reduction, cut into chunks whose size depends only on the shapes; each
  // chunk has its own partial sum, and the partials are added in chunk order.
  const int64_t M = g.batch * g.out_h * g.out_w;
  const int64_t K = g.k_h * g.k_w * g.in_c;
  const int64_t Co = g.out_c;
  const int64_t chunk = std::max(KC, round_up(ceil_div(M, 16), KC));
  const int64_t chunks = std::max<int64_t>(1, ceil_div(M, chunk));
  float* partial = scratch(kPartial, chunks * Co * K);
  pool().run(chunks, [&](int64_t ci, int) {
    const int64_t r0 = ci * chunk, r1 = std::min(M, r0 + chunk);
    filter_gemm_chunk(g, x, dy, r0, r1, partial + ci * Co * K);
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

// Channel blocks of the direct kernels, {first channel, kernel}: as many of
// the widest tile (16 rows) as fit in `width`, then halves for the rest.
std::vector<std::pair<int64_t, WgradKernel>> wgrad_blocks(const Isa& cpu, int nv, int64_t width) {
  std::vector<std::pair<int64_t, WgradKernel>> blocks;
  for (int64_t c = 0, i = 0; c < width;) {
    const int64_t rows = int64_t{16} >> i;
    const WgradKernel k = cpu.wgrad[nv - 1][i];
    if (k && c + rows <= width) {
      blocks.push_back({c, k});
      c += rows;
    } else {
      ++i;
    }
  }
  return blocks;
}

// How the direct filter gradient splits its work.
struct DirectPlan {
  int64_t M, C, Co, K, nr;
  int64_t taps, tap_w, width;  // taps of the (possibly merged) filter; rows of dW per tap
  int64_t chunks, chunk;       // output pixels per partial sum
  int64_t group, groups;       // output channels per unit of work
};

DirectPlan direct_plan(const ConvGeometry& g, int64_t nr) {
  DirectPlan p;
  p.M = g.batch * g.out_h * g.out_w;
  p.C = g.in_c;
  p.Co = g.out_c;
  p.K = g.k_h * g.k_w * p.C;
  p.nr = nr;
  // When every window lies inside the image horizontally (no left/right
  // padding), the k_w taps of a filter row read k_w * C contiguous input
  // floats: one filter row is then one "tap" of k_w * C channels.
  const bool merge = g.dilation_w == 1 && g.k_w > 1 && g.pad_left == 0 &&
                     (g.out_w - 1) * g.stride_w + g.k_w <= g.in_w;
  p.taps = merge ? g.k_h : g.k_h * g.k_w;
  p.tap_w = merge ? 1 : g.k_w;
  p.width = merge ? g.k_w * p.C : p.C;
  const int64_t most = (int64_t{1} << 22) / std::max<int64_t>(p.K * p.Co, 1);
  p.chunks = std::max<int64_t>(1, std::min({ceil_div(p.M, 512), int64_t{64}, most}));
  p.chunk = ceil_div(p.M, p.chunks);
  p.group = round_up(std::min<int64_t>(p.Co, 64), nr);
  p.groups = ceil_div(p.Co, p.group);
  return p;
}

// Runs of consecutive output pixels in [m0, m1) whose tap (kh, kw) lies in the
// image, as {x offset, dy offset, length} triples.
void tap_runs(const ConvGeometry& g, const DirectPlan& p, int64_t m0, int64_t m1, int64_t kh,
              int64_t kw, std::vector<int64_t>& runs) {
  runs.clear();
  // The output columns whose tap column lies in the image: [ow_lo, ow_hi).
  const int64_t off_w = kw * g.dilation_w - g.pad_left;
  const int64_t ow_lo = off_w >= 0 ? 0 : ceil_div(-off_w, g.stride_w);
  const int64_t ow_hi =
      std::min(g.out_w, off_w >= g.in_w ? 0 : ceil_div(g.in_w - off_w, g.stride_w));
  for (int64_t m = m0; m < m1;) {
    const int64_t ow = m % g.out_w, row = m / g.out_w;
    const int64_t end = std::min(m1, m + g.out_w - ow);
    const int64_t oh = row % g.out_h, n = row / g.out_h;
    const int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
    const int64_t a = std::max(ow, ow_lo), b = std::min(ow + (end - m), ow_hi);
    if (ih >= 0 && ih < g.in_h && a < b) {
      const int64_t iw = a * g.stride_w + off_w;
      runs.push_back(((n * g.in_h + ih) * g.in_w + iw) * p.C);
      runs.push_back((m + (a - ow)) * p.Co);
      runs.push_back(b - a);
    }
    m = end;
  }
}

// Unit u of the direct filter gradient (chunk x tap x group of output
// channels): accumulates its tiles of dW (or of the chunk's partial sum).
void direct_unit(const ConvGeometry& g, const DirectPlan& p,
                 const std::vector<std::pair<int64_t, WgradKernel>>& blocks, const float* x,
                 const float* dy, float* base, int64_t u) {
  const int64_t ch = u / (p.taps * p.groups);
  const int64_t t = (u / p.groups) % p.taps;
  const int64_t co0 = (u % p.groups) * p.group;
  const int64_t co1 = std::min(p.Co, co0 + p.group);
  float* out = base + ch * p.K * p.Co + t * p.width * p.Co;
  thread_local std::vector<int64_t> runs;
  tap_runs(g, p, ch * p.chunk, std::min(p.M, (ch + 1) * p.chunk), t / p.tap_w, t % p.tap_w, runs);
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
      for (int64_t co = co0; co < co1; co += p.nr)
        blocks[bi].second(r1 - r0, runs.data() + 3 * r0, x + c0, g.stride_w * p.C, dy + co, p.Co,
                          out + c0 * p.Co + co, p.Co, sub > 0);
    }
    r0 = r1;
  }
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
  const DirectPlan p = direct_plan(g, nv * cpu.vl);
  const auto blocks = wgrad_blocks(cpu, nv, p.width);
  float* partial = p.chunks > 1 ? scratch(kPartial, p.chunks * p.K * p.Co) : nullptr;
  // With one chunk, the units write dfilter itself (chunk 0's offset is 0).
  float* base = p.chunks > 1 ? partial : dfilter;
  pool().run(p.chunks * p.taps * p.groups,
             [&](int64_t u, int) { direct_unit(g, p, blocks, x, dy, base, u); });
  if (p.chunks == 1) return;
  const int64_t total = p.K * p.Co, piece = 4096;
  pool().run(ceil_div(total, piece), [&](int64_t b, int) {
    const int64_t i0 = b * piece, i1 = std::min(total, i0 + piece);
    std::memcpy(dfilter + i0, partial + i0, (i1 - i0) * sizeof(float));
    for (int64_t c = 1; c < p.chunks; ++c) {
      const float* q = partial + c * total;
      for (int64_t i = i0; i < i1; ++i) dfilter[i] += q[i];
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

}  // namespace convnets
