// The exported C functions. Each one checks its arguments, runs its body through guarded()
// and holds the model's lock while it touches the model, so a handle may be shared by threads.
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <torch/version.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "fused_adam.h"
#include "guard.h"
#include "rnnshim.h"
#include "sequence_model.h"

namespace rnn {

thread_local std::string last_error;

// libtorch's own CPU kernels unless rnn_engine_set_onednn says otherwise (see rnnshim.h).
const bool onednn_off_at_load = [] {
  at::globalContext().setUserEnabledMkldnn(false);
  return true;
}();

void set_last_error(std::string message) { last_error = std::move(message); }

bool describe_out_of_memory(const std::string& message, const char* what, std::string& out) {
  static const std::string cpu = "you tried to allocate ";
  const auto at = message.find(cpu);
  if (at != std::string::npos) {
    auto end = at + cpu.size();
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
    const auto bytes = message.substr(at + cpu.size(), end - at - cpu.size());
    out = "the engine could not allocate " + bytes + " bytes for " + what + ": the machine has too little memory free";
    return true;
  }
  if (message.find("out of memory") != std::string::npos) {
    // CUDA: "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; ...)"; its first sentence after ours says how much.
    out = std::string("the engine could not allocate memory for ") + what + " (" + message.substr(0, message.find('\n')) + ")";
    return true;
  }
  return false;
}

// What a model handle owns; shared with the trainers made from it, so that the handles
// can be freed in any order.
struct ModelState {
  ModelState(const rnn_model_spec& spec, torch::Device device) : module(spec), device(device) {
    module->to(device);
    for (auto& named : module->named_parameters(/*recurse=*/true)) {
      parameters.emplace_back(named.key(), named.value());
      parameter_count += named.value().numel();
    }
  }

  SequenceModel module;
  torch::Device device;
  std::vector<std::pair<std::string, torch::Tensor>> parameters;  // state_dict order
  int64_t parameter_count = 0;
  std::mutex mutex;
};

namespace {

std::mutex& generator_mutex() {
  static std::mutex mutex;
  return mutex;
}

template <typename Handle>
Handle& require(Handle* handle, const char* what) {
  if (handle == nullptr) fail(what, " handle is null");
  return *handle;
}

torch::Device device_for(int32_t index) {
  if (index < 0) return torch::kCPU;
  const auto available = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (index >= available) fail("CUDA device ", index, " is not available (this machine has ", available, " CUDA devices)");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

struct BatchTensors {
  torch::Tensor inputs;          // (batch, steps, features) float or (batch, steps) int64, on the model's device
  torch::Tensor lengths;         // (batch) int64, on the CPU as packing requires
  torch::Tensor device_lengths;  // the same on the model's device (the padded path masks and gathers with it)
  torch::Tensor targets;         // (batch, outputs) float or (batch) int64 on the model's device; undefined without
  torch::Tensor quantiles;       // (quantile_count) float on the model's device, for the quantile loss; undefined otherwise
  int64_t batch_size;
  int64_t steps;
};

// Checks the caller's batch (and targets, when the call has them) before anything runs.
void check_batch(const ModelState& model, const rnn_batch* batch) {
  if (batch == nullptr) fail("batch is null");
  const auto& spec = model.module->spec;
  const int64_t n = batch->batch_size;
  const int64_t steps = batch->steps;
  if (n < 1) fail("a batch needs at least one sequence, got ", n);
  if (steps < 1) fail("the padded length must be at least 1, got ", steps);
  if (batch->lengths == nullptr) fail("batch lengths are missing");
  for (int64_t i = 0; i < n; ++i) {
    const int64_t length = batch->lengths[i];
    if (length < 1) fail("sequence ", i, " has length ", length, "; every sequence needs at least one step");
    if (length > steps) fail("sequence ", i, " has length ", length, ", beyond the padded length ", steps);
  }
  if (spec.vocabulary_size > 0) {
    if (batch->tokens == nullptr) fail("this model reads token ids (it has an embedding), but the batch holds no tokens");
    const auto* ids = batch->tokens;
    const int64_t cells = checked_mul(n, steps, "a batch's token count");
    for (int64_t k = 0; k < cells; ++k) {
      if (ids[k] < 0 || ids[k] >= spec.vocabulary_size)
        fail("token ", ids[k], " of sequence ", k / steps, " at step ", k % steps, " is outside the vocabulary of ",
             spec.vocabulary_size);
    }
  } else {
    if (batch->features == nullptr) fail("this model reads features, but the batch holds none");
    if (batch->feature_count != spec.input_size)
      fail("the batch has ", batch->feature_count, " features per step, but the model expects ", spec.input_size);
  }
}

void check_targets(const ModelState& model, const rnn_targets* targets, int32_t loss, const rnn_batch* batch) {
  const int64_t batch_size = batch->batch_size;
  const bool per_step = model.module->spec.per_step == 1;
  if (targets == nullptr) fail("targets are missing");
  if (targets->batch_size != batch_size)
    fail("the targets hold ", targets->batch_size, " rows, but the batch has ", batch_size, " sequences");
  const int64_t output_size = model.module->spec.output_size;
  switch (loss) {
    case RNN_LOSS_MSE:
    case RNN_LOSS_HUBER:
      if (targets->values == nullptr) fail("a regression loss needs target values");
      break;
    case RNN_LOSS_QUANTILE:
      if (targets->values == nullptr) fail("the quantile loss needs target values");
      if (per_step) fail("the quantile loss is for models with one output row per sequence");
      if (targets->quantiles == nullptr || targets->quantile_count < 1) fail("the quantile loss needs quantile levels");
      if (output_size % targets->quantile_count != 0)
        fail("the model's ", output_size, " outputs are not a whole number of ", targets->quantile_count, " quantiles");
      for (int64_t q = 0; q < targets->quantile_count; ++q) {
        const double level = targets->quantiles[q];
        if (!(level > 0 && level < 1)) fail("quantile level ", level, " is outside (0, 1)");
      }
      break;
    case RNN_LOSS_CROSS_ENTROPY:
      if (targets->classes == nullptr) fail("the cross-entropy loss needs target classes");
      for (int64_t i = 0; i < batch_size; ++i) {
        // A per-step model's classes: one per step, read at the real steps only.
        for (int64_t t = 0; t < (per_step ? batch->lengths[i] : 1); ++t) {
          const int64_t c = targets->classes[per_step ? i * batch->steps + t : i];
          if (c < 0 || c >= output_size) {
            if (per_step) fail("target class ", c, " of sequence ", i, " at step ", t, " is outside 0..", output_size - 1);
            fail("target class ", c, " of sequence ", i, " is outside 0..", output_size - 1);
          }
        }
      }
      break;
    default:
      fail("loss ", loss, " is not mse (0), huber (1), cross-entropy (2) or quantile (3)");
  }
}

// One part of a batch as the caller holds it: where, how many bytes, and the tensor it becomes.
struct HostPart {
  const void* data;
  torch::ScalarType type;
  std::vector<int64_t> shape;
  int64_t bytes() const {
    int64_t count = 1;
    for (auto d : shape) count = checked_mul(count, d, "a batch's size in elements");
    return checked_mul(count, static_cast<int64_t>(c10::elementSize(type)), "a batch's size in bytes");
  }
};

// The parts as tensors on the model's device. On the CPU the caller's memory is used in place: it is pinned for the
// whole call, and no tensor made from it outlives the call (packing copies the steps it keeps). On a GPU the parts are
// packed into one page-locked staging buffer and cross in one asynchronous host-to-device copy; the caching host
// allocator keeps that buffer from being reused until the copy has run.
std::vector<torch::Tensor> to_device(const std::vector<HostPart>& parts, const torch::Device& device) {
  std::vector<torch::Tensor> tensors;
  if (device.is_cpu()) {
    for (const auto& part : parts)
      tensors.push_back(torch::from_blob(const_cast<void*>(part.data), part.shape, torch::dtype(part.type)));
    return tensors;
  }
  constexpr int64_t alignment = 64;  // every part starts aligned for any element type
  std::vector<int64_t> offsets;
  int64_t total = 0;
  for (const auto& part : parts) {
    offsets.push_back(total);
    total += (part.bytes() + alignment - 1) / alignment * alignment;
  }
  auto staging = torch::empty({total}, torch::dtype(torch::kUInt8).pinned_memory(true));
  auto* base = staging.data_ptr<uint8_t>();
  for (size_t i = 0; i < parts.size(); ++i) std::memcpy(base + offsets[i], parts[i].data, parts[i].bytes());
  auto on_device = staging.to(device, /*non_blocking=*/true);
  for (size_t i = 0; i < parts.size(); ++i) {
    tensors.push_back(on_device.narrow(0, offsets[i], parts[i].bytes()).view(parts[i].type).view(parts[i].shape));
  }
  return tensors;
}

// The batch (and its targets, for a loss of that kind) checked and on the model's device.
BatchTensors to_tensors(const ModelState& model, const rnn_batch* batch, const rnn_targets* targets = nullptr,
                        int32_t loss = RNN_LOSS_MSE) {
  check_batch(model, batch);
  const auto& spec = model.module->spec;
  const int64_t n = batch->batch_size;
  const int64_t steps = batch->steps;
  if (targets != nullptr) check_targets(model, targets, loss, batch);
  // A per-step model's targets have a row per step.
  const bool per_step = spec.per_step == 1;

  std::vector<HostPart> parts;
  if (spec.vocabulary_size > 0) {
    parts.push_back({batch->tokens, torch::kInt64, {n, steps}});
  } else {
    parts.push_back({batch->features, torch::kFloat32, {n, steps, spec.input_size}});
  }
  parts.push_back({batch->lengths, torch::kInt64, {n}});
  if (targets != nullptr) {
    if (loss == RNN_LOSS_CROSS_ENTROPY) {
      parts.push_back({targets->classes, torch::kInt64, per_step ? std::vector<int64_t>{n, steps} : std::vector<int64_t>{n}});
    } else if (loss == RNN_LOSS_QUANTILE) {
      parts.push_back({targets->values, torch::kFloat32, {n, spec.output_size / targets->quantile_count}});
    } else {
      parts.push_back({targets->values, torch::kFloat32,
                       per_step ? std::vector<int64_t>{n, steps, spec.output_size} : std::vector<int64_t>{n, spec.output_size}});
    }
  }
  auto tensors = to_device(parts, model.device);
  // Packing reads the lengths on the CPU; the caller's memory is only borrowed, so they are copied.
  auto lengths = torch::from_blob(const_cast<int64_t*>(batch->lengths), {n}, torch::kInt64).clone();
  torch::Tensor quantiles;
  if (targets != nullptr && loss == RNN_LOSS_QUANTILE) {
    std::vector<float> levels(targets->quantiles, targets->quantiles + targets->quantile_count);
    quantiles = torch::tensor(levels, torch::kFloat32).to(model.device);
  }
  return {tensors[0], lengths, model.device.is_cpu() ? lengths : tensors[1],
          targets != nullptr ? tensors[2] : torch::Tensor(), quantiles, n, steps};
}

torch::Tensor compute_loss(const torch::Tensor& outputs, const BatchTensors& batch, int32_t loss, double huber_delta) {
  auto y = outputs;
  auto targets = batch.targets;
  if (outputs.dim() == 3) {
    // A per-step model: the loss is over the real steps only, each step one example (padded steps are not read).
    auto real = real_steps(batch.steps, batch.device_lengths).reshape({-1});  // (batch * steps)
    y = outputs.reshape({-1, outputs.size(2)}).index({real});
    targets = loss == RNN_LOSS_CROSS_ENTROPY ? batch.targets.reshape({-1}).index({real})
                                             : batch.targets.reshape({-1, outputs.size(2)}).index({real});
  }
  switch (loss) {
    case RNN_LOSS_MSE:
      return torch::mse_loss(y, targets);
    case RNN_LOSS_HUBER:
      if (!(huber_delta > 0)) fail("the Huber delta must be positive, got ", huber_delta);
      return torch::huber_loss(y, targets, at::Reduction::Mean, huber_delta);
    case RNN_LOSS_QUANTILE: {
      // Pinball loss: (batch, targets, quantiles) against each target repeated for every quantile.
      const auto levels = batch.quantiles;
      const auto difference = targets.unsqueeze(2) - y.view({y.size(0), -1, levels.size(0)});
      return torch::maximum(levels * difference, (levels - 1) * difference).mean();
    }
    default:
      return torch::nn::functional::cross_entropy(y, targets);
  }
}

template <typename State>
void move_moments(State& state, const torch::Device& device) {
  state.exp_avg(state.exp_avg().to(device));
  state.exp_avg_sq(state.exp_avg_sq().to(device));
  if (state.max_exp_avg_sq().defined()) state.max_exp_avg_sq(state.max_exp_avg_sq().to(device));
}

// Moves an optimizer's state (Adam's and AdamW's moments) to a device; a no-op where it already is.
void move_state(torch::optim::Optimizer& optimizer, const torch::Device& device) {
  for (auto& entry : optimizer.state()) {
    auto* state = entry.second.get();
    if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state)) {
      move_moments(*adam, device);
    } else if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(state)) {
      move_moments(*adamw, device);
    }
  }
}

// The optimizer's state as an archive of CPU tensors, so that a GPU job's checkpoint resumes on any machine; the state
// goes back to the model's device whether saving succeeded or not.
torch::serialize::OutputArchive save_on_cpu(torch::optim::Optimizer& optimizer, const torch::Device& device) {
  torch::serialize::OutputArchive archive;
  move_state(optimizer, torch::kCPU);
  try {
    optimizer.save(archive);
  } catch (...) {
    move_state(optimizer, device);
    throw;
  }
  move_state(optimizer, device);
  return archive;
}

// An archive read onto the CPU, whatever device wrote it, loaded into the optimizer and moved to the model's device.
void load_from_cpu(torch::optim::Optimizer& optimizer, const torch::Device& device, torch::serialize::InputArchive& archive) {
  optimizer.load(archive);
  move_state(optimizer, device);
}

// Copies a tensor of any device into caller memory of the same shape.
void copy_out(const torch::Tensor& tensor, float* destination) {
  torch::from_blob(destination, tensor.sizes(), torch::kFloat32).copy_(tensor);
}

// Adam or AdamW with the request's settings: the shim's one-pass optimizer (also returned as `fused`) unless
// RNNSHIM_FUSED_ADAM=0 asks for libtorch's own.
template <typename Plain, typename Fused, typename Options>
std::unique_ptr<torch::optim::Optimizer> make_adam(const std::vector<torch::Tensor>& parameters,
                                                   const rnn_trainer_options& o, ScaledStep*& fused) {
  auto options = Options(o.learning_rate).betas(std::make_tuple(o.beta1, o.beta2)).eps(o.epsilon).weight_decay(o.weight_decay);
  if (!fused_adam_enabled()) return std::make_unique<Plain>(parameters, options);
  auto optimizer = std::make_unique<Fused>(parameters, options);
  fused = optimizer.get();
  return optimizer;
}

}  // namespace
}  // namespace rnn

using rnn::fail;
using rnn::guarded;
using rnn::require;

struct rnn_model {
  std::shared_ptr<rnn::ModelState> state;
};

struct rnn_trainer {
  std::shared_ptr<rnn::ModelState> model;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  rnn_trainer_options options;
  rnn::ScaledStep* fused = nullptr;  // the optimizer, when it is the shim's one-pass Adam or AdamW
};

struct rnn_buffer {
  std::vector<uint8_t> bytes;
};

extern "C" {

const char* rnn_last_error(void) { return rnn::last_error.c_str(); }

rnn_status rnn_engine_query(rnn_engine_info* out) {
  return guarded("an engine query", [&] {
    if (out == nullptr) fail("output is null");
    std::memset(out, 0, sizeof(*out));
    std::strncpy(out->libtorch_version, TORCH_VERSION, sizeof(out->libtorch_version) - 1);
    out->cuda_available = torch::cuda::is_available() ? 1 : 0;
    out->cuda_device_count = out->cuda_available ? static_cast<int32_t>(torch::cuda::device_count()) : 0;
    out->intra_op_threads = at::get_num_threads();
  });
}

rnn_status rnn_engine_set_seed(uint64_t seed) {
  return guarded("seeding", [&] {
    std::lock_guard<std::mutex> lock(rnn::generator_mutex());
    torch::manual_seed(seed);
  });
}

rnn_status rnn_engine_set_threads(int32_t intra_op_threads) {
  return guarded("setting threads", [&] {
    if (intra_op_threads < 1) fail("intra-op threads must be at least 1, got ", intra_op_threads);
    at::set_num_threads(intra_op_threads);
  });
}

rnn_status rnn_engine_set_flush_denormal(int32_t on) {
  return guarded("an engine setting", [&] { at::globalContext().setFlushDenormal(on != 0); });
}

rnn_status rnn_engine_set_onednn(int32_t on) {
  return guarded("an engine setting", [&] { at::globalContext().setUserEnabledMkldnn(on != 0); });
}

rnn_status rnn_engine_set_allow_tf32(int32_t on) {
  return guarded("an engine setting", [&] {
    at::globalContext().setAllowTF32CuDNN(on != 0);
    at::globalContext().setFloat32MatmulPrecision(on != 0 ? "high" : "highest");
  });
}

rnn_status rnn_engine_keep_freed_memory(int64_t mmap_threshold, int64_t trim_threshold) {
  return guarded("an engine setting", [&] {
    if (mmap_threshold < 0 || trim_threshold < 0) fail("thresholds must not be negative");
#if defined(__GLIBC__)
    // glibc takes an int and at most 32 MiB (HEAP_MAX_SIZE / 2 on 64-bit) as the mmap threshold.
    if (mmap_threshold > (32 << 20)) fail("the mmap threshold may be at most 32 MiB, got ", mmap_threshold);
    if (trim_threshold > INT32_MAX) fail("the trim threshold may be at most 2 GiB, got ", trim_threshold);
    if (mmap_threshold == 0) {
      // No block is mapped on its own, so none is unmapped when freed: a block above glibc's largest threshold
      // (a long sequence's gates and states, 60 MB a layer for a GRU of 256 over 300 steps) is reused too.
      if (mallopt(M_MMAP_MAX, 0) != 1) fail("malloc refused to stop mapping blocks");
    } else {
      if (mallopt(M_MMAP_MAX, 65536) != 1) fail("malloc refused to map blocks");  // glibc's default
      if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold)) != 1) fail("malloc refused the mmap threshold");
    }
    if (mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_threshold)) != 1) fail("malloc refused the trim threshold");
#endif
  });
}

rnn_status rnn_engine_release_free_memory(void) {
  return guarded("releasing memory", [&] {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
  });
}

rnn_status rnn_model_create(const rnn_model_spec* spec, int32_t device, int64_t seed, rnn_model** out) {
  return guarded("the model's weights", [&] {
    if (spec == nullptr || out == nullptr) fail("spec and output must not be null");
    *out = nullptr;
    rnn::validate_spec(*spec);
    const auto target = rnn::device_for(device);
    std::shared_ptr<rnn::ModelState> state;
    if (seed >= 0) {
      // Weight initialisation draws from the global generator: seed and draw as one step.
      std::lock_guard<std::mutex> lock(rnn::generator_mutex());
      torch::manual_seed(static_cast<uint64_t>(seed));
      state = std::make_shared<rnn::ModelState>(*spec, target);
    } else {
      state = std::make_shared<rnn::ModelState>(*spec, target);
    }
    *out = new rnn_model{std::move(state)};
  });
}

void rnn_model_free(rnn_model* model) { delete model; }

rnn_status rnn_model_parameter_count(rnn_model* model, int64_t* out) {
  return guarded("a parameter count", [&] {
    auto& m = *require(model, "model").state;
    if (out == nullptr) fail("output is null");
    *out = m.parameter_count;
  });
}

rnn_status rnn_model_describe_parameters(rnn_model* model, rnn_buffer** out) {
  return guarded("the parameters' description", [&] {
    auto& m = *require(model, "model").state;
    if (out == nullptr) fail("output is null");
    std::ostringstream text;
    for (const auto& [name, tensor] : m.parameters) {
      text << name << '\t';
      for (int64_t d = 0; d < tensor.dim(); ++d) text << (d ? "," : "") << tensor.size(d);
      text << '\n';
    }
    const auto s = text.str();
    *out = new rnn_buffer{std::vector<uint8_t>(s.begin(), s.end())};
  });
}

rnn_status rnn_model_read_parameters(rnn_model* model, float* destination, int64_t count) {
  return guarded("a copy of the weights", [&] {
    auto& m = *require(model, "model").state;
    if (destination == nullptr) fail("destination is null");
    if (count != m.parameter_count) fail("the model has ", m.parameter_count, " parameter values, not ", count);
    std::lock_guard<std::mutex> lock(m.mutex);
    torch::NoGradGuard no_grad;
    if (!m.device.is_cpu()) {
      // One device-to-host copy of all of them, not one per parameter.
      std::vector<torch::Tensor> flat;
      for (const auto& entry : m.parameters) flat.push_back(entry.second.reshape({-1}));
      torch::from_blob(destination, {count}, torch::kFloat32).copy_(torch::cat(flat));
      return;
    }
    int64_t offset = 0;
    for (const auto& entry : m.parameters) {
      rnn::copy_out(entry.second, destination + offset);
      offset += entry.second.numel();
    }
  });
}

rnn_status rnn_model_write_parameters(rnn_model* model, const float* source, int64_t count) {
  return guarded("a copy of the weights", [&] {
    auto& m = *require(model, "model").state;
    if (source == nullptr) fail("source is null");
    if (count != m.parameter_count) fail("the model has ", m.parameter_count, " parameter values, not ", count);
    std::lock_guard<std::mutex> lock(m.mutex);
    torch::NoGradGuard no_grad;
    // On a GPU all of them cross in one host-to-device copy.
    auto all = torch::from_blob(const_cast<float*>(source), {count}, torch::kFloat32).to(m.device);
    int64_t offset = 0;
    for (auto& entry : m.parameters) {
      auto& parameter = entry.second;
      // In place, so that views (the RNN's flat weights) and optimizers keep seeing it.
      parameter.copy_(all.narrow(0, offset, parameter.numel()).view(parameter.sizes()));
      offset += parameter.numel();
    }
  });
}

rnn_status rnn_model_set_sequence_path(rnn_model* model, int32_t path) {
  return guarded("a model setting", [&] {
    auto& m = *require(model, "model").state;
    if (path < RNN_PATH_AUTO || path > RNN_PATH_FUSED) fail("path ", path, " is not auto (0), packed (1), padded (2) or fused (3)");
    std::lock_guard<std::mutex> lock(m.mutex);
    m.module->path = path;
  });
}

rnn_status rnn_model_forward(rnn_model* model, const rnn_batch* batch, int32_t flags, float* outputs, float* states) {
  return guarded("a forward pass", [&] {
    auto& m = *require(model, "model").state;
    if (outputs == nullptr) fail("outputs is null");
    std::lock_guard<std::mutex> lock(m.mutex);
    auto tensors = rnn::to_tensors(m, batch);
    torch::InferenceMode inference;
    m.module->eval();
    torch::Tensor hidden_states;
    auto y = m.module->forward(tensors.inputs, tensors.lengths, tensors.device_lengths,
                               states ? &hidden_states : nullptr);
    if ((flags & RNN_FORWARD_SOFTMAX) != 0) {
      y = torch::softmax(y, /*dim=*/-1);  // over the classes, of each sequence or each step
      // A per-step model's padded steps stay zeros.
      if (y.dim() == 3) y = y.masked_fill(rnn::real_steps(tensors.steps, tensors.device_lengths).logical_not().unsqueeze(2), 0.0);
    }
    rnn::copy_out(y, outputs);
    if (states != nullptr) rnn::copy_out(hidden_states, states);
  });
}

rnn_status rnn_model_evaluate(rnn_model* model, const rnn_batch* batch, const rnn_targets* targets, int32_t loss,
                              double huber_delta, double* loss_out, float* outputs) {
  return guarded("a validation batch", [&] {
    auto& m = *require(model, "model").state;
    if (loss_out == nullptr) fail("loss output is null");
    std::lock_guard<std::mutex> lock(m.mutex);
    auto tensors = rnn::to_tensors(m, batch, targets, loss);
    torch::NoGradGuard no_grad;
    m.module->eval();
    auto y = m.module->forward(tensors.inputs, tensors.lengths, tensors.device_lengths);
    auto value = rnn::compute_loss(y, tensors, loss, huber_delta);
    *loss_out = value.item<double>();
    if (outputs != nullptr) rnn::copy_out(y, outputs);
  });
}

rnn_status rnn_trainer_create(rnn_model* model, const rnn_trainer_options* options, rnn_trainer** out) {
  return guarded("the optimizer", [&] {
    auto state = require(model, "model").state;
    if (options == nullptr || out == nullptr) fail("options and output must not be null");
    *out = nullptr;
    const auto& o = *options;
    if (!(o.learning_rate > 0 && std::isfinite(o.learning_rate))) fail("learning rate must be positive, got ", o.learning_rate);
    if (!(o.weight_decay >= 0 && std::isfinite(o.weight_decay))) fail("weight decay must not be negative, got ", o.weight_decay);
    if (!(o.beta1 >= 0 && o.beta1 < 1)) fail("beta1 must be in [0, 1), got ", o.beta1);
    if (!(o.beta2 >= 0 && o.beta2 < 1)) fail("beta2 must be in [0, 1), got ", o.beta2);
    if (!(o.epsilon > 0)) fail("epsilon must be positive, got ", o.epsilon);
    if (o.loss < RNN_LOSS_MSE || o.loss > RNN_LOSS_QUANTILE)
      fail("loss ", o.loss, " is not mse (0), huber (1), cross-entropy (2) or quantile (3)");
    if (o.loss == RNN_LOSS_HUBER && !(o.huber_delta > 0)) fail("the Huber delta must be positive, got ", o.huber_delta);

    auto parameters = state->module->parameters();
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    rnn::ScaledStep* fused = nullptr;
    switch (o.optimizer) {
      case RNN_OPTIMIZER_ADAM:
        optimizer = rnn::make_adam<torch::optim::Adam, rnn::FusedAdam, torch::optim::AdamOptions>(parameters, o, fused);
        break;
      case RNN_OPTIMIZER_ADAMW:
        optimizer = rnn::make_adam<torch::optim::AdamW, rnn::FusedAdamW, torch::optim::AdamWOptions>(parameters, o, fused);
        break;
      default:
        fail("optimizer ", o.optimizer, " is not adam (0) or adamw (1)");
    }
    *out = new rnn_trainer{std::move(state), std::move(optimizer), o, fused};
  });
}

void rnn_trainer_free(rnn_trainer* trainer) { delete trainer; }

rnn_status rnn_trainer_step(rnn_trainer* trainer, const rnn_batch* batch, const rnn_targets* targets, double* loss_out) {
  return guarded("a training step", [&] {
    auto& t = require(trainer, "trainer");
    auto& m = *t.model;
    if (loss_out == nullptr) fail("loss output is null");
    std::lock_guard<std::mutex> lock(m.mutex);
    auto tensors = rnn::to_tensors(m, batch, targets, t.options.loss);
    m.module->train();
    auto parameters = m.module->parameters();
    auto* fused = t.fused;
    if (fused != nullptr) {
      rnn::drop_gradients(parameters);
    } else {
      t.optimizer->zero_grad();
    }
    auto y = m.module->forward(tensors.inputs, tensors.lengths, tensors.device_lengths);
    auto loss = rnn::compute_loss(y, tensors, t.options.loss, t.options.huber_delta);
    const double value = loss.item<double>();
    // A diverged batch must not poison the weights: report it and leave them as they were.
    if (!std::isfinite(value)) throw std::runtime_error("the training loss is not finite (" + std::to_string(value) + "); the step was skipped");
    loss.backward();
    if (fused != nullptr) {
      // Clipping folded into the optimizer's pass: the same factor, applied as the gradients are read.
      fused->step_scaled(t.options.gradient_clip_norm > 0 ? rnn::clip_gradient_scale(parameters, t.options.gradient_clip_norm) : 1.0f);
    } else {
      if (t.options.gradient_clip_norm > 0) torch::nn::utils::clip_grad_norm_(parameters, t.options.gradient_clip_norm);
      t.optimizer->step();
    }
    *loss_out = value;
  });
}

rnn_status rnn_trainer_set_learning_rate(rnn_trainer* trainer, double learning_rate) {
  return guarded("a learning rate", [&] {
    auto& t = require(trainer, "trainer");
    if (!(learning_rate > 0 && std::isfinite(learning_rate))) fail("learning rate must be positive, got ", learning_rate);
    std::lock_guard<std::mutex> lock(t.model->mutex);
    for (auto& group : t.optimizer->param_groups()) {
      if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&group.options())) adam->lr(learning_rate);
      if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&group.options())) adamw->lr(learning_rate);
    }
    t.options.learning_rate = learning_rate;
  });
}

rnn_status rnn_trainer_save(rnn_trainer* trainer, rnn_buffer** out) {
  return guarded("the optimizer state", [&] {
    auto& t = require(trainer, "trainer");
    if (out == nullptr) fail("output is null");
    std::lock_guard<std::mutex> lock(t.model->mutex);
    auto archive = rnn::save_on_cpu(*t.optimizer, t.model->device);
    auto buffer = std::make_unique<rnn_buffer>();
    archive.save_to([&](const void* data, size_t size) {
      const auto* bytes = static_cast<const uint8_t*>(data);
      buffer->bytes.insert(buffer->bytes.end(), bytes, bytes + size);
      return size;
    });
    *out = buffer.release();
  });
}

rnn_status rnn_trainer_load(rnn_trainer* trainer, const uint8_t* data, int64_t size) {
  return guarded("the optimizer state", [&] {
    auto& t = require(trainer, "trainer");
    if (data == nullptr || size <= 0) fail("optimizer state is empty");
    std::lock_guard<std::mutex> lock(t.model->mutex);
    torch::serialize::InputArchive archive;
    archive.load_from(reinterpret_cast<const char*>(data), static_cast<size_t>(size), torch::Device(torch::kCPU));
    rnn::load_from_cpu(*t.optimizer, t.model->device, archive);
  });
}

rnn_status rnn_trainer_save_file(rnn_trainer* trainer, const char* path) {
  return guarded("the optimizer state", [&] {
    auto& t = require(trainer, "trainer");
    if (path == nullptr || *path == '\0') fail("path is empty");
    std::lock_guard<std::mutex> lock(t.model->mutex);
    rnn::save_on_cpu(*t.optimizer, t.model->device).save_to(std::string(path));
  });
}

rnn_status rnn_trainer_load_file(rnn_trainer* trainer, const char* path) {
  return guarded("the optimizer state", [&] {
    auto& t = require(trainer, "trainer");
    if (path == nullptr || *path == '\0') fail("path is empty");
    std::lock_guard<std::mutex> lock(t.model->mutex);
    torch::serialize::InputArchive archive;
    archive.load_from(std::string(path), torch::Device(torch::kCPU));
    rnn::load_from_cpu(*t.optimizer, t.model->device, archive);
  });
}

const uint8_t* rnn_buffer_data(rnn_buffer* buffer) { return buffer ? buffer->bytes.data() : nullptr; }
int64_t rnn_buffer_size(rnn_buffer* buffer) { return buffer ? static_cast<int64_t>(buffer->bytes.size()) : 0; }
void rnn_buffer_free(rnn_buffer* buffer) { delete buffer; }

}  // extern "C"
