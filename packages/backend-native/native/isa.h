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

struct Isa {
  const char* name;
  int mr;
  int nr;
  MicroKernel micro;
};

const Isa& isa_avx512();
const Isa& isa_avx2();
const Isa& isa_generic();

// The best ISA this CPU supports (or CONVNETS_NATIVE_ISA=avx512|avx2|generic).
const Isa& isa();

}  // namespace convnets
