#include "sequence_model.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "fused_gru.h"
#include "fused_lstm.h"
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
  if (spec.pooling < RNN_POOLING_LAST || spec.pooling > RNN_POOLING_ATTENTION)
    fail("pooling ", spec.pooling, " is not last (0), mean (1), max (2) or attention (3)");
  if (spec.per_step != 0 && spec.per_step != 1) fail("per_step must be 0 or 1, got ", spec.per_step);
  if (spec.per_step == 1 && spec.pooling != RNN_POOLING_LAST)
    fail("a per-step model reads every step's output; its pooling must be last (0), got ", spec.pooling);
  if (!(spec.embedding_dropout >= 0.0 && spec.embedding_dropout < 1.0))
    fail("embedding dropout must be in [0, 1), got ", spec.embedding_dropout);
  if (spec.vocabulary_size == 0 && spec.embedding_dropout != 0.0)
    fail("embedding dropout applies to token models only, got ", spec.embedding_dropout, " without an embedding");
  if (spec.vocabulary_size > 0) {
    if (spec.embedding_dim < 1) fail("embedding dimension must be at least 1 for a token model, got ", spec.embedding_dim);
    if (spec.input_size != spec.embedding_dim) fail("input size ", spec.input_size, " must equal the embedding dimension ", spec.embedding_dim);
  } else if (spec.input_size < 1) {
    fail("input size must be at least 1, got ", spec.input_size);
  }
  // Every tensor's element count, and their sum, must fit in 64 bits before libtorch multiplies them out.
  const int64_t directions = spec.bidirectional ? 2 : 1;
  const int64_t gates = spec.cell == RNN_CELL_LSTM ? 4 : spec.cell == RNN_CELL_GRU ? 3 : 1;
  const int64_t gate_rows = checked_mul(gates, spec.hidden_size, "the gate rows");
  const int64_t state = checked_mul(directions, spec.hidden_size, "the state size");
  int64_t total = spec.vocabulary_size > 0 ? checked_mul(spec.vocabulary_size, spec.embedding_dim, "the embedding's size") : 0;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const int64_t input = layer == 0 ? spec.input_size : state;
    int64_t per_direction = checked_add(checked_mul(gate_rows, input, "weight_ih's size"),
                                        checked_mul(gate_rows, spec.hidden_size, "weight_hh's size"), "a layer's size");
    per_direction = checked_add(per_direction, checked_mul(2, gate_rows, "the biases' size"), "a layer's size");
    total = checked_add(total, checked_mul(directions, per_direction, "a layer's size"), "the parameter count");
  }
  total = checked_add(total, checked_mul(spec.output_size, checked_add(state, 1, "the head's width"), "the head's size"), "the parameter count");
  if (spec.pooling == RNN_POOLING_ATTENTION) checked_add(total, checked_add(state, 1, "the attention's size"), "the parameter count");
}

torch::Tensor real_steps(int64_t steps, const torch::Tensor& lengths) {
  return torch::arange(steps, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1);
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
  if (spec.pooling == RNN_POOLING_ATTENTION)
    attention = register_module("attention", torch::nn::Linear(directions() * spec.hidden_size, 1));
  head = register_module("head", torch::nn::Linear(directions() * spec.hidden_size, spec.output_size));

  // The recurrent weights by layer and direction, in the order the functional ops take them. They are the module's
  // own tensors, so optimizers, loads and device moves are seen here too.
  auto named = named_parameters(/*recurse=*/true);
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    for (int64_t direction = 0; direction < directions(); ++direction) {
      const auto suffix = "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
      layer_weights.push_back({named["rnn.weight_ih" + suffix], named["rnn.weight_hh" + suffix],
                               named["rnn.bias_ih" + suffix], named["rnn.bias_hh" + suffix]});
    }
  }
}

SequenceModelImpl::Encoded SequenceModelImpl::encode_packed(const torch::Tensor& x, const torch::Tensor& lengths,
                                                             bool want_states) {
  const int64_t batch = x.size(0);
  // Packing makes every sequence stop at its own length: padding never reaches h_n.
  auto packed = nnu::pack_padded_sequence(x, lengths, /*batch_first=*/true, /*enforce_sorted=*/false);
  // output: per-step states of the top layer; h_n: (num_layers * directions, batch, hidden), in the caller's order
  auto [output, h_n] = [&]() -> std::tuple<nnu::PackedSequence, torch::Tensor> {
    if (lstm) {
      auto result = lstm->forward_with_packed_input(packed);
      return {std::get<0>(result), std::get<0>(std::get<1>(result))};  // h_n of (h_n, c_n)
    }
    if (gru) return gru->forward_with_packed_input(packed);
    return elman->forward_with_packed_input(packed);
  }();
  // (num_layers, directions, batch, hidden) -> the top layer: (directions, batch, hidden)
  auto top = h_n.view({spec.num_layers, directions(), batch, spec.hidden_size}).select(0, spec.num_layers - 1);
  // (batch, directions * hidden): forward direction first, as torch.cat([h[-2], h[-1]], 1)
  auto representation = top.permute({1, 0, 2}).reshape({batch, directions() * spec.hidden_size});
  torch::Tensor steps;
  if (want_states) steps = std::get<0>(nnu::pad_packed_sequence(output, /*batch_first=*/true, 0.0, x.size(1)));
  return {representation, steps};
}

torch::Tensor SequenceModelImpl::run_stack(const torch::Tensor& x) {
  if (lstm) return std::get<0>(lstm->forward(x));
  if (gru) return std::get<0>(gru->forward(x));
  return std::get<0>(elman->forward(x));
}

torch::Tensor SequenceModelImpl::run_fused_layer(const torch::Tensor& x, const std::vector<torch::Tensor>& weights) const {
  return lstm ? fused_lstm_training_layer(x, weights) : fused_gru_training_layer(x, weights);
}

torch::Tensor SequenceModelImpl::run_fused_stack(const torch::Tensor& x) {
  const double dropout = spec.num_layers > 1 ? spec.dropout : 0.0;
  torch::Tensor input = x;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    if (layer > 0 && dropout > 0) input = torch::dropout(input, dropout, is_training());  // as nn.LSTM
    input = run_fused_layer(input, layer_weights.at(static_cast<size_t>(layer)));
  }
  return input;
}

torch::Tensor SequenceModelImpl::run_layer(const torch::Tensor& x, int64_t layer, bool reverse, bool fused) {
  const auto& weights = layer_weights.at(static_cast<size_t>(layer * directions() + (reverse ? 1 : 0)));
  if (fused) return run_fused_layer(x, weights);
  auto h0 = torch::zeros({1, x.size(0), spec.hidden_size}, x.options());
  const bool train = is_training();
  if (lstm) return std::get<0>(torch::lstm(x, {h0, h0}, weights, true, 1, 0.0, train, false, /*batch_first=*/true));
  if (gru) return std::get<0>(torch::gru(x, h0, weights, true, 1, 0.0, train, false, /*batch_first=*/true));
  return std::get<0>(torch::rnn_tanh(x, h0, weights, true, 1, 0.0, train, false, /*batch_first=*/true));
}

SequenceModelImpl::Encoded SequenceModelImpl::encode_padded(const torch::Tensor& x,
                                                             const torch::Tensor& device_lengths, bool want_states) {
  const int64_t batch = x.size(0);
  const int64_t steps = x.size(1);
  const int64_t hidden = spec.hidden_size;
  auto l = device_lengths.unsqueeze(1);  // (batch, 1)
  auto t = torch::arange(steps, torch::TensorOptions().dtype(torch::kInt64).device(x.device())).unsqueeze(0);
  // Each sequence's last step, as a gather index over (batch, steps, hidden): (batch, 1, hidden)
  auto last = (l - 1).view({batch, 1, 1}).expand({batch, 1, hidden});
  auto at_last = [&](const torch::Tensor& output) { return output.gather(1, last).squeeze(1); };
  // The per-step output the caller sees: zeros past each length, as pad_packed_sequence gives.
  auto states_of = [&](const torch::Tensor& output) {
    return want_states ? output.masked_fill((t < l).unsqueeze(2).logical_not(), 0.0) : torch::Tensor();
  };

  const bool fused = use_fused_training(x);
  // Forward direction: steps past a sequence's end come after the step that is read, so they change nothing.
  if (!spec.bidirectional) {
    auto output = fused ? run_fused_stack(x) : run_stack(x);  // (batch, steps, hidden)
    return {at_last(output), states_of(output)};
  }

  // Backward direction: it must start at each sequence's own last step, so each layer reads its input reversed
  // within the sequence's length (padding stays where it is) and its output is reversed back the same way.
  auto flip_index = torch::where(t < l, l - 1 - t, t).unsqueeze(2);  // (batch, steps, 1)
  auto flip = [&](const torch::Tensor& v) { return v.gather(1, flip_index.expand({batch, steps, v.size(2)})); };

  const double dropout = spec.num_layers > 1 ? spec.dropout : 0.0;
  torch::Tensor input = x, forward_output, backward_reversed;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    // As nn.LSTM: dropout on every layer's output but the last, in training.
    if (layer > 0 && dropout > 0) input = torch::dropout(input, dropout, is_training());
    forward_output = run_layer(input, layer, false, fused);
    backward_reversed = run_layer(flip(input), layer, true, fused);
    input = torch::cat({forward_output, flip(backward_reversed)}, 2);
  }
  // The backward direction's final state is its state after reading the whole sequence reversed.
  return {torch::cat({at_last(forward_output), at_last(backward_reversed)}, 1), states_of(input)};
}

namespace {

bool fused_enabled() {
  static const bool enabled = [] {
    const char* setting = std::getenv("RNNSHIM_FUSED_LSTM");
    return setting == nullptr || std::strcmp(setting, "0") != 0;
  }();
  return enabled;
}

}  // namespace

bool SequenceModelImpl::use_fused(const torch::Tensor& x) const {
  if (torch::GradMode::is_enabled() || is_training()) return false;  // training takes use_fused_training's layer
  return use_fused_training(x);
}

bool SequenceModelImpl::use_fused_training(const torch::Tensor& x) const {
  if (!(lstm || gru) || !x.device().is_cpu() || x.scalar_type() != torch::kFloat) return false;
  return path == RNN_PATH_FUSED || (path == RNN_PATH_AUTO && fused_enabled());
}

SequenceModelImpl::Encoded SequenceModelImpl::encode_fused(const torch::Tensor& x, const torch::Tensor& lengths, bool want_states) {
  auto [sorted, order] = lengths.sort(/*dim=*/0, /*descending=*/true);
  std::vector<int64_t> by_length(sorted.data_ptr<int64_t>(), sorted.data_ptr<int64_t>() + sorted.numel());
  auto device_order = order.to(x.device());
  torch::Tensor input = x.index_select(0, device_order).contiguous(), last;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const auto layer_fn = lstm ? fused_lstm_layer : fused_gru_layer;
    auto [forward_output, forward_last] = layer_fn(input, by_length, layer_weights.at(static_cast<size_t>(layer * directions())), false);
    if (!spec.bidirectional) {
      input = forward_output;
      last = forward_last;
      continue;
    }
    auto [backward_output, backward_last] =
        layer_fn(input, by_length, layer_weights.at(static_cast<size_t>(layer * directions() + 1)), true);
    input = torch::cat({forward_output, backward_output}, 2);
    last = torch::cat({forward_last, backward_last}, 1);
  }
  // Back to the caller's order.
  auto inverse = device_order.argsort();
  return {last.index_select(0, inverse), want_states ? input.index_select(0, inverse) : torch::Tensor()};
}

bool SequenceModelImpl::use_padded(const torch::Tensor& x, const torch::Tensor& lengths) const {
  if (path != RNN_PATH_AUTO && path != RNN_PATH_FUSED) return path == RNN_PATH_PADDED;
  if (!x.device().is_cpu()) return false;  // cuDNN runs packed batches well
  if (torch::GradMode::is_enabled()) return true;  // libtorch's packed backward is quadratic on the CPU
  // Without a backward, packing costs only its copies, and it runs no padded step: it wins once padding is more than
  // a little (the serving batcher mixes lengths; training batches are cut from similar lengths).
  const int64_t real = lengths.sum().item<int64_t>();
  return x.size(0) * x.size(1) * 4 <= real * 5;
}

torch::Tensor SequenceModelImpl::pool(const torch::Tensor& last, const torch::Tensor& steps, const torch::Tensor& device_lengths) {
  if (spec.pooling == RNN_POOLING_LAST) return last;
  // (batch, steps): true at each sequence's real steps
  auto real = real_steps(steps.size(1), device_lengths);
  if (spec.pooling == RNN_POOLING_MEAN) {
    // The steps past each length are zeros: the sum is over real steps.
    return steps.sum(1) / device_lengths.unsqueeze(1).to(steps.scalar_type());  // (batch, directions * hidden)
  }
  if (spec.pooling == RNN_POOLING_MAX) {
    return std::get<0>(steps.masked_fill(real.logical_not().unsqueeze(2), -std::numeric_limits<float>::infinity()).max(1));
  }
  // attention: a score per step, softmax over the real ones, the weighted sum of the steps
  auto scores = attention->forward(torch::tanh(steps)).squeeze(2);  // (batch, steps)
  auto weights = torch::softmax(scores.masked_fill(real.logical_not(), -std::numeric_limits<float>::infinity()), 1);
  return (weights.unsqueeze(2) * steps).sum(1);  // (batch, directions * hidden)
}

torch::Tensor SequenceModelImpl::forward(const torch::Tensor& inputs, const torch::Tensor& lengths,
                                         const torch::Tensor& device_lengths, torch::Tensor* states) {
  // (batch, steps, input_size)
  auto x = embedding ? embedding->forward(inputs) : inputs;
  // Dropout on the embedded tokens regularises token models on small corpora; in training only.
  if (embedding && spec.embedding_dropout > 0) x = torch::dropout(x, spec.embedding_dropout, is_training());
  const bool want_states = states != nullptr;
  // Every pooling but the last, and every per-step model, reads the per-step outputs.
  const bool want_steps = want_states || spec.pooling != RNN_POOLING_LAST || spec.per_step == 1;
  auto [last, steps] = use_fused(x)              ? encode_fused(x, lengths, want_steps)
                       : use_padded(x, lengths) ? encode_padded(x, device_lengths, want_steps)
                                                : encode_packed(x, lengths, want_steps);
  if (want_states) *states = steps;  // (batch, steps, directions * hidden)
  if (spec.per_step == 1) {
    // (batch, steps, output_size): the head at every step, zeros past each length (the head's bias would be there)
    auto real = real_steps(steps.size(1), device_lengths);
    return head->forward(steps).masked_fill(real.logical_not().unsqueeze(2), 0.0);
  }
  return head->forward(pool(last, steps, device_lengths));  // (batch, output_size)
}

}  // namespace rnn
