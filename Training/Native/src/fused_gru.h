// A GRU layer on the CPU for inference and training, with one pass over the gates per step (see fused_gru.cpp).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace rnn {

// Inference: as fused_lstm_layer (fused_lstm.h), with a GRU's weights in PyTorch's gate order (r, z, n).
std::pair<torch::Tensor, torch::Tensor> fused_gru_layer(const torch::Tensor& x, const std::vector<int64_t>& lengths,
                                                        const std::vector<torch::Tensor>& weights, bool reverse);

// Training: x: (batch, steps, input) float; weights: weight_ih (3H, input), weight_hh (3H, H), bias_ih, bias_hh, in PyTorch's
// gate order (r, z, n). The forward direction over every step of every row (padded), with its own backward. Returns the
// per-step output (batch, steps, H).
torch::Tensor fused_gru_training_layer(const torch::Tensor& x, const std::vector<torch::Tensor>& weights);

}  // namespace rnn
