// Adam and AdamW as one pass per parameter. libtorch's step runs, per parameter, mul_, add_, mul_, addcmul_, sqrt, a
// division, add_ and addcdiv_: eight passes over tensors the size of the parameter, most allocating or writing one.
// Over the text benchmark's parameters (an embedding of 20,000 words x 128 and a small biLSTM) that took 9.5-12 ms a
// step on two cores, memory-bound, against 1.3-2.2 ms in one pass (a C++ loop over those shapes, interleaved).
// Here each element of the parameter, its gradient and its two moments is read once and written once, with the same
// float operations in the same order as libtorch's (the moments, then sqrt(v) / sqrt(1 - beta2^t) + eps, then the
// step), so the results agree with libtorch's and PyTorch's to rounding. Compiled with -fno-math-errno
// (CMakeLists.txt) so that the square root is vectorised.
#include "fused_adam.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>

namespace rnn {
namespace {

// How the weight decay enters: none, Adam's (added to the gradient) or AdamW's (decoupled: the weight shrinks first).
enum class Decay { none, l2, decoupled };

struct Coefficients {
  float scale;  // the gradient's factor (clipping)
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float sqrt_bias_correction2, epsilon;
  float step;   // -lr / (1 - beta1^t)
  float decay;  // l2: the weight decay; decoupled: 1 - lr * weight decay
};

template <Decay D>
__attribute__((target_clones("avx2", "default"))) void adam_update(float* __restrict weight,
                                                                   const float* __restrict gradient,
                                                                   float* __restrict mean, float* __restrict square,
                                                                   int64_t count, const Coefficients& k) {
  const float scale = k.scale, beta1 = k.beta1, c1 = k.one_minus_beta1, beta2 = k.beta2, c2 = k.one_minus_beta2;
  const float root = k.sqrt_bias_correction2, epsilon = k.epsilon, step = k.step, decay = k.decay;
  for (int64_t i = 0; i < count; ++i) {
    float w = weight[i];
    float g = gradient[i] * scale;
    if constexpr (D == Decay::decoupled) w = w * decay;
    if constexpr (D == Decay::l2) g = g + w * decay;
    const float m = mean[i] * beta1 + c1 * g;
    const float v = square[i] * beta2 + c2 * g * g;
    mean[i] = m;
    square[i] = v;
    weight[i] = w + step * (m / (std::sqrt(v) / root + epsilon));
  }
}

// The key libtorch's optimizers file a parameter's state under: the text of its TensorImpl's address in libtorch 1.x,
// the address itself in 2.x.
template <typename Map>
typename Map::key_type state_key(const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << p.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

bool fusable(const torch::Tensor& p, const torch::Tensor& grad, bool amsgrad) {
  return !amsgrad && p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && grad.scalar_type() == torch::kFloat32 &&
         !grad.is_sparse() && p.is_contiguous() && grad.is_contiguous() && grad.sizes() == p.sizes();
}

// One step over every parameter of every group; Options and State are Adam's or AdamW's.
template <typename Options, typename State, bool Decoupled, typename Map>
void step_all(std::vector<torch::optim::OptimizerParamGroup>& groups, Map& states, float gradient_scale) {
  torch::NoGradGuard no_grad;
  for (auto& group : groups) {
    auto& options = static_cast<Options&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto& grad = p.grad();
      TORCH_CHECK(!grad.is_sparse(), "Adam does not support sparse gradients");
      const auto key = state_key<Map>(p);
      auto found = states.find(key);
      if (found == states.end()) {
        auto fresh = std::make_unique<State>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        if (options.amsgrad()) fresh->max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = states.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<State&>(*found->second);
      state.step(state.step() + 1);
      const double beta1 = std::get<0>(options.betas());
      const double beta2 = std::get<1>(options.betas());
      const double bias_correction1 = 1 - std::pow(beta1, state.step());
      const double bias_correction2 = 1 - std::pow(beta2, state.step());
      const double lr = options.lr(), weight_decay = options.weight_decay();
      auto& exp_avg = state.exp_avg();
      auto& exp_avg_sq = state.exp_avg_sq();

      if (!fusable(p, grad, options.amsgrad()) || !exp_avg.is_contiguous() || !exp_avg_sq.is_contiguous()) {
        // libtorch's own operations, in its order.
        auto g = gradient_scale == 1.0f ? grad : grad.mul(gradient_scale);
        if (Decoupled && weight_decay != 0) p.mul_(1 - lr * weight_decay);
        if (!Decoupled && weight_decay != 0) g = g.add(p, weight_decay);
        exp_avg.mul_(beta1).add_(g, 1 - beta1);
        exp_avg_sq.mul_(beta2).addcmul_(g, g.conj(), 1 - beta2);
        torch::Tensor denom;
        if (options.amsgrad()) {
          auto& max_exp_avg_sq = state.max_exp_avg_sq();
          torch::max_out(max_exp_avg_sq, exp_avg_sq, max_exp_avg_sq);
          denom = (max_exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
        } else {
          denom = (exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
        }
        p.addcdiv_(exp_avg, denom, -lr / bias_correction1);
        continue;
      }

      Coefficients k{};
      k.scale = gradient_scale;
      k.beta1 = static_cast<float>(beta1);
      k.one_minus_beta1 = static_cast<float>(1 - beta1);
      k.beta2 = static_cast<float>(beta2);
      k.one_minus_beta2 = static_cast<float>(1 - beta2);
      k.sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));
      k.epsilon = static_cast<float>(options.eps());
      k.step = static_cast<float>(-lr / bias_correction1);
      Decay decay = Decay::none;
      if (weight_decay != 0) {
        decay = Decoupled ? Decay::decoupled : Decay::l2;
        k.decay = static_cast<float>(Decoupled ? 1 - lr * weight_decay : weight_decay);
      }
      float* weight = p.data_ptr<float>();
      const float* gradient = grad.data_ptr<float>();
      float* mean = exp_avg.template data_ptr<float>();
      float* square = exp_avg_sq.template data_ptr<float>();
      // Elementwise, so any split gives the same result; small parameters stay on one thread.
      at::parallel_for(0, p.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
        const int64_t n = end - begin;
        switch (decay) {
          case Decay::none: adam_update<Decay::none>(weight + begin, gradient + begin, mean + begin, square + begin, n, k); break;
          case Decay::l2: adam_update<Decay::l2>(weight + begin, gradient + begin, mean + begin, square + begin, n, k); break;
          case Decay::decoupled:
            adam_update<Decay::decoupled>(weight + begin, gradient + begin, mean + begin, square + begin, n, k);
            break;
        }
      });
    }
  }
}

}  // namespace

template <typename Base, typename Options, typename State, bool Decoupled>
torch::Tensor FusedAdamOf<Base, Options, State, Decoupled>::step(torch::optim::Optimizer::LossClosure closure) {
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  step_all<Options, State, Decoupled>(this->param_groups_, this->state_, 1.0f);
  return loss;
}

template <typename Base, typename Options, typename State, bool Decoupled>
void FusedAdamOf<Base, Options, State, Decoupled>::step_scaled(float gradient_scale) {
  step_all<Options, State, Decoupled>(this->param_groups_, this->state_, gradient_scale);
}

template class FusedAdamOf<torch::optim::Adam, torch::optim::AdamOptions, torch::optim::AdamParamState, false>;
template class FusedAdamOf<torch::optim::AdamW, torch::optim::AdamWOptions, torch::optim::AdamWParamState, true>;

float clip_gradient_scale(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  norms.reserve(parameters.size());
  for (const auto& p : parameters) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  }
  if (norms.empty()) return 1.0f;
  const auto total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
  const auto coefficient = torch::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
  return coefficient.item<float>();
}

void drop_gradients(const std::vector<torch::Tensor>& parameters) {
  for (const auto& p : parameters) {
    // A const Tensor shares its TensorImpl: resetting through a copy resets the parameter's gradient.
    auto parameter = p;
    parameter.mutable_grad().reset();
  }
}

bool fused_adam_enabled() {
  static const bool enabled = [] {
    const char* setting = std::getenv("RNNSHIM_FUSED_ADAM");
    return setting == nullptr || std::strcmp(setting, "0") != 0;
  }();
  return enabled;
}

}  // namespace rnn
