// The one model family of RnnService, the C++ twin of this PyTorch module:
//
//   class SequenceModel(nn.Module):
//       embedding: nn.Embedding(vocab, dim, padding_idx=0)   # token models only
//       rnn:       nn.LSTM | nn.GRU | nn.RNN(tanh), batch_first=True
//       head:      nn.Linear(directions * hidden, outputs)
//
// The representation of a sequence is the top layer's final hidden state at the sequence's
// own length (both directions concatenated), which is what h_n gives for a packed batch.
#pragma once

#include <torch/torch.h>

#include "rnnshim.h"

namespace rnn {

struct SequenceModelImpl : torch::nn::Module {
  explicit SequenceModelImpl(const rnn_model_spec& spec);

  // inputs: (batch, steps, input_size) float, or (batch, steps) int64 tokens.
  // lengths: (batch) int64 on the CPU. Returns the head's outputs (batch, output_size);
  // when states is given it receives (batch, total_steps, directions * hidden).
  torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& lengths,
                        torch::Tensor* states = nullptr, int64_t total_steps = 0);

  // The recurrent layers over a packed batch: (per-step output, h_n).
  std::pair<torch::nn::utils::rnn::PackedSequence, torch::Tensor> run_rnn(
      const torch::nn::utils::rnn::PackedSequence& packed);

  int64_t directions() const { return spec.bidirectional ? 2 : 1; }

  rnn_model_spec spec;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::GRU gru{nullptr};
  torch::nn::RNN elman{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(SequenceModel);

void validate_spec(const rnn_model_spec& spec);

}  // namespace rnn
