// The recurrent product of the fused inference layers: a step's few rows (the batch's running sequences) times a weight
// that stays the same for every step. BLAS packs both operands into its own layout on every call, and for these shapes (at most a
// few dozen rows against a 4H × H weight) packing the weight again at each step costs a third of the product itself
// (sgemm_incopy in the serving profile). Here the weight is packed once per layer call, in panels of 16 columns, and each
// step runs a register-blocked kernel over it (6 rows × 16 columns of accumulators, AVX2 and FMA).
//
// Results depend neither on the number of threads nor on the number of rows (each output is summed over k in one order
// by one thread): a sequence's answer is the same whatever it is batched with. They differ from BLAS's in the order of
// the sums only (a few ulps). Training keeps BLAS's product: with batches of 64 rows its packing is already paid for, and
// the packed kernel measured no faster there (docs/benchmarks.md).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace rnn::gemm {

// B (K × N) in panels of 16 columns, each panel's K rows of 16 contiguous; the last panel padded with zeros.
struct PackedMatrix {
  int64_t rows = 0;     // K
  int64_t columns = 0;  // N
  torch::Tensor panels;  // (ceil(N / 16), K, 16), float
};

// Whether the kernel runs on this CPU (x86-64 with AVX2 and FMA). Where it does not, or when RNNSHIM_SMALL_GEMM=0, the
// fused layers multiply through libtorch as before.
bool available();

// Packs b (K × N, float, CPU, any strides: a transposed view is read as it is).
PackedMatrix pack(const torch::Tensor& b);

// c (rows × N, row stride ldc) = a (rows × K, row stride lda) · B, plus `add` when given: a matrix (row stride ldadd) or,
// with ldadd 0, one row added to every row. `add` may be c itself (c += a · B). Split over libtorch's intra-op threads
// by column panels when the product is large enough.
void multiply(int64_t rows, const float* a, int64_t lda, const PackedMatrix& b, float* c, int64_t ldc,
              const float* add = nullptr, int64_t ldadd = 0);

}  // namespace rnn::gemm
