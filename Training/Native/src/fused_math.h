// What the shim's fused recurrent layers (fused_lstm.cpp, fused_gru.cpp) share: the gates' exp, sigmoid and tanh,
// written so that GCC vectorises the loops that use them, the split of a step's rows over libtorch's threads, and the
// end of their backward.
// Files that include this are compiled with -fno-trapping-math (CMakeLists.txt): without it the loops are not
// vectorised.
#pragma once

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace rnn::fused {

// The per-element functions and row loops are always inlined into the row-loop functions below, which are compiled once
// per instruction set (target_clones), so that each clone's loop is vectorised whatever the inliner's heuristics say.
#define RNN_INLINE inline __attribute__((always_inline))

// exp(x) for float with a relative error below 2e-7 (Cephes' expf): range reduction to [-ln2/2, ln2/2], a degree-6
// polynomial, and 2^n put into the exponent bits. Written without calls or branches so that the compiler vectorises
// the loops that use it; saturates instead of overflowing.
RNN_INLINE float exp_approx(float x) {
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

RNN_INLINE float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// tanh as Cephes' tanhf: an odd polynomial for |x| < 0.625 (where 1 - 2 / (1 + exp(2x)) would lose the small value's
// digits to cancellation), that form elsewhere. Both are computed and blended, not selected: GCC sinks a selected
// value's computation into a branch, and the loop is then not vectorised. The polynomial reads x clamped to its range,
// so that it stays finite (0 times infinity would be NaN) for any x.
RNN_INLINE float tanh_approx(float x) {
  float s = x > 0.625f ? 0.625f : x;
  s = s < -0.625f ? -0.625f : s;
  const float z = s * s;
  const float near_zero =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * s + s;
  const float far = 1.0f - 2.0f / (1.0f + exp_approx(2.0f * x));
  const float near = s == x ? 1.0f : 0.0f;  // |x| <= 0.625
  return near * near_zero + (1.0f - near) * far;
}

// A pass over a step's rows, split over libtorch's intra-op threads when the step is large enough to pay for it (rows
// are independent: the results do not depend on the split).
template <typename Pass>
void by_rows(int64_t rows, int64_t hidden, const Pass& pass) {
  const int64_t grain = std::max<int64_t>(1, 2048 / hidden);
  at::parallel_for(0, rows, grain, pass);
}

// The inference layers' input projection, bias in, for the steps each sequence has and not for its padding: x is
// (batch, steps, input), batch-first, each sequence's steps from the first (lengths sorted longest first, as the batcher
// sends them). The valid rows are gathered into one matrix and multiplied at once; `first[r]` is sequence r's first row
// in the result, (sum of lengths, G). With lengths of 20 to 200 in a batch, about half of a padded product is padding.
inline torch::Tensor valid_projection(const torch::Tensor& x, const std::vector<int64_t>& lengths, const torch::Tensor& bias,
                                      const torch::Tensor& weight, std::vector<int64_t>& first) {
  const int64_t batch = x.size(0), steps = x.size(1), input = x.size(2);
  first.assign(static_cast<size_t>(batch), 0);
  int64_t total = 0;
  for (int64_t r = 0; r < batch; ++r) {
    first[static_cast<size_t>(r)] = total;
    total += std::min(lengths[static_cast<size_t>(r)], steps);
  }
  const auto flat = x.reshape({batch * steps, input});
  if (total == batch * steps) return torch::addmm(bias, flat, weight.t());
  auto rows = torch::empty({total, input}, x.options());
  const auto source = flat.contiguous();
  const float* from = source.data_ptr<float>();
  float* to = rows.data_ptr<float>();
  for (int64_t r = 0; r < batch; ++r) {
    const int64_t length = std::min(lengths[static_cast<size_t>(r)], steps);
    std::memcpy(to + first[static_cast<size_t>(r)] * input, from + r * steps * input, static_cast<size_t>(length * input) * sizeof(float));
  }
  return torch::addmm(bias, rows, weight.t());
}

// The end of a fused layer's backward, once every step's gate gradients are known: the weights' gradients over all
// steps as one matrix product each, and the input's gradient when it needs one. gates: (steps, batch, G·H), the
// gradients of the input side's pre-activations; recurrent: the same of the recurrent product's (the LSTM's are the
// same tensor); input: (steps, batch, input), time-major; states: (steps, batch, H), each step's output. Returns the
// gradients of x (batch-first, undefined when not needed), weight_ih, weight_hh, bias_ih and bias_hh.
inline torch::autograd::variable_list layer_gradients(const torch::Tensor& gates, const torch::Tensor& recurrent,
                                                      const torch::Tensor& input, const torch::Tensor& states,
                                                      const torch::Tensor& weight_ih, const torch::Tensor& weight_hh,
                                                      bool input_gradient) {
  const int64_t steps = gates.size(0), batch = gates.size(1), width = gates.size(2), hidden = states.size(2);
  auto flat = gates.view({steps * batch, width});
  auto flat_recurrent = recurrent.view({steps * batch, width});
  // h is zero before the first step: the recurrent weight's gradient starts at the second.
  auto d_weight_hh = steps > 1 ? recurrent.narrow(0, 1, steps - 1).reshape({(steps - 1) * batch, width}).t().mm(
                                     states.narrow(0, 0, steps - 1).reshape({(steps - 1) * batch, hidden}))
                               : torch::zeros_like(weight_hh);
  torch::Tensor dx;
  if (input_gradient) dx = flat.mm(weight_ih).view({steps, batch, input.size(2)}).transpose(0, 1).contiguous();
  return {dx, flat.t().mm(input.view({steps * batch, input.size(2)})), d_weight_hh, flat.sum(0), flat_recurrent.sum(0)};
}

}  // namespace rnn::fused
