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

// ROWS rows of a times PANELS consecutive panels (K × 16 each) into c's columns, plus add; the last panel of the matrix
// may be short (`columns` says where the matrix ends). Every output is one accumulator's multiply-adds over k in order,
// whatever ROWS and PANELS are: a sequence's result does not depend on how many rows share its step (its batch-mates).
// With few rows, more panels at once give the core enough independent multiply-add chains to overlap their latency.
template <int ROWS, int PANELS>
inline void block(const float* __restrict a, int64_t lda, const float* __restrict panel, int64_t k_count, int64_t column,
                  int64_t columns, float* c, int64_t ldc, const float* add, int64_t ldadd) {
  v8 low[PANELS][ROWS], high[PANELS][ROWS];
  for (int p = 0; p < PANELS; ++p)
    for (int r = 0; r < ROWS; ++r) low[p][r] = high[p][r] = v8{};
  for (int64_t k = 0; k < k_count; ++k) {
    for (int p = 0; p < PANELS; ++p) {
      const float* row_of_b = panel + (p * k_count + k) * kWidth;
      const v8 b0 = load(row_of_b), b1 = load(row_of_b + 8);
      for (int r = 0; r < ROWS; ++r) {
        const float x = a[r * lda + k];
        low[p][r] += x * b0;
        high[p][r] += x * b1;
      }
    }
  }
  for (int p = 0; p < PANELS; ++p) {
    const int64_t at = column + p * kWidth, width = std::min(kWidth, columns - at);
    if (width == kWidth) {
      // A whole panel: two stores of fixed size (a copy of a variable width is a call into libc for every 16 floats).
      for (int r = 0; r < ROWS; ++r) {
        v8 first = low[p][r], second = high[p][r];
        if (add != nullptr) {
          first += load(add + r * ldadd + at);
          second += load(add + r * ldadd + at + 8);
        }
        std::memcpy(c + r * ldc + at, &first, sizeof first);
        std::memcpy(c + r * ldc + at + 8, &second, sizeof second);
      }
      continue;
    }
    for (int r = 0; r < ROWS; ++r) {
      float row[kWidth];
      std::memcpy(row, &low[p][r], sizeof low[p][r]);
      std::memcpy(row + 8, &high[p][r], sizeof high[p][r]);
      if (add != nullptr) {
        const float* extra = add + r * ldadd + at;
        for (int64_t j = 0; j < width; ++j) row[j] += extra[j];
      }
      std::memcpy(c + r * ldc + at, row, static_cast<size_t>(width) * sizeof(float));
    }
  }
}

// Rows [first, first + ROWS) against panels [first_panel, last_panel), PANELS at a time and then one by one.
template <int ROWS, int PANELS>
void rows_of(int64_t first, const float* a, int64_t lda, const PackedMatrix& b, float* c, int64_t ldc, const float* add,
             int64_t ldadd, int64_t first_panel, int64_t last_panel) {
  const float* panels = b.panels.data_ptr<float>();
  const float* row_a = a + first * lda;
  float* row_c = c + first * ldc;
  const float* row_add = add == nullptr ? nullptr : add + first * ldadd;
  int64_t p = first_panel;
  for (; p + PANELS <= last_panel; p += PANELS)
    block<ROWS, PANELS>(row_a, lda, panels + p * b.rows * kWidth, b.rows, p * kWidth, b.columns, row_c, ldc, row_add, ldadd);
  for (; p < last_panel; ++p)
    block<ROWS, 1>(row_a, lda, panels + p * b.rows * kWidth, b.rows, p * kWidth, b.columns, row_c, ldc, row_add, ldadd);
}

void multiply_avx2(int64_t rows, const float* a, int64_t lda, const PackedMatrix& b, float* c, int64_t ldc,
                   const float* add, int64_t ldadd, int64_t first_panel, int64_t last_panel) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) rows_of<kRows, 1>(r, a, lda, b, c, ldc, add, ldadd, first_panel, last_panel);
  switch (rows - r) {
    case 5: rows_of<5, 1>(r, a, lda, b, c, ldc, add, ldadd, first_panel, last_panel); break;
    case 4: rows_of<4, 1>(r, a, lda, b, c, ldc, add, ldadd, first_panel, last_panel); break;
    case 3: rows_of<3, 2>(r, a, lda, b, c, ldc, add, ldadd, first_panel, last_panel); break;
    case 2: rows_of<2, 3>(r, a, lda, b, c, ldc, add, ldadd, first_panel, last_panel); break;
    case 1: rows_of<1, 4>(r, a, lda, b, c, ldc, add, ldadd, first_panel, last_panel); break;
    default: break;
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
