// The packed GEMM shared by the convolution and matmul kernels: blocking
// constants, per-thread scratch buffers, packing of A and B, and the
// single-thread block and parallel drivers over an ISA's micro-kernel.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "isa.h"
#include "ops.h"
#include "thread_pool.h"

namespace convnets {

// Depth of one pass over the reduction dimension. It is the only blocking
// parameter that changes the order of floating-point additions, so it is a
// constant: results do not depend on the thread count or on how rows and
// columns are split among threads.
constexpr int64_t KC = 256;
// Columns of B packed at a time when B is produced on the fly (filter gradient).
constexpr int64_t NB = 512;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Per-thread scratch buffers, grown on demand and kept for the next call.
// Slots 0-2 are used inside gemm_block and the packers (on every thread); the
// others hold a whole call's packed filter, rotated filter or partial sums (on
// the calling thread), so that large buffers are not allocated, zero-filled
// and page-faulted on every call. Their contents are always written before use.
enum Slot { kPackedA = 0, kColumns = 1, kRow = 2, kPackedB = 3, kRotated = 4, kPartial = 5 };
float* scratch(int slot, int64_t size);

// Packs B[k][n] = b[k * rs + n * cs] (k < K, n < N) into NR-column slivers
// covering all of K: sliver j holds [K][NR], zero beyond column N.
const float* pack_b(int64_t nr, int64_t K, int64_t N, const float* b, int64_t rs, int64_t cs);

// Packs rows [m0, m0 + mc) x columns [k0, k0 + kc) of a strided matrix
// A[m][k] = a[m * rs + k * cs] into MR-row slivers ([kc][MR] each), zero beyond row mc.
void pack_a_strided(int mr, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst,
                    const float* a, int64_t rs, int64_t cs);

// Columns per sliver for the indirect kernels: two vectors, unless one-vector
// slivers leave fewer padding columns (e.g. 16 output channels with AVX-512).
int columns_vectors(const Isa& cpu, int64_t n);

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

}  // namespace convnets
