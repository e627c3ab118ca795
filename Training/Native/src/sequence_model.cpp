#include "sequence_model.h"

#include "guard.h"

namespace rnn {

namespace nnu = torch::nn::utils::rnn;

void validate_spec(const rnn_model_spec& spec) {
  if (spec.cell < RNN_CELL_LSTM || spec.cell > RNN_CELL_RNN) fail("cell ", spec.cell, " is not lstm (0), gru (1) or rnn (2)");
  if (spec.hidden_size < 1) fail("hidden size must be at least 1, got ", spec.hidden_size);
  if (spec.num_layers < 1) fail("number of layers must be at least 1, got ", spec.num_layers);
  if (spec.output_size < 1) fail("output size must be at least 1, got ", spec.output_size);
  if (!(spec.dropout >= 0.0 && spec.dropout < 1.0)) fail("dropout must be in [0, 1), got ", spec.dropout);
  if (spec.vocabulary_size < 0) fail("vocabulary size must not be negative, got ", spec.vocabulary_size);
  if (spec.vocabulary_size > 0) {
    if (spec.embedding_dim < 1) fail("embedding dimension must be at least 1 for a token model, got ", spec.embedding_dim);
    if (spec.input_size != spec.embedding_dim) fail("input size ", spec.input_size, " must equal the embedding dimension ", spec.embedding_dim);
  } else if (spec.input_size < 1) {
    fail("input size must be at least 1, got ", spec.input_size);
  }
}

namespace {

// nn.LSTM, nn.GRU and nn.RNN take the same arguments; only the options type differs.
template <typename Options>
Options recurrent_options(const rnn_model_spec& spec, double dropout) {
  return Options(spec.input_size, spec.hidden_size)
      .num_layers(spec.num_layers)
      .batch_first(true)
      .bidirectional(spec.bidirectional != 0)
      .dropout(dropout);
}

}  // namespace

SequenceModelImpl::SequenceModelImpl(const rnn_model_spec& model_spec) : spec(model_spec) {
  validate_spec(spec);
  if (spec.vocabulary_size > 0) {
    embedding = register_module(
        "embedding",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(spec.vocabulary_size, spec.embedding_dim).padding_idx(0)));
  }
  // PyTorch ignores inter-layer dropout for a single layer (and warns); so do we, silently.
  const double dropout = spec.num_layers > 1 ? spec.dropout : 0.0;
  switch (spec.cell) {
    case RNN_CELL_LSTM:
      lstm = register_module("rnn", torch::nn::LSTM(recurrent_options<torch::nn::LSTMOptions>(spec, dropout)));
      break;
    case RNN_CELL_GRU:
      gru = register_module("rnn", torch::nn::GRU(recurrent_options<torch::nn::GRUOptions>(spec, dropout)));
      break;
    default:
      elman = register_module("rnn", torch::nn::RNN(recurrent_options<torch::nn::RNNOptions>(spec, dropout)));  // tanh
      break;
  }
  head = register_module("head", torch::nn::Linear(directions() * spec.hidden_size, spec.output_size));
}

std::pair<nnu::PackedSequence, torch::Tensor> SequenceModelImpl::run_rnn(const nnu::PackedSequence& packed) {
  if (lstm) {
    auto result = lstm->forward_with_packed_input(packed);
    return {std::get<0>(result), std::get<0>(std::get<1>(result))};  // h_n of (h_n, c_n)
  }
  if (gru) {
    auto result = gru->forward_with_packed_input(packed);
    return {std::get<0>(result), std::get<1>(result)};
  }
  auto result = elman->forward_with_packed_input(packed);
  return {std::get<0>(result), std::get<1>(result)};
}

torch::Tensor SequenceModelImpl::forward(const torch::Tensor& inputs, const torch::Tensor& lengths,
                                         torch::Tensor* states, int64_t total_steps) {
  const int64_t batch = inputs.size(0);
  // (batch, steps, input_size)
  auto x = embedding ? embedding->forward(inputs) : inputs;
  // Packing makes every sequence stop at its own length: padding never reaches h_n.
  auto packed = nnu::pack_padded_sequence(x, lengths, /*batch_first=*/true, /*enforce_sorted=*/false);

  // output: per-step states of the top layer; h_n: (num_layers * directions, batch, hidden),
  // in the caller's order
  auto [output, h_n] = run_rnn(packed);

  // (num_layers, directions, batch, hidden) -> the top layer: (directions, batch, hidden)
  auto top = h_n.view({spec.num_layers, directions(), batch, spec.hidden_size}).select(0, spec.num_layers - 1);
  // (batch, directions * hidden): forward direction first, as torch.cat([h[-2], h[-1]], 1)
  auto representation = top.permute({1, 0, 2}).reshape({batch, directions() * spec.hidden_size});

  if (states != nullptr) {
    // (batch, total_steps, directions * hidden), zeros past each length
    *states = std::get<0>(nnu::pad_packed_sequence(output, /*batch_first=*/true, 0.0, total_steps));
  }
  return head->forward(representation);  // (batch, output_size)
}

}  // namespace rnn
