// An LSTM layer on the CPU with one pass over the gates per step, for inference and for training (see fused_lstm.cpp).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace rnn {

// x: (batch, steps, input) float, contiguous, its rows sorted by length, longest first; lengths: those lengths.
// weights: weight_ih (4H, input), weight_hh (4H, H), bias_ih, bias_hh, in PyTorch's gate order (i, f, g, o).
// Returns the per-step output (batch, steps, H), zeros past each length, and the final state (batch, H): each
// sequence's state after its last step (reverse: after reading it from its last step back to its first).
std::pair<torch::Tensor, torch::Tensor> fused_lstm_layer(const torch::Tensor& x, const std::vector<int64_t>& lengths,
                                                         const std::vector<torch::Tensor>& weights, bool reverse);

// Training: an LSTM layer in the forward direction over every step of every row (padded), with its own backward.
// x: (batch, steps, input) float; weights as above. Returns the per-step output (batch, steps, H).
torch::Tensor fused_lstm_training_layer(const torch::Tensor& x, const std::vector<torch::Tensor>& weights);

}  // namespace rnn
