// An LSTM layer for inference on the CPU. libtorch runs each step as some ten operators (the recurrent product, a
// chunk, three sigmoids, two tanh, the products and sums of the cell update), each dispatched on its own and each
// reading and writing the whole batch's gates. Here a step is one matrix product (BLAS, over the rows still running)
// and one pass over its gates that computes the cell update in registers. The input projection of every step is one
// matrix product up front, the biases folded in. Sequences are sorted longest first, so the rows still running at a
// step are a prefix of the batch, as in a packed sequence: no padded step runs.
#include "fused_lstm.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace rnn {

namespace {

// exp(x) for float with a relative error below 2e-7 (Cephes' expf): range reduction to [-ln2/2, ln2/2], a degree-6
// polynomial, and 2^n put into the exponent bits. Written without calls or branches so that the compiler vectorises
// the loops that use it; saturates instead of overflowing.
inline float exp_approx(float x) {
  x = x > 88.3762626647949f ? 88.3762626647949f : x;
  x = x < -87.3365447504f ? -87.3365447504f : x;
  float fx = x * 1.44269504088896341f + 0.5f;
  int32_t n = static_cast<int32_t>(fx);
  n -= (static_cast<float>(n) > fx) ? 1 : 0;  // floor
  const float nf = static_cast<float>(n);
  x = x - nf * 0.693359375f + nf * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * x * x + x + 1.0f;
  int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

inline float tanh_approx(float x) { return 1.0f - 2.0f / (1.0f + exp_approx(2.0f * x)); }

// One row's cell update over its `hidden` units: g holds h @ W_hh^T, p the step's input projection (biases in), both
// as four gate blocks (i, f, g, o); c and h are updated in place and h is also written to out. Restrict pointers and
// no calls: the compiler vectorises the loop.
inline void row_update(int64_t hidden, const float* __restrict g, const float* __restrict p, float* __restrict c,
                       float* __restrict h, float* __restrict out) {
  for (int64_t j = 0; j < hidden; ++j) {
    const float input_gate = sigmoid(g[j] + p[j]);
    const float forget_gate = sigmoid(g[hidden + j] + p[hidden + j]);
    const float candidate = tanh_approx(g[2 * hidden + j] + p[2 * hidden + j]);
    const float output_gate = sigmoid(g[3 * hidden + j] + p[3 * hidden + j]);
    const float cell = forget_gate * c[j] + input_gate * candidate;
    c[j] = cell;
    const float state = output_gate * tanh_approx(cell);
    h[j] = state;
    out[j] = state;
  }
}

// The cell update of `rows` rows (gates: rows × 4H, one projection and one output row pointer each). Compiled for
// AVX2 as well as the baseline, the better chosen when the library loads.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void cell_update(int64_t rows, int64_t hidden, const float* gates, const float* const* projection, float* c, float* h,
                 float* const* out) {
  for (int64_t r = 0; r < rows; ++r)
    row_update(hidden, gates + r * 4 * hidden, projection[r], c + r * hidden, h + r * hidden, out[r]);
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> fused_lstm_layer(const torch::Tensor& x, const std::vector<int64_t>& lengths,
                                                         const std::vector<torch::Tensor>& weights, bool reverse) {
  const int64_t batch = x.size(0), steps = x.size(1), input = x.size(2);
  const int64_t hidden = weights[1].size(1);
  const auto options = x.options();
  // Every step's input projection at once, the two biases folded in: (batch, steps, 4H).
  auto projection = torch::addmm(weights[2] + weights[3], x.reshape({batch * steps, input}), weights[0].t())
                        .view({batch, steps, 4 * hidden})
                        .contiguous();
  auto output = torch::zeros({batch, steps, hidden}, options);
  auto h = torch::zeros({batch, hidden}, options);
  auto c = torch::zeros({batch, hidden}, options);
  auto gates = torch::empty({batch, 4 * hidden}, options);
  const auto recurrent = weights[1].t();
  const float* projected = projection.data_ptr<float>();
  float* out = output.data_ptr<float>();
  std::vector<const float*> projection_rows(static_cast<size_t>(batch));
  std::vector<float*> output_rows(static_cast<size_t>(batch));
  int64_t running = batch;
  for (int64_t k = 0; k < steps; ++k) {
    while (running > 0 && lengths[static_cast<size_t>(running - 1)] <= k) --running;  // sorted longest first
    if (running == 0) break;
    // The step each running row reads: k, or counting back from its own last step.
    for (int64_t r = 0; r < running; ++r) {
      const int64_t t = reverse ? lengths[static_cast<size_t>(r)] - 1 - k : k;
      projection_rows[static_cast<size_t>(r)] = projected + (r * steps + t) * 4 * hidden;
      output_rows[static_cast<size_t>(r)] = out + (r * steps + t) * hidden;
    }
    auto running_gates = gates.narrow(0, 0, running);
    if (k == 0) {
      running_gates.zero_();  // h is zero before the first step
    } else {
      torch::mm_out(running_gates, h.narrow(0, 0, running), recurrent);
    }
    cell_update(running, hidden, gates.data_ptr<float>(), projection_rows.data(), c.data_ptr<float>(), h.data_ptr<float>(),
                output_rows.data());
  }
  return {output, h};
}

}  // namespace rnn
