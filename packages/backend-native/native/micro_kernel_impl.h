// The GEMM micro-kernel, included once by each isa_*.cc with VL (floats per
// vector), MR (rows), ISA_NAME and ISA_FN defined and a target pragma in
// effect. It keeps MR x 2 vectors of C in registers; NR = 2 * VL.
// (No include guard: it is meant to be compiled several times.)
#include <cstring>

namespace {

constexpr int NR = 2 * VL;
typedef float vf __attribute__((vector_size(VL * 4)));

inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

void micro(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* __restrict c,
           int64_t ldc, int mr, int nr, bool accumulate) {
  vf acc[MR][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = vf{};
  for (int64_t k = 0; k < kc; ++k) {
    const vf b0 = load(bp + k * NR);
    const vf b1 = load(bp + k * NR + VL);
    const float* a = ap + k * MR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      acc[r][0] += a[r] * b0;
      acc[r][1] += a[r] * b1;
    }
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      float* row = c + r * ldc;
      if (accumulate) {
        store(row, load(row) + acc[r][0]);
        store(row + VL, load(row + VL) + acc[r][1]);
      } else {
        store(row, acc[r][0]);
        store(row + VL, acc[r][1]);
      }
    }
    return;
  }
  float tile[MR][NR];
  for (int r = 0; r < MR; ++r) {
    store(tile[r], acc[r][0]);
    store(tile[r] + VL, acc[r][1]);
  }
  for (int r = 0; r < mr; ++r) {
    float* row = c + r * ldc;
    if (accumulate)
      for (int j = 0; j < nr; ++j) row[j] += tile[r][j];
    else
      for (int j = 0; j < nr; ++j) row[j] = tile[r][j];
  }
}

}  // namespace

namespace convnets {
const Isa& ISA_FN() {
  static const Isa isa{ISA_NAME, MR, NR, micro};
  return isa;
}
}  // namespace convnets
