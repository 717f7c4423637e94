// The packed GEMM's out-of-line pieces (gemm.h): scratch buffers and packing.
#include "gemm.h"

#include <vector>

namespace convnets {

float* scratch(int slot, int64_t size) {
  thread_local std::vector<float> buffers[6];
  auto& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < size) b.resize(size);
  return b.data();
}

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

int columns_vectors(const Isa& cpu, int64_t n) {
  const int64_t vl = cpu.vl;
  return round_up(n, 2 * vl) - n <= round_up(n, vl) - n ? 2 : 1;
}

}  // namespace convnets
