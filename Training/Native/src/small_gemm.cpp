#include "small_gemm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace rnn::gemm {

namespace {

constexpr int64_t kWidth = 16;  // columns of a panel: two 8-float vectors
constexpr int64_t kRows = 6;    // rows of the kernel's block: 12 accumulators, 2 loads of B, 1 broadcast of A

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")

typedef float v8 __attribute__((vector_size(32)));

inline v8 load(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// ROWS rows of a times one panel (K × 16) into c's 16 columns (or its first `width` when the panel is the last, short
// one), plus add. With few rows, each accumulator's chain of dependent multiply-adds would wait on the one before
// (four cycles each) with too few chains to fill the gap: SPLIT sets of accumulators take every SPLIT-th k and are
// summed at the end.
template <int ROWS, int SPLIT>
inline void block(const float* __restrict a, int64_t lda, const float* __restrict panel, int64_t k_count, float* c,
                  int64_t ldc, const float* add, int64_t ldadd, int64_t width) {
  v8 low[SPLIT][ROWS], high[SPLIT][ROWS];
  for (int s = 0; s < SPLIT; ++s)
    for (int r = 0; r < ROWS; ++r) low[s][r] = high[s][r] = v8{};
  int64_t k = 0;
  for (; k + SPLIT <= k_count; k += SPLIT) {
    for (int s = 0; s < SPLIT; ++s) {
      const v8 b0 = load(panel + (k + s) * kWidth), b1 = load(panel + (k + s) * kWidth + 8);
      for (int r = 0; r < ROWS; ++r) {
        const float x = a[r * lda + k + s];
        low[s][r] += x * b0;
        high[s][r] += x * b1;
      }
    }
  }
  for (; k < k_count; ++k) {
    const v8 b0 = load(panel + k * kWidth), b1 = load(panel + k * kWidth + 8);
    for (int r = 0; r < ROWS; ++r) {
      const float x = a[r * lda + k];
      low[0][r] += x * b0;
      high[0][r] += x * b1;
    }
  }
  for (int s = 1; s < SPLIT; ++s)
    for (int r = 0; r < ROWS; ++r) {
      low[0][r] += low[s][r];
      high[0][r] += high[s][r];
    }
  for (int r = 0; r < ROWS; ++r) {
    float row[kWidth];
    std::memcpy(row, &low[0][r], sizeof low[0][r]);
    std::memcpy(row + 8, &high[0][r], sizeof high[0][r]);
    if (add != nullptr) {
      const float* extra = add + r * ldadd;
      for (int64_t j = 0; j < width; ++j) row[j] += extra[j];
    }
    std::memcpy(c + r * ldc, row, static_cast<size_t>(width) * sizeof(float));
  }
}

void multiply_avx2(int64_t rows, const float* a, int64_t lda, const PackedMatrix& b, float* c, int64_t ldc,
                   const float* add, int64_t ldadd, int64_t first_panel, int64_t last_panel) {
  const float* panels = b.panels.data_ptr<float>();
  for (int64_t p = first_panel; p < last_panel; ++p) {
    const float* panel = panels + p * b.rows * kWidth;
    const int64_t column = p * kWidth, width = std::min(kWidth, b.columns - column);
    const float* extra = add == nullptr ? nullptr : add + column;
    int64_t r = 0;
    for (; r + kRows <= rows; r += kRows)
      block<kRows, 1>(a + r * lda, lda, panel, b.rows, c + r * ldc + column, ldc, extra == nullptr ? nullptr : extra + r * ldadd, ldadd, width);
    const float* tail_add = extra == nullptr ? nullptr : extra + r * ldadd;
    float* tail = c + r * ldc + column;
    const float* tail_a = a + r * lda;
    switch (rows - r) {
      case 5: block<5, 1>(tail_a, lda, panel, b.rows, tail, ldc, tail_add, ldadd, width); break;
      case 4: block<4, 1>(tail_a, lda, panel, b.rows, tail, ldc, tail_add, ldadd, width); break;
      case 3: block<3, 1>(tail_a, lda, panel, b.rows, tail, ldc, tail_add, ldadd, width); break;
      case 2: block<2, 2>(tail_a, lda, panel, b.rows, tail, ldc, tail_add, ldadd, width); break;
      case 1: block<1, 4>(tail_a, lda, panel, b.rows, tail, ldc, tail_add, ldadd, width); break;
      default: break;
    }
  }
}

#pragma GCC pop_options

bool cpu_supports() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
bool cpu_supports() { return false; }
void multiply_avx2(int64_t, const float*, int64_t, const PackedMatrix&, float*, int64_t, const float*, int64_t, int64_t, int64_t) {}
#endif

}  // namespace

bool available() {
  static const bool usable = [] {
    const char* setting = std::getenv("RNNSHIM_SMALL_GEMM");
    return cpu_supports() && (setting == nullptr || std::strcmp(setting, "0") != 0);
  }();
  return usable;
}

PackedMatrix pack(const torch::Tensor& b) {
  TORCH_CHECK(b.dim() == 2 && b.scalar_type() == torch::kFloat && b.device().is_cpu(), "pack: a 2-D float CPU matrix");
  torch::NoGradGuard no_grad;
  PackedMatrix packed;
  packed.rows = b.size(0);
  packed.columns = b.size(1);
  const int64_t count = (packed.columns + kWidth - 1) / kWidth;
  // (panel, column in panel, k) → (panel, k, column in panel), the last panel's missing columns zero.
  auto padded = torch::zeros({count * kWidth, packed.rows}, b.options());
  padded.narrow(0, 0, packed.columns).copy_(b.t());
  packed.panels = padded.view({count, kWidth, packed.rows}).transpose(1, 2).contiguous();
  return packed;
}

void multiply(int64_t rows, const float* a, int64_t lda, const PackedMatrix& b, float* c, int64_t ldc, const float* add,
              int64_t ldadd) {
  if (rows <= 0) return;
  const int64_t count = b.panels.size(0);
  // A panel's work is rows × K multiply-adds of 16; split only when each thread gets enough of it to pay for the hand-off.
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, rows * b.rows));
  at::parallel_for(0, count, grain, [&](int64_t begin, int64_t end) {
    multiply_avx2(rows, a, lda, b, c, ldc, add, ldadd, begin, end);
  });
}

}  // namespace rnn::gemm
