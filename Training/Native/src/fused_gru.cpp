// A GRU layer on the CPU, for inference and training, as fused_lstm.cpp's LSTM: libtorch runs each step as a dozen operators (the
// recurrent product, two chunks, two sigmoids, a tanh, the reset product and the interpolation), and its backward
// accumulates the recurrent weight's gradient step by step. Here a step is one recurrent product and one pass over the
// gates; the backward is one product and one pass per step, then the weights' gradients over all steps as single
// products; inference runs over the rows still running, sorted by length. PyTorch's GRU: r = σ(x W_ir + b_ir + h W_hr + b_hr), z likewise, n = tanh(x W_in + b_in + r (h W_hn + b_hn)),
// h' = (1 − z) n + z h.
#include "fused_gru.h"

#include "fused_math.h"
#include "small_gemm.h"

namespace rnn {

namespace {

using namespace fused;

// Forward through one row's step: `a` holds the input's pre-activations (r, z, n blocks, b_ih in), `g` the recurrent
// product (b_hh in); a's blocks are replaced by r, z and n (kept for the backward, with g's n block); h0 is the state
// before the step, h the state after.
RNN_INLINE void row_forward(int64_t hidden, float* __restrict a, const float* __restrict g, const float* __restrict h0,
                            float* __restrict h) {
  for (int64_t j = 0; j < hidden; ++j) {
    const float reset = sigmoid(a[j] + g[j]);
    const float update = sigmoid(a[hidden + j] + g[hidden + j]);
    const float candidate = tanh_approx(a[2 * hidden + j] + reset * g[2 * hidden + j]);
    a[j] = reset;
    a[hidden + j] = update;
    a[2 * hidden + j] = candidate;
    h[j] = (1.0f - update) * candidate + update * h0[j];
  }
}

// Backward through one row's step: from the gates, the recurrent product g, the state before the step (h0) and the
// gradient reaching the state after it (dout from above plus dh from the next step), writes the gradients of the input's
// pre-activations (da), of the recurrent product (dg) and the part of h0's that does not pass through W_hh (direct).
RNN_INLINE void row_backward(int64_t hidden, const float* __restrict gates, const float* __restrict g,
                             const float* __restrict h0, const float* __restrict dout, const float* __restrict dh,
                             float* __restrict da, float* __restrict dg, float* __restrict direct) {
  for (int64_t j = 0; j < hidden; ++j) {
    const float reset = gates[j], update = gates[hidden + j], candidate = gates[2 * hidden + j];
    const float state = dout[j] + dh[j];
    const float candidate_pre = state * (1.0f - update) * (1.0f - candidate * candidate);
    const float update_pre = state * (h0[j] - candidate) * update * (1.0f - update);
    const float reset_pre = candidate_pre * g[2 * hidden + j] * reset * (1.0f - reset);
    da[j] = reset_pre;
    da[hidden + j] = update_pre;
    da[2 * hidden + j] = candidate_pre;
    dg[j] = reset_pre;
    dg[hidden + j] = update_pre;
    dg[2 * hidden + j] = candidate_pre * reset;
    direct[j] = state * update;
  }
}

// Inference through one row's step: `a` the step's input pre-activations (b_ih in), `g` the recurrent product (b_hh
// in); h is updated in place and also written to out.
RNN_INLINE void row_infer(int64_t hidden, const float* __restrict a, const float* __restrict g, float* __restrict h,
                          float* __restrict out) {
  for (int64_t j = 0; j < hidden; ++j) {
    const float reset = sigmoid(a[j] + g[j]);
    const float update = sigmoid(a[hidden + j] + g[hidden + j]);
    const float candidate = tanh_approx(a[2 * hidden + j] + reset * g[2 * hidden + j]);
    const float state = (1.0f - update) * candidate + update * h[j];
    h[j] = state;
    out[j] = state;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void step_infer(int64_t rows, int64_t hidden, const float* const* projection, const float* g, float* h, float* const* out) {
  for (int64_t r = 0; r < rows; ++r) row_infer(hidden, projection[r], g + r * 3 * hidden, h + r * hidden, out[r]);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void step_forward(int64_t rows, int64_t hidden, float* a, const float* g, const float* h0, float* h) {
  for (int64_t r = 0; r < rows; ++r)
    row_forward(hidden, a + r * 3 * hidden, g + r * 3 * hidden, h0 + r * hidden, h + r * hidden);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void step_backward(int64_t rows, int64_t hidden, const float* gates, const float* g, const float* h0, const float* dout,
                   const float* dh, float* da, float* dg, float* direct) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t at = r * hidden;
    row_backward(hidden, gates + 3 * at, g + 3 * at, h0 + at, dout + at, dh + at, da + 3 * at, dg + 3 * at, direct + at);
  }
}

struct FusedGruTraining : torch::autograd::Function<FusedGruTraining> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& x, const torch::Tensor& weight_ih,
                               const torch::Tensor& weight_hh, const torch::Tensor& bias_ih, const torch::Tensor& bias_hh) {
    const int64_t batch = x.size(0), steps = x.size(1), input = x.size(2), hidden = weight_hh.size(1);
    const auto options = x.options();
    auto time_major = x.transpose(0, 1).contiguous();  // (steps, batch, input)
    auto gates = torch::addmm(bias_ih, time_major.view({steps * batch, input}), weight_ih.t()).view({steps, batch, 3 * hidden});
    auto recurrent = torch::empty({steps, batch, 3 * hidden}, options);  // h W_hh^T + b_hh of each step
    auto states = torch::empty({steps, batch, hidden}, options);
    auto zeros = torch::zeros({batch, hidden}, options);
    const auto weight_t = weight_hh.t();
    for (int64_t t = 0; t < steps; ++t) {
      auto step_recurrent = recurrent.select(0, t);
      if (t > 0) {
        torch::addmm_out(step_recurrent, bias_hh, states.select(0, t - 1), weight_t);
      } else {
        step_recurrent.copy_(bias_hh.expand({batch, 3 * hidden}));  // h is zero before the first step
      }
      float* a = gates.select(0, t).data_ptr<float>();
      const float* g = step_recurrent.data_ptr<float>();
      const float* h0 = (t > 0 ? states.select(0, t - 1) : zeros).data_ptr<float>();
      float* h = states.select(0, t).data_ptr<float>();
      by_rows(batch, hidden, [&](int64_t begin, int64_t end) {
        const int64_t at = begin * hidden;
        step_forward(end - begin, hidden, a + 3 * at, g + 3 * at, h0 + at, h + at);
      });
    }
    context->save_for_backward({weight_ih, weight_hh});
    context->saved_data["input"] = time_major;
    context->saved_data["gates"] = gates;
    context->saved_data["recurrent"] = recurrent;
    context->saved_data["states"] = states;
    return states.transpose(0, 1).contiguous();  // (batch, steps, hidden)
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context, torch::autograd::variable_list outputs) {
    const auto saved = context->get_saved_variables();
    const auto &weight_ih = saved[0], &weight_hh = saved[1];
    const auto input = context->saved_data["input"].toTensor();
    const auto gates = context->saved_data["gates"].toTensor();
    const auto recurrent = context->saved_data["recurrent"].toTensor();
    const auto states = context->saved_data["states"].toTensor();
    const int64_t steps = gates.size(0), batch = gates.size(1), hidden = weight_hh.size(1);
    const auto options = gates.options();
    auto dout = outputs[0].defined() ? outputs[0].transpose(0, 1).contiguous() : torch::zeros({steps, batch, hidden}, options);
    auto da = torch::empty({steps, batch, 3 * hidden}, options);
    auto dg = torch::empty({steps, batch, 3 * hidden}, options);
    auto dh = torch::zeros({batch, hidden}, options);
    auto direct = torch::empty({batch, hidden}, options);
    auto zeros = torch::zeros({batch, hidden}, options);
    for (int64_t t = steps - 1; t >= 0; --t) {
      const float* s = gates.select(0, t).data_ptr<float>();
      const float* g = recurrent.select(0, t).data_ptr<float>();
      const float* h0 = (t > 0 ? states.select(0, t - 1) : zeros).data_ptr<float>();
      const float* d = dout.select(0, t).data_ptr<float>();
      float* step_da = da.select(0, t).data_ptr<float>();
      float* step_dg = dg.select(0, t).data_ptr<float>();
      by_rows(batch, hidden, [&](int64_t begin, int64_t end) {
        const int64_t at = begin * hidden;
        step_backward(end - begin, hidden, s + 3 * at, g + 3 * at, h0 + at, d + at, dh.data_ptr<float>() + at,
                      step_da + 3 * at, step_dg + 3 * at, direct.data_ptr<float>() + at);
      });
      if (t > 0) torch::addmm_out(dh, direct, dg.select(0, t), weight_hh);  // the state before: directly and through W_hh
    }
    return layer_gradients(da, dg, input, states, weight_ih, weight_hh, context->needs_input_grad(0));
  }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> fused_gru_layer(const torch::Tensor& x, const std::vector<int64_t>& lengths,
                                                        const std::vector<torch::Tensor>& weights, bool reverse) {
  const int64_t batch = x.size(0), steps = x.size(1);
  const int64_t hidden = weights[1].size(1);
  const auto options = x.options();
  // Every step's input pre-activations at once, b_ih in, the padding left out: (sum of lengths, 3H).
  std::vector<int64_t> first;
  auto projection = valid_projection(x, lengths, weights[2], weights[0], first);
  auto output = torch::zeros({batch, steps, hidden}, options);
  auto h = torch::zeros({batch, hidden}, options);
  auto recurrent = torch::empty({batch, 3 * hidden}, options);
  const auto weight_t = weights[1].t();
  const bool small = gemm::available();
  const auto packed = small ? gemm::pack(weight_t) : gemm::PackedMatrix{};
  const auto bias = weights[3].contiguous();
  const float* projected = projection.data_ptr<float>();
  float* out = output.data_ptr<float>();
  std::vector<const float*> projection_rows(static_cast<size_t>(batch));
  std::vector<float*> output_rows(static_cast<size_t>(batch));
  int64_t running = batch;
  for (int64_t k = 0; k < steps; ++k) {
    while (running > 0 && lengths[static_cast<size_t>(running - 1)] <= k) --running;  // sorted longest first
    if (running == 0) break;
    for (int64_t r = 0; r < running; ++r) {
      const int64_t t = reverse ? lengths[static_cast<size_t>(r)] - 1 - k : k;
      projection_rows[static_cast<size_t>(r)] = projected + (first[static_cast<size_t>(r)] + t) * 3 * hidden;
      output_rows[static_cast<size_t>(r)] = out + (r * steps + t) * hidden;
    }
    auto running_recurrent = recurrent.narrow(0, 0, running);
    if (k == 0) {
      running_recurrent.copy_(weights[3].expand({running, 3 * hidden}));  // h is zero before the first step
    } else if (small) {
      gemm::multiply(running, h.data_ptr<float>(), hidden, packed, recurrent.data_ptr<float>(), 3 * hidden, bias.data_ptr<float>(), 0);
    } else {
      torch::addmm_out(running_recurrent, weights[3], h.narrow(0, 0, running), weight_t);
    }
    const float* g = recurrent.data_ptr<float>();
    float* state = h.data_ptr<float>();
    by_rows(running, hidden, [&](int64_t begin, int64_t end) {
      step_infer(end - begin, hidden, projection_rows.data() + begin, g + begin * 3 * hidden, state + begin * hidden,
                 output_rows.data() + begin);
    });
  }
  return {output, h};
}

torch::Tensor fused_gru_training_layer(const torch::Tensor& x, const std::vector<torch::Tensor>& weights) {
  return FusedGruTraining::apply(x.contiguous(), weights[0], weights[1], weights[2], weights[3]);
}

}  // namespace rnn
