// Adam and AdamW with one pass over each parameter's memory per step (see fused_adam.cpp).
#pragma once

#include <torch/torch.h>

namespace rnn {

// What the trainer calls instead of clip_grad_norm_ and step(): one pass that scales the gradients by the clipping
// coefficient as it reads them (clip_gradient_scale below), instead of a pass that multiplies them first.
class ScaledStep {
 public:
  virtual ~ScaledStep() = default;
  virtual void step_scaled(float gradient_scale) = 0;
};

// libtorch's Adam and AdamW with the same options, state (AdamParamState / AdamWParamState: step, exp_avg, exp_avg_sq)
// and archive format, so a checkpoint written by either loads in the other. On the CPU, for float32 contiguous
// parameters, step() updates each parameter and its two moments in one vectorised pass split over libtorch's threads,
// instead of libtorch's eight tensor operations each reading and writing the whole parameter; anything else (another
// device or type, amsgrad) takes libtorch's operations. Base is torch::optim::Adam or AdamW, its options and state
// classes beside it; Decoupled says how the weight decay enters (AdamW's way or Adam's).
template <typename Base, typename Options, typename State, bool Decoupled>
class FusedAdamOf final : public Base, public ScaledStep {
 public:
  using Base::Base;
  torch::Tensor step(torch::optim::Optimizer::LossClosure closure = nullptr) override;
  void step_scaled(float gradient_scale) override;
};

using FusedAdam = FusedAdamOf<torch::optim::Adam, torch::optim::AdamOptions, torch::optim::AdamParamState, false>;
using FusedAdamW = FusedAdamOf<torch::optim::AdamW, torch::optim::AdamWOptions, torch::optim::AdamWParamState, true>;
extern template class FusedAdamOf<torch::optim::Adam, torch::optim::AdamOptions, torch::optim::AdamParamState, false>;
extern template class FusedAdamOf<torch::optim::AdamW, torch::optim::AdamWOptions, torch::optim::AdamWParamState, true>;

// The factor torch::nn::utils::clip_grad_norm_ (L2) multiplies every gradient by, computed as it computes it (each
// gradient's norm, the norm of those, max_norm / (that + 1e-6) clamped to at most 1, in float32), without multiplying:
// step_scaled(that) then gives the weights clip_grad_norm_ and step() give.
float clip_gradient_scale(const std::vector<torch::Tensor>& parameters, double max_norm);

// Drops every parameter's gradient (PyTorch 2's zero_grad(set_to_none=true)): the backward then stores each new
// gradient instead of adding it to zeros, a write and a pass over the gradients saved. Each parameter of the shim's
// models takes part in every step, so no parameter is left without a gradient that would have had zeros.
void drop_gradients(const std::vector<torch::Tensor>& parameters);

// Whether trainers take the fused optimizers: yes unless RNNSHIM_FUSED_ADAM=0 (read once; for measuring against
// libtorch's own).
bool fused_adam_enabled();

}  // namespace rnn
