#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace convnets {
namespace {

// Below this many elements a kernel runs on the calling thread only.
constexpr int64_t kParallelMin = 1 << 15;
// Elements per unit of parallel work.
constexpr int64_t kGrain = 1 << 14;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Runs fn(begin, end) over [0, n) in fixed-size pieces.
template <class F>
void parallel_range(int64_t n, int64_t grain, F&& fn) {
  if (n < kParallelMin || pool().size() == 1) {
    fn(int64_t{0}, n);
    return;
  }
  pool().run(ceil_div(n, grain), [&](int64_t c, int) { fn(c * grain, std::min(n, (c + 1) * grain)); });
}

template <BinaryOp op>
inline float apply(float a, float b) {
  if constexpr (op == BinaryOp::kAdd) return a + b;
  if constexpr (op == BinaryOp::kSub) return a - b;
  if constexpr (op == BinaryOp::kMul) return a * b;
  if constexpr (op == BinaryOp::kDiv) return a / b;
  if constexpr (op == BinaryOp::kMax) return a > b || std::isnan(a) ? a : b;
  if constexpr (op == BinaryOp::kMin) return a < b || std::isnan(a) ? a : b;
  if constexpr (op == BinaryOp::kSquaredDifference) return (a - b) * (a - b);
  return 0.f;
}

// The innermost loop, specialised for the contiguous and broadcast cases so
// that the compiler vectorises them.
template <BinaryOp op>
void inner(int64_t n, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
           float* __restrict out) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = apply<op>(a[i * sa], b[i * sb]);
  }
}

// Step: 1 where x > 0, alpha elsewhere, NaN stays NaN as in the cpu kernel.
// Written with vector selects, which the vectoriser does not find on its own.
void step(const float* __restrict s, float* __restrict d, int64_t n, float alpha) {
  typedef float v4 __attribute__((vector_size(16)));
  int64_t i = 0;
  const v4 one = {1.f, 1.f, 1.f, 1.f}, alph = {alpha, alpha, alpha, alpha};
  for (; i + 4 <= n; i += 4) {
    v4 v;
    std::memcpy(&v, s + i, sizeof v);
    v4 r = v > 0.f ? one : alph;
    r = v != v ? v : r;
    std::memcpy(d + i, &r, sizeof r);
  }
  for (; i < n; ++i) d[i] = s[i] != s[i] ? s[i] : (s[i] > 0.f ? 1.f : alpha);
}

// Merges adjacent axes that can be walked as one (both operands' strides stay
// consistent), so that typical broadcasts become two or three axes.
int collapse(int rank, const int64_t* shape, const int64_t* sa, const int64_t* sb, int64_t* cs,
             int64_t* ca, int64_t* cb) {
  int r = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    if (r > 0 && ca[r - 1] == sa[d] * shape[d] && cb[r - 1] == sb[d] * shape[d]) {
      cs[r - 1] *= shape[d];
      ca[r - 1] = sa[d];
      cb[r - 1] = sb[d];
    } else {
      cs[r] = shape[d];
      ca[r] = sa[d];
      cb[r] = sb[d];
      ++r;
    }
  }
  if (r == 0) {
    cs[0] = 1;
    ca[0] = cb[0] = 0;
    r = 1;
  }
  return r;
}

template <BinaryOp op>
void binary_impl(int rank, const int64_t* shape, const float* a, const int64_t* sa, const float* b,
                 const int64_t* sb, float* out) {
  int64_t cs[kMaxRank], ca[kMaxRank], cb[kMaxRank];
  const int r = collapse(rank, shape, sa, sb, cs, ca, cb);
  const int64_t len = cs[r - 1];
  int64_t rows = 1;
  for (int d = 0; d < r - 1; ++d) rows *= cs[d];
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(len, 1));
  auto run_rows = [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      int64_t oa = 0, ob = 0, rest = row;
      for (int d = r - 2; d >= 0; --d) {
        const int64_t i = rest % cs[d];
        rest /= cs[d];
        oa += i * ca[d];
        ob += i * cb[d];
      }
      inner<op>(len, a + oa, ca[r - 1], b + ob, cb[r - 1], out + row * len);
    }
  };
  if (rows * len < kParallelMin || pool().size() == 1) {
    run_rows(0, rows);
  } else {
    pool().run(ceil_div(rows, grain), [&](int64_t c, int) {
      run_rows(c * grain, std::min(rows, (c + 1) * grain));
    });
  }
}

}  // namespace

void binary(BinaryOp op, int rank, const int64_t* shape, const float* a, const int64_t* sa,
            const float* b, const int64_t* sb, float* out) {
  switch (op) {
    case BinaryOp::kAdd: return binary_impl<BinaryOp::kAdd>(rank, shape, a, sa, b, sb, out);
    case BinaryOp::kSub: return binary_impl<BinaryOp::kSub>(rank, shape, a, sa, b, sb, out);
    case BinaryOp::kMul: return binary_impl<BinaryOp::kMul>(rank, shape, a, sa, b, sb, out);
    case BinaryOp::kDiv: return binary_impl<BinaryOp::kDiv>(rank, shape, a, sa, b, sb, out);
    case BinaryOp::kMax: return binary_impl<BinaryOp::kMax>(rank, shape, a, sa, b, sb, out);
    case BinaryOp::kMin: return binary_impl<BinaryOp::kMin>(rank, shape, a, sa, b, sb, out);
    case BinaryOp::kSquaredDifference:
      return binary_impl<BinaryOp::kSquaredDifference>(rank, shape, a, sa, b, sb, out);
  }
}

void unary(UnaryOp op, int64_t n, const float* x, float alpha, float* out) {
  parallel_range(n, kGrain * 4, [&](int64_t i0, int64_t i1) {
    const float* __restrict s = x;
    float* __restrict d = out;
    switch (op) {
      case UnaryOp::kRelu:
        for (int64_t i = i0; i < i1; ++i) d[i] = s[i] < 0.f ? 0.f : s[i];
        break;
      case UnaryOp::kRelu6:
        for (int64_t i = i0; i < i1; ++i) d[i] = std::min(std::max(s[i], 0.f), 6.f);
        break;
      case UnaryOp::kStep:
        step(s + i0, d + i0, i1 - i0, alpha);
        break;
      case UnaryOp::kSquare:
        for (int64_t i = i0; i < i1; ++i) d[i] = s[i] * s[i];
        break;
      case UnaryOp::kNeg:
        for (int64_t i = i0; i < i1; ++i) d[i] = -s[i];
        break;
      case UnaryOp::kSqrt:
        for (int64_t i = i0; i < i1; ++i) d[i] = std::sqrt(s[i]);
        break;
      case UnaryOp::kRsqrt:
        for (int64_t i = i0; i < i1; ++i) d[i] = 1.f / std::sqrt(s[i]);
        break;
      case UnaryOp::kExp:
        for (int64_t i = i0; i < i1; ++i) d[i] = std::exp(s[i]);
        break;
      case UnaryOp::kLog:
        for (int64_t i = i0; i < i1; ++i) d[i] = std::log(s[i]);
        break;
      case UnaryOp::kAbs:
        for (int64_t i = i0; i < i1; ++i) d[i] = std::fabs(s[i]);
        break;
      case UnaryOp::kReciprocal:
        for (int64_t i = i0; i < i1; ++i) d[i] = 1.f / s[i];
        break;
    }
  });
}

namespace {

// Sums n floats: eight float lanes over blocks of kBlock elements, each block's
// lanes added in a fixed order into a double. The order depends only on n.
constexpr int64_t kBlock = 256;
double sum_row(const float* __restrict p, int64_t n) {
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = b;
    for (; i + 8 <= e; i += 8)
      for (int j = 0; j < 8; ++j) lane[j] += p[i + j];
    float rest = 0;
    for (; i < e; ++i) rest += p[i];
    total += static_cast<double>(((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                                 ((lane[4] + lane[5]) + (lane[6] + lane[7]))) +
             static_cast<double>(rest);
  }
  return total;
}

}  // namespace

void reduce_sum(int64_t outer, int64_t reduce, int64_t inner, const float* x, double scale,
                float* out) {
  if (inner == 1) {
    // Row sums: one output per row, each summed by one thread.
    parallel_range(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(reduce, 1)),
                   [&](int64_t o0, int64_t o1) {
                     for (int64_t o = o0; o < o1; ++o)
                       out[o] = static_cast<float>(sum_row(x + o * reduce, reduce) * scale);
                   });
    return;
  }
  // Column sums (e.g. over N·H·W for each channel): the reduced axis is cut
  // into chunks whose size depends only on the shape; within a chunk, rows are
  // added in float over blocks of kBlock rows and each block into a double
  // partial; the chunks' partials are then added in chunk order.
  const int64_t chunk = round_up(std::max<int64_t>(kBlock, ceil_div(reduce, 32)), kBlock);
  const int64_t chunks = ceil_div(reduce, chunk);
  std::vector<double> partial(outer * chunks * inner, 0.0);
  const int64_t width = std::min<int64_t>(inner, 1024);  // columns per unit of work
  const int64_t strips = ceil_div(inner, width);
  pool().run(outer * chunks * strips, [&](int64_t u, int) {
    const int64_t strip = u % strips, oc = u / strips;
    const int64_t o = oc / chunks, c = oc % chunks;
    const int64_t i0 = strip * width, w = std::min(width, inner - i0);
    double* acc = partial.data() + oc * inner + i0;
    const int64_t r1 = std::min(reduce, (c + 1) * chunk);
    float block[1024];
    for (int64_t b = c * chunk; b < r1; b += kBlock) {
      const int64_t e = std::min(r1, b + kBlock);
      std::memcpy(block, x + (o * reduce + b) * inner + i0, w * sizeof(float));
      for (int64_t r = b + 1; r < e; ++r) {
        const float* __restrict row = x + (o * reduce + r) * inner + i0;
        float* __restrict blk = block;
        for (int64_t i = 0; i < w; ++i) blk[i] += row[i];
      }
      for (int64_t i = 0; i < w; ++i) acc[i] += block[i];
    }
  });
  parallel_range(outer * inner, kGrain, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t o = j / inner, i = j % inner;
      double s = 0;
      for (int64_t c = 0; c < chunks; ++c) s += partial[(o * chunks + c) * inner + i];
      out[j] = static_cast<float>(s * scale);
    }
  });
}

namespace {

// Fills out[0, n) with the pattern p[0, period) repeated, starting at phase 0.
void fill_pattern(float* out, int64_t n, const float* p, int64_t period) {
  if (n <= 0) return;
  const int64_t first = std::min(n, period);
  std::memcpy(out, p, first * sizeof(float));
  // Double the filled prefix (a whole number of periods) until it is done.
  for (int64_t done = first; done < n;) {
    const int64_t copy = std::min(done, n - done);
    std::memcpy(out + done, out, copy * sizeof(float));
    done += copy;
  }
}

}  // namespace

void tile(int rank, const int64_t* in_shape, const int64_t* reps, const float* x, float* out) {
  // Fast path: the input is one contiguous block repeated (every axis of size
  // > 1 has one repetition and comes after every repeated axis), e.g. a
  // per-channel vector tiled over N·H·W.
  {
    int64_t block = 1, copies = 1;
    bool repeated_seen_after = false, ok = true;
    for (int d = rank - 1; d >= 0; --d) {
      if (reps[d] > 1) repeated_seen_after = true;
      if (in_shape[d] > 1 && repeated_seen_after) ok = false;
      block *= in_shape[d];
      copies *= reps[d];
    }
    if (ok && block > 0) {
      // Every piece starts on a whole number of blocks, so it can be filled alone.
      const int64_t total = block * copies;
      const int64_t piece = round_up(std::max<int64_t>(kGrain * 4, block), block);
      parallel_range(total, piece, [&](int64_t i0, int64_t i1) {
        fill_pattern(out + i0, i1 - i0, x, block);
      });
      return;
    }
  }
  int64_t out_shape[kMaxRank];
  int64_t rows = 1;
  for (int d = 0; d < rank; ++d) {
    out_shape[d] = in_shape[d] * reps[d];
    if (d < rank - 1) rows *= out_shape[d];
  }
  const int64_t len_in = rank ? in_shape[rank - 1] : 1;
  const int64_t len_out = rank ? out_shape[rank - 1] : 1;
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(len_out, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t row = r0; row < r1; ++row) {
                     int64_t src = 0, rest = row, stride = len_in;
                     for (int d = rank - 2; d >= 0; --d) {
                       const int64_t i = rest % out_shape[d];
                       rest /= out_shape[d];
                       src += (i % in_shape[d]) * stride;
                       stride *= in_shape[d];
                     }
                     float* dst = out + row * len_out;
                     for (int64_t r = 0; r < len_out / std::max<int64_t>(len_in, 1); ++r)
                       std::memcpy(dst + r * len_in, x + src, len_in * sizeof(float));
                   }
                 });
}

void slice(int rank, const int64_t* in_shape, const int64_t* begin, const int64_t* size,
           const float* x, float* out) {
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; ++d) rows *= size[d];
  const int64_t len = rank ? size[rank - 1] : 1;
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(len, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t row = r0; row < r1; ++row) {
                     int64_t src = rank ? begin[rank - 1] : 0, rest = row,
                             stride = rank ? in_shape[rank - 1] : 1;
                     for (int d = rank - 2; d >= 0; --d) {
                       const int64_t i = rest % size[d];
                       rest /= size[d];
                       src += (i + begin[d]) * stride;
                       stride *= in_shape[d];
                     }
                     std::memcpy(out + row * len, x + src, len * sizeof(float));
                   }
                 });
}

void pad(int rank, const int64_t* in_shape, const int64_t* before, const int64_t* after,
         float value, const float* x, float* out) {
  int64_t out_shape[kMaxRank];
  int64_t total = 1, rows = 1;
  for (int d = 0; d < rank; ++d) {
    out_shape[d] = before[d] + in_shape[d] + after[d];
    total *= out_shape[d];
    if (d < rank - 1) rows *= in_shape[d];
  }
  parallel_range(total, kGrain * 4, [&](int64_t i0, int64_t i1) {
    std::fill(out + i0, out + i1, value);
  });
  const int64_t len = rank ? in_shape[rank - 1] : 1;
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(len, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t row = r0; row < r1; ++row) {
                     int64_t dst = rank ? before[rank - 1] : 0, rest = row,
                             stride = rank ? out_shape[rank - 1] : 1;
                     for (int d = rank - 2; d >= 0; --d) {
                       const int64_t i = rest % in_shape[d];
                       rest /= in_shape[d];
                       dst += (i + before[d]) * stride;
                       stride *= out_shape[d];
                     }
                     std::memcpy(out + dst, x + row * len, len * sizeof(float));
                   }
                 });
}

void batch_norm(int64_t rows, int64_t channels, const float* x, const float* mean, int64_t mean_n,
                const float* variance, int64_t variance_n, const float* offset, int64_t offset_n,
                const float* scale, int64_t scale_n, float epsilon, float* out) {
  // Per channel: y = x · k + m with k = scale / sqrt(var + eps), m = offset − mean · k,
  // evaluated as (x − mean) · k + offset to stay close to the cpu kernel's rounding.
  std::vector<float> k(channels), mu(channels), off(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const float v = variance[variance_n == 1 ? 0 : c];
    const float s = scale ? scale[scale_n == 1 ? 0 : c] : 1.f;
    k[c] = s / std::sqrt(v + epsilon);
    mu[c] = mean[mean_n == 1 ? 0 : c];
    off[c] = offset ? offset[offset_n == 1 ? 0 : c] : 0.f;
  }
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(channels, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t r = r0; r < r1; ++r) {
                     const float* __restrict s = x + r * channels;
                     float* __restrict d = out + r * channels;
                     for (int64_t c = 0; c < channels; ++c) d[c] = (s[c] - mu[c]) * k[c] + off[c];
                   }
                 });
}

void add_n(int count, const float* const* inputs, int64_t n, float* out) {
  parallel_range(n, kGrain * 4, [&](int64_t i0, int64_t i1) {
    std::memcpy(out + i0, inputs[0] + i0, (i1 - i0) * sizeof(float));
    for (int j = 1; j < count; ++j) {
      const float* __restrict s = inputs[j];
      float* __restrict d = out;
      for (int64_t i = i0; i < i1; ++i) d[i] += s[i];
    }
  });
}

}  // namespace convnets
