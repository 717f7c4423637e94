// The instruction-set-specific pieces: one GEMM micro-kernel per ISA, built
// from the same source (micro_kernel_impl.h) with different target options, and
// picked once at load time from what the CPU reports.
#pragma once

#include <cstdint>

namespace convnets {

// C[mr x nr] (+)= Ap · Bp over kc steps, where Ap holds MR rows interleaved
// ([k][MR]) and Bp holds NR columns interleaved ([k][NR]). mr ≤ MR and nr ≤ NR
// clip the tile at the matrix edge; the padding rows/columns of Ap/Bp are zero.
using MicroKernel = void (*)(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                             int mr, int nr, bool accumulate);

// Indirect GEMM for convolutions: C[mr x nr] (+)= Σ_t Σ_k A_t[r][k] · B[t][k][:],
// where row r of A_t is kc contiguous floats at ptrs[t * igemm_mr + r] (a zero
// row for padding) and B is packed with NV * vl columns, b_tap_stride floats per tap.
using IgemmKernel = void (*)(int64_t taps, int64_t kc, const float* const* ptrs, const float* bp,
                             int64_t b_tap_stride, float* c, int64_t ldc, int mr, int nr,
                             bool accumulate);

// Filter-gradient tile of ROWS input channels x NV * vl output channels:
// out[r][j] (+)= Σ_runs Σ_{i < len} x[xo + i·x_step + r] · dy[dyo + i·dy_step + j],
// runs given as {xo, dyo, len} triples; out has row stride ldo.
using WgradKernel = void (*)(int64_t runs, const int64_t* run, const float* x, int64_t x_step,
                             const float* dy, int64_t dy_step, float* out, int64_t ldo,
                             bool accumulate);

struct Isa {
  const char* name;
  int mr;
  int nr;
  MicroKernel micro;
  int vl;  // floats per vector
  int igemm_mr[2];       // rows of igemm[NV - 1]
  IgemmKernel igemm[2];  // NV = 1, 2 vectors of columns
  // wgrad[NV - 1][i] handles 16 >> i channels (nullptr where the ISA has too few registers).
  WgradKernel wgrad[2][5];
};

const Isa& isa_avx512();
const Isa& isa_avx2();
const Isa& isa_generic();

// The best ISA this CPU supports (or CONVNETS_NATIVE_ISA=avx512|avx2|generic).
const Isa& isa();

}  // namespace convnets
