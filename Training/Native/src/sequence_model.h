// The one model family of RnnService, the C++ twin of this PyTorch module:
//
//   class SequenceModel(nn.Module):
//       embedding: nn.Embedding(vocab, dim, padding_idx=0)   # token models only (+ dropout in training)
//       rnn:       nn.LSTM | nn.GRU | nn.RNN(tanh), batch_first=True
//       attention: nn.Linear(directions * hidden, 1)         # attention pooling only
//       head:      nn.Linear(directions * hidden, outputs)
//
// A per-step model (labelling) applies the head to every step's output instead: head(o_t) for each real step.
//
// The representation of a sequence is read from the top layer by its pooling: the final hidden state at the
// sequence's own length (both directions concatenated), which is what h_n gives for a packed batch (last); the mean
// or the per-unit max of the per-step outputs over its real steps; or attention over them.
//
// Two ways to get there, with the same results: packing (pack_padded_sequence, as PyTorch users
// write it; what cuDNN runs best) and, on the CPU, padded batches. On the CPU libtorch's packed
// backward accumulates the gradient of the precomputed input projection once per step over the
// whole batch (quadratic in the length: seconds per step at 300 steps), while the padded path is
// linear; padding costs little because batches are cut from sequences of similar lengths.
#pragma once

#include <torch/torch.h>

#include "rnnshim.h"

namespace rnn {

struct SequenceModelImpl : torch::nn::Module {
  explicit SequenceModelImpl(const rnn_model_spec& spec);

  // inputs: (batch, steps, input_size) float, or (batch, steps) int64 tokens, on the model's device.
  // lengths: (batch) int64 on the CPU; device_lengths: the same on the model's device. Returns the head's outputs
  // (batch, output_size), or (batch, steps, output_size) for a per-step model; when states is given it receives
  // (batch, steps, directions * hidden), zeros past each length.
  torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& lengths, const torch::Tensor& device_lengths,
                        torch::Tensor* states = nullptr);

  // (representation (batch, directions * hidden), the top layer's per-step output (batch, steps, directions * hidden),
  // zeros past each length, or undefined when not asked for)
  using Encoded = std::pair<torch::Tensor, torch::Tensor>;

  // The representation by the spec's pooling: `last` is the encoder's own; the others read the per-step outputs
  // (zeros past each length) with `device_lengths`.
  torch::Tensor pool(const torch::Tensor& last, const torch::Tensor& steps, const torch::Tensor& device_lengths);

  // Padded on the CPU for training, and for inference when padding is at most a quarter of the real steps.
  bool use_padded(const torch::Tensor& x, const torch::Tensor& lengths) const;
  Encoded encode_packed(const torch::Tensor& x, const torch::Tensor& lengths, bool want_states);
  Encoded encode_padded(const torch::Tensor& x, const torch::Tensor& device_lengths, bool want_states);
  // LSTM and GRU inference on the CPU through fused_lstm_layer and fused_gru_layer (rows sorted by length, then put back
  // in the caller's order).
  bool use_fused(const torch::Tensor& x) const;
  Encoded encode_fused(const torch::Tensor& x, const torch::Tensor& lengths, bool want_states);

  // LSTM and GRU training on the CPU through the fused training layers (fused_lstm.h, fused_gru.h), on the padded path.
  bool use_fused_training(const torch::Tensor& x) const;
  torch::Tensor run_fused_layer(const torch::Tensor& x, const std::vector<torch::Tensor>& weights) const;

  // The whole recurrent stack over a tensor (padded) input: the top layer's per-step output; run_fused_stack is the
  // same through the fused training layers (an LSTM's or a GRU's).
  torch::Tensor run_stack(const torch::Tensor& x);
  torch::Tensor run_fused_stack(const torch::Tensor& x);
  // One layer in one direction over a padded input, by the functional ops or the fused training layer: per-step output.
  torch::Tensor run_layer(const torch::Tensor& x, int64_t layer, bool reverse, bool fused);

  int64_t directions() const { return spec.bidirectional ? 2 : 1; }

  rnn_model_spec spec;
  int32_t path = RNN_PATH_AUTO;  // or a path forced by rnn_model_set_sequence_path
  torch::nn::Embedding embedding{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::GRU gru{nullptr};
  torch::nn::RNN elman{nullptr};
  torch::nn::Linear attention{nullptr};
  torch::nn::Linear head{nullptr};
  // Per layer and direction (layer-major, forward first): weight_ih, weight_hh, bias_ih, bias_hh.
  std::vector<std::vector<torch::Tensor>> layer_weights;
};
TORCH_MODULE(SequenceModel);

void validate_spec(const rnn_model_spec& spec);

// (batch, steps) bool: true at each sequence's real steps, false in its padding; lengths (batch) on the tensor's device.
torch::Tensor real_steps(int64_t steps, const torch::Tensor& lengths);

}  // namespace rnn
