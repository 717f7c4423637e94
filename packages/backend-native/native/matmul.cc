// matmul (ops.h): a batch of packed GEMMs with an optional bias and activation.
#include <algorithm>
#include <vector>

#include "gemm.h"
#include "ops.h"

namespace convnets {

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
