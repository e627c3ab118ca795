// An LSTM layer for inference on the CPU. libtorch runs each step as some ten operators (the recurrent product, a
// chunk, three sigmoids, two tanh, the products and sums of the cell update), each dispatched on its own and each
// reading and writing the whole batch's gates. Here a step is one matrix product (BLAS, over the rows still running)
// and one pass over its gates that computes the cell update in registers. The input projection of every step is one
// matrix product up front, the biases folded in. Sequences are sorted longest first, so the rows still running at a
// step are a prefix of the batch, as in a packed sequence: no padded step runs.
//
// For training, FusedLstmTraining runs a layer over a padded batch the same way and keeps each step's gates and cells;
// its backward runs the steps back with one recurrent product and one pass over the gates each, and then takes the
// weights' gradients over all steps as single matrix products.
#include "fused_lstm.h"

#include "fused_math.h"
#include "small_gemm.h"

namespace rnn {

namespace {

using namespace fused;

// One row's cell update over its `hidden` units: g holds h @ W_hh^T, p the step's input projection (biases in), both
// as four gate blocks (i, f, g, o); c and h are updated in place and h is also written to out. Restrict pointers and
// no calls: the compiler vectorises the loop.
RNN_INLINE void row_update(int64_t hidden, const float* __restrict g, const float* __restrict p, float* __restrict c,
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
// AVX-512 and AVX2 as well as the baseline, the best chosen when the library loads (serving's largest pass after the
// products: the AVX-512 clone was 1.11× the AVX2 one for batches of 16 and 64, docs/benchmarks.md). The training passes
// keep AVX2: their numerics, and the recorded training figures, are unchanged.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void cell_update(int64_t rows, int64_t hidden, const float* gates, const float* const* projection, float* c, float* h,
                 float* const* out) {
  for (int64_t r = 0; r < rows; ++r)
    row_update(hidden, gates + r * 4 * hidden, projection[r], c + r * hidden, h + r * hidden, out[r]);
}

// Training, forward: one row's cell update from its gate pre-activations `a` (i, f, g, o blocks), which are replaced by
// the gates themselves (kept for the backward), with the previous cell c0; writes the cell c and the output h.
RNN_INLINE void row_train_forward(int64_t hidden, float* __restrict a, const float* __restrict c0, float* __restrict c,
                              float* __restrict h) {
  for (int64_t j = 0; j < hidden; ++j) {
    const float input_gate = sigmoid(a[j]);
    const float forget_gate = sigmoid(a[hidden + j]);
    const float candidate = tanh_approx(a[2 * hidden + j]);
    const float output_gate = sigmoid(a[3 * hidden + j]);
    const float cell = forget_gate * c0[j] + input_gate * candidate;
    a[j] = input_gate;
    a[hidden + j] = forget_gate;
    a[2 * hidden + j] = candidate;
    a[3 * hidden + j] = output_gate;
    c[j] = cell;
    h[j] = output_gate * tanh_approx(cell);
  }
}

// Training, backward through one row's step: from the gates, the cells before (c0) and after (c) it, the gradient
// reaching its output (dout from above, dh through the next step's recurrent product) and its cell (dc, from the next
// step; replaced by the gradient reaching c0), writes the gradient of its gate pre-activations to da.
RNN_INLINE void row_train_backward(int64_t hidden, const float* __restrict gates, const float* __restrict c0,
                               const float* __restrict c, const float* __restrict dout, const float* __restrict dh,
                               float* __restrict dc, float* __restrict da) {
  for (int64_t j = 0; j < hidden; ++j) {
    const float input_gate = gates[j], forget_gate = gates[hidden + j];
    const float candidate = gates[2 * hidden + j], output_gate = gates[3 * hidden + j];
    const float state = dout[j] + dh[j];
    const float squashed = tanh_approx(c[j]);
    const float cell = dc[j] + state * output_gate * (1.0f - squashed * squashed);
    da[j] = cell * candidate * input_gate * (1.0f - input_gate);
    da[hidden + j] = cell * c0[j] * forget_gate * (1.0f - forget_gate);
    da[2 * hidden + j] = cell * input_gate * (1.0f - candidate * candidate);
    da[3 * hidden + j] = state * squashed * output_gate * (1.0f - output_gate);
    dc[j] = cell * forget_gate;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void train_forward(int64_t rows, int64_t hidden, float* gates, const float* c0, float* c, float* h) {
  for (int64_t r = 0; r < rows; ++r)
    row_train_forward(hidden, gates + r * 4 * hidden, c0 + r * hidden, c + r * hidden, h + r * hidden);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void train_backward(int64_t rows, int64_t hidden, const float* gates, const float* c0, const float* c, const float* dout,
                    const float* dh, float* dc, float* da) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t at = r * hidden;
    row_train_backward(hidden, gates + 4 * at, c0 + at, c + at, dout + at, dh + at, dc + at, da + 4 * at);
  }
}

// One LSTM layer (forward direction, every step of every row) as an autograd function. The forward keeps each step's
// gates and cells; the backward runs the steps back with one recurrent product and one pass over the gates each, and
// then the weight gradients of all steps as single matrix products (libtorch's own backward accumulates the recurrent
// weight's gradient step by step).
struct FusedLstmTraining : torch::autograd::Function<FusedLstmTraining> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& x, const torch::Tensor& weight_ih,
                               const torch::Tensor& weight_hh, const torch::Tensor& bias_ih, const torch::Tensor& bias_hh) {
    const int64_t batch = x.size(0), steps = x.size(1), input = x.size(2), hidden = weight_hh.size(1);
    const auto options = x.options();
    auto time_major = x.transpose(0, 1).contiguous();  // (steps, batch, input)
    // Every step's gate pre-activations from the input, biases in; each step adds its recurrent product in place.
    auto gates = torch::addmm(bias_ih + bias_hh, time_major.view({steps * batch, input}), weight_ih.t()).view({steps, batch, 4 * hidden});
    auto cells = torch::empty({steps, batch, hidden}, options);
    auto states = torch::empty({steps, batch, hidden}, options);
    auto zeros = torch::zeros({batch, hidden}, options);
    const auto recurrent = weight_hh.t();
    for (int64_t t = 0; t < steps; ++t) {
      auto step_gates = gates.select(0, t);
      if (t > 0) step_gates.addmm_(states.select(0, t - 1), recurrent);
      float* a = step_gates.data_ptr<float>();
      const float* c0 = (t > 0 ? cells.select(0, t - 1) : zeros).data_ptr<float>();
      float* c = cells.select(0, t).data_ptr<float>();
      float* h = states.select(0, t).data_ptr<float>();
      by_rows(batch, hidden, [&](int64_t begin, int64_t end) {
        const int64_t at = begin * hidden;
        train_forward(end - begin, hidden, a + 4 * at, c0 + at, c + at, h + at);
      });
    }
    context->save_for_backward({weight_ih, weight_hh});
    context->saved_data["input"] = time_major;
    context->saved_data["gates"] = gates;
    context->saved_data["cells"] = cells;
    context->saved_data["states"] = states;
    return states.transpose(0, 1).contiguous();  // (batch, steps, hidden)
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context, torch::autograd::variable_list outputs) {
    const auto saved = context->get_saved_variables();
    const auto &weight_ih = saved[0], &weight_hh = saved[1];
    const auto input = context->saved_data["input"].toTensor();
    const auto gates = context->saved_data["gates"].toTensor();
    const auto cells = context->saved_data["cells"].toTensor();
    const auto states = context->saved_data["states"].toTensor();
    const int64_t steps = gates.size(0), batch = gates.size(1), hidden = weight_hh.size(1);
    const auto options = gates.options();
    // (steps, batch, hidden); no gradient reached the output when it is undefined.
    auto dout = outputs[0].defined() ? outputs[0].transpose(0, 1).contiguous() : torch::zeros({steps, batch, hidden}, options);
    auto da = torch::empty({steps, batch, 4 * hidden}, options);
    auto dh = torch::zeros({batch, hidden}, options);
    auto dc = torch::zeros({batch, hidden}, options);
    auto zeros = torch::zeros({batch, hidden}, options);
    for (int64_t t = steps - 1; t >= 0; --t) {
      auto step_da = da.select(0, t);
      const float* g = gates.select(0, t).data_ptr<float>();
      const float* c0 = (t > 0 ? cells.select(0, t - 1) : zeros).data_ptr<float>();
      const float* c = cells.select(0, t).data_ptr<float>();
      const float* d = dout.select(0, t).data_ptr<float>();
      float* a = step_da.data_ptr<float>();
      by_rows(batch, hidden, [&](int64_t begin, int64_t end) {
        const int64_t at = begin * hidden;
        train_backward(end - begin, hidden, g + 4 * at, c0 + at, c + at, d + at, dh.data_ptr<float>() + at, dc.data_ptr<float>() + at, a + 4 * at);
      });
      if (t > 0) torch::mm_out(dh, step_da, weight_hh);
    }
    return layer_gradients(da, da, input, states, weight_ih, weight_hh, context->needs_input_grad(0));
  }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> fused_lstm_layer(const torch::Tensor& x, const std::vector<int64_t>& lengths,
                                                         const std::vector<torch::Tensor>& weights, bool reverse) {
  const int64_t batch = x.size(0), steps = x.size(1);
  const int64_t hidden = weights[1].size(1);
  const auto options = x.options();
  // Every step's input projection at once, the two biases folded in, the padding left out: (sum of lengths, 4H).
  std::vector<int64_t> first;
  auto projection = valid_projection(x, lengths, weights[2] + weights[3], weights[0], first);
  auto output = torch::zeros({batch, steps, hidden}, options);
  auto h = torch::zeros({batch, hidden}, options);
  auto c = torch::zeros({batch, hidden}, options);
  auto gates = torch::empty({batch, 4 * hidden}, options);
  const auto recurrent = weights[1].t();
  const bool small = gemm::available();
  const auto packed = small ? gemm::pack(recurrent) : gemm::PackedMatrix{};
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
      projection_rows[static_cast<size_t>(r)] = projected + (first[static_cast<size_t>(r)] + t) * 4 * hidden;
      output_rows[static_cast<size_t>(r)] = out + (r * steps + t) * hidden;
    }
    auto running_gates = gates.narrow(0, 0, running);
    if (k == 0) {
      running_gates.zero_();  // h is zero before the first step
    } else if (small) {
      gemm::multiply(running, h.data_ptr<float>(), hidden, packed, gates.data_ptr<float>(), 4 * hidden);
    } else {
      torch::mm_out(running_gates, h.narrow(0, 0, running), recurrent);
    }
    const float* g = gates.data_ptr<float>();
    float* cell = c.data_ptr<float>();
    float* state = h.data_ptr<float>();
    by_rows(running, hidden, [&](int64_t begin, int64_t end) {
      cell_update(end - begin, hidden, g + begin * 4 * hidden, projection_rows.data() + begin, cell + begin * hidden,
                  state + begin * hidden, output_rows.data() + begin);
    });
  }
  return {output, h};
}

torch::Tensor fused_lstm_training_layer(const torch::Tensor& x, const std::vector<torch::Tensor>& weights) {
  return FusedLstmTraining::apply(x.contiguous(), weights[0], weights[1], weights[2], weights[3]);
}

}  // namespace rnn
