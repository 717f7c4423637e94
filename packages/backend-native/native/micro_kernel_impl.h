// The ISA-specific kernels, included once by each isa_*.cc with VL (floats per
// vector), MR (rows of the packed GEMM kernel), IG_MR1/IG_MR2 (rows of the
// indirect convolution kernel one and two vectors wide), WG_MAX1/WG_MAX2 (most channels per filter-gradient tile
// one and two vectors wide), ISA_NAME and ISA_FN defined and a target pragma in
// effect. (No include guard: it is meant to be compiled several times.)
//
// Every kernel keeps its tile of C in registers and adds its products in one
// fixed order (k ascending), so results depend only on the inputs and the ISA.
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

// Writes (or adds) a ROWS x NV-vector register tile to c, clipped to mr x nr.
template <int ROWS, int NV>
inline void store_tile(vf (&acc)[ROWS][NV], float* __restrict c, int64_t ldc, int mr, int nr,
                       bool accumulate) {
  if (mr == ROWS && nr == NV * VL) {
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      float* row = c + r * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        if (accumulate)
          store(row + v * VL, load(row + v * VL) + acc[r][v]);
        else
          store(row + v * VL, acc[r][v]);
      }
    }
    return;
  }
  float tile[ROWS][NV * VL];
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v) store(tile[r] + v * VL, acc[r][v]);
  for (int r = 0; r < mr; ++r) {
    float* row = c + r * ldc;
    if (accumulate)
      for (int j = 0; j < nr; ++j) row[j] += tile[r][j];
    else
      for (int j = 0; j < nr; ++j) row[j] = tile[r][j];
  }
}

// Packed GEMM: C[mr x nr] (+)= Ap · Bp, Ap as [kc][MR], Bp as [kc][NR].
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
  store_tile<MR, 2>(acc, c, ldc, mr, nr, accumulate);
}

// Indirect GEMM (convolution without im2col): row r of A is, for each tap t,
// kc contiguous floats at ptrs[t * ROWS + r]; B is packed [taps][b_tap_stride]
// with [kc][NV * VL] per tap.
template <int ROWS, int NV>
void igemm(int64_t taps, int64_t kc, const float* const* __restrict ptrs,
           const float* __restrict bp, int64_t b_tap_stride, float* __restrict c, int64_t ldc,
           int mr, int nr, bool accumulate) {
  vf acc[ROWS][NV];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = vf{};
  for (int64_t t = 0; t < taps; ++t) {
    const float* a[ROWS];
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) a[r] = ptrs[t * ROWS + r];
    const float* b = bp + t * b_tap_stride;
    for (int64_t k = 0; k < kc; ++k) {
      vf bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = load(b + k * (NV * VL) + v * VL);
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        const float s = a[r][k];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] += s * bv[v];
      }
    }
  }
  store_tile<ROWS, NV>(acc, c, ldc, mr, nr, accumulate);
}

// Filter-gradient tile: out[r][v·VL + j] (+)= Σ over runs, Σ_{i < len}
// x[xo + i·x_step + r] · dy[dyo + i·dy_step + v·VL + j], for ROWS input
// channels and NV vectors of output channels; run = {xo, dyo, len}.
template <int ROWS, int NV>
void wgrad(int64_t runs, const int64_t* __restrict run, const float* __restrict x,
           int64_t x_step, const float* __restrict dy, int64_t dy_step, float* __restrict out,
           int64_t ldo, bool accumulate) {
  vf acc[ROWS][NV];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = vf{};
  for (int64_t u = 0; u < runs; ++u) {
    const float* xp = x + run[3 * u];
    const float* dp = dy + run[3 * u + 1];
    const int64_t len = run[3 * u + 2];
    for (int64_t i = 0; i < len; ++i) {
      vf d[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) d[v] = load(dp + v * VL);
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        const float s = xp[r];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] += s * d[v];
      }
      xp += x_step;
      dp += dy_step;
    }
  }
  store_tile<ROWS, NV>(acc, out, ldo, ROWS, NV * VL, accumulate);
}

template <int ROWS, int NV>
constexpr convnets::WgradKernel wgrad_or_null() {
  if constexpr (ROWS <= (NV == 1 ? WG_MAX1 : WG_MAX2))
    return wgrad<ROWS, NV>;
  else
    return nullptr;
}

}  // namespace

namespace convnets {
const Isa& ISA_FN() {
  static const Isa isa{ISA_NAME,
                       MR,
                       NR,
                       micro,
                       VL,
                       {IG_MR1, IG_MR2},
                       {igemm<IG_MR1, 1>, igemm<IG_MR2, 2>},
                       {{wgrad_or_null<16, 1>(), wgrad_or_null<8, 1>(), wgrad_or_null<4, 1>(),
                         wgrad_or_null<2, 1>(), wgrad_or_null<1, 1>()},
                        {wgrad_or_null<16, 2>(), wgrad_or_null<8, 2>(), wgrad_or_null<4, 2>(),
                         wgrad_or_null<2, 2>(), wgrad_or_null<1, 2>()}}};
  return isa;
}
}  // namespace convnets
