// RnnService's C ABI over libtorch.
//
// The boundary is coarse on purpose: every call carries a whole padded batch or a whole
// parameter set, so the managed side crosses it a few times per batch, not per tensor op.
// No C++ exception crosses it: every call returns an rnn_status, and on failure the message
// is kept per thread and read with rnn_last_error() right after the call.
#ifndef RNNSHIM_H
#define RNNSHIM_H

#include <stdint.h>

#if defined(_WIN32)
#define RNN_API __declspec(dllexport)
#else
#define RNN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t rnn_status;
enum {
  RNN_OK = 0,
  RNN_INVALID_ARGUMENT = 1,  // the caller's input is wrong (shapes, lengths, names)
  RNN_ENGINE_ERROR = 2,      // libtorch failed (a CUDA error, a diverged loss, ...)
  RNN_OUT_OF_MEMORY = 3,     // an allocation failed; the message says how many bytes, for what
};

enum { RNN_CELL_LSTM = 0, RNN_CELL_GRU = 1, RNN_CELL_RNN = 2 };
// RNN_LOSS_QUANTILE: the pinball loss. The head gives quantile_count outputs for each target value (target-major:
// output j * quantile_count + q is target j at quantile q), and the loss is the mean over targets and quantiles of
// max(q * (y - o), (q - 1) * (y - o)).
enum { RNN_LOSS_MSE = 0, RNN_LOSS_HUBER = 1, RNN_LOSS_CROSS_ENTROPY = 2, RNN_LOSS_QUANTILE = 3 };
enum { RNN_OPTIMIZER_ADAM = 0, RNN_OPTIMIZER_ADAMW = 1 };
// How a sequence's representation is read from the top layer's per-step outputs o (padded steps excluded): its final
// state (h_n), their mean, their per-unit max, or attention: w = softmax(attention(tanh(o))), sum_t w_t o_t.
enum { RNN_POOLING_LAST = 0, RNN_POOLING_MEAN = 1, RNN_POOLING_MAX = 2, RNN_POOLING_ATTENTION = 3 };

// rnn_model_forward flags
enum { RNN_FORWARD_SOFTMAX = 1 };

typedef struct rnn_model rnn_model;
typedef struct rnn_trainer rnn_trainer;
typedef struct rnn_buffer rnn_buffer;

typedef struct {
  int32_t cell;             // RNN_CELL_*
  int32_t bidirectional;    // 0 or 1
  int64_t input_size;       // features per step; equals embedding_dim for token models
  int64_t hidden_size;
  int64_t num_layers;
  double dropout;           // between stacked layers, training only
  int64_t vocabulary_size;  // 0: no embedding, inputs are float features
  int64_t embedding_dim;    // 0 unless vocabulary_size > 0
  int64_t output_size;      // head outputs
  int32_t pooling;          // RNN_POOLING_*; attention adds attention.weight (1, directions * hidden) and .bias
  int32_t per_step;         // 1: the head reads every step's output (many-to-many, synchronous): outputs are
                            // (batch_size, steps, output_size), zeros past each length; pooling must be last
  double embedding_dropout; // token models: dropout on the embedded tokens, training only (no weights; inference
                            // is unchanged); must be 0 without an embedding
} rnn_model_spec;

// A padded batch, batch-first. Exactly one of features / tokens is set.
typedef struct {
  const float* features;    // (batch_size, steps, feature_count), row-major
  const int64_t* tokens;    // (batch_size, steps) token ids; 0 is padding
  const int64_t* lengths;   // (batch_size): each in 1..steps
  int64_t batch_size;
  int64_t steps;            // the padded length
  int64_t feature_count;    // must equal the model's input size (1 for tokens)
} rnn_batch;

// Targets for a batch: values (batch_size, output_size) for MSE/Huber,
// or classes (batch_size) in 0..output_size-1 for cross-entropy. For a per-step model, one row per step:
// values (batch_size, steps, output_size) or classes (batch_size, steps); what lies past a sequence's length is not
// read, and the loss is the mean over real steps only.
// For the quantile loss: values (batch_size, output_size / quantile_count), and the quantile levels, each in (0, 1);
// quantiles is not read by the other losses (NULL and 0 there).
typedef struct {
  const float* values;
  const int64_t* classes;
  int64_t batch_size;
  const double* quantiles;
  int64_t quantile_count;
} rnn_targets;

typedef struct {
  int32_t optimizer;        // RNN_OPTIMIZER_*
  int32_t loss;             // RNN_LOSS_*
  double learning_rate;
  double weight_decay;
  double beta1;
  double beta2;
  double epsilon;
  double gradient_clip_norm;  // <= 0: no clipping
  double huber_delta;
} rnn_trainer_options;

typedef struct {
  char libtorch_version[32];
  int32_t cuda_available;
  int32_t cuda_device_count;
  int32_t intra_op_threads;
} rnn_engine_info;

RNN_API const char* rnn_last_error(void);

// Process-wide engine settings.
RNN_API rnn_status rnn_engine_query(rnn_engine_info* out);
RNN_API rnn_status rnn_engine_set_seed(uint64_t seed);
RNN_API rnn_status rnn_engine_set_threads(int32_t intra_op_threads);
RNN_API rnn_status rnn_engine_set_flush_denormal(int32_t on);
// TensorFloat-32 in cuDNN's RNNs and cuBLAS's float32 products on GPUs that have it (Ampere and later): faster, with
// about three significant digits instead of float32's seven. libtorch allows it in cuDNN by default; RnnService
// turns it off unless configured, so that a model gives the same outputs on the GPU as on the CPU (within 1e-4).
RNN_API rnn_status rnn_engine_set_allow_tf32(int32_t on);
// oneDNN (mkldnn) kernels where libtorch would pick them: its CPU LSTM for inference. Off from the moment the shim is
// loaded: libtorch's own kernels are the ones the parity tests check, and Debian's libtorch 2.6 computes LSTM outputs
// through oneDNN that are off by 0.2 (scripts/check-libtorch2.sh found it; PyTorch 2.6 from the same package agrees).
RNN_API rnn_status rnn_engine_set_onednn(int32_t on);
// Keeps freed memory for reuse instead of handing it back to the system (glibc's malloc; elsewhere a no-op):
// blocks up to mmap_threshold bytes come from the heap (0: every block, however large; a thread's arena still maps
// one larger than its 64 MiB heaps), and up to trim_threshold bytes of free heap are kept.
// libtorch frees and allocates the same large activations and gradients every training step; given back, each
// allocation costs page faults and zeroing again (a third of a step's time for the models here).
RNN_API rnn_status rnn_engine_keep_freed_memory(int64_t mmap_threshold, int64_t trim_threshold);
// Hands memory that is free but kept (the heap's free pages, in every arena) back to the system now (glibc's
// malloc_trim; elsewhere a no-op). The worker calls it when a job ends, so that a large job's memory does not stay
// resident after it.
RNN_API rnn_status rnn_engine_release_free_memory(void);

// Models. device: -1 for the CPU, k >= 0 for CUDA device k. seed < 0 leaves the
// generator as it is; otherwise the initial weights depend on the seed alone.
RNN_API rnn_status rnn_model_create(const rnn_model_spec* spec, int32_t device, int64_t seed,
                                    rnn_model** out);
RNN_API void rnn_model_free(rnn_model* model);
RNN_API rnn_status rnn_model_parameter_count(rnn_model* model, int64_t* out);
// One line per parameter, in state_dict order: "name\td0,d1,...\n".
RNN_API rnn_status rnn_model_describe_parameters(rnn_model* model, rnn_buffer** out);
// All parameters, concatenated in state_dict order, as float32; count must be the total.
RNN_API rnn_status rnn_model_read_parameters(rnn_model* model, float* destination, int64_t count);
RNN_API rnn_status rnn_model_write_parameters(rnn_model* model, const float* source, int64_t count);

// How a model's recurrent layers meet sequences of different lengths: RNN_PATH_AUTO (packed on CUDA; on the CPU the
// shim's fused layers for LSTMs and GRUs, training and inference; RNN cells padded for training, and for inference
// padded with little padding and packed otherwise), or one of them for every call (the tests check that each gives
// PyTorch's results). RNN_PATH_FUSED is the shim's own layers on the CPU (with their own backward for training); where
// they do not apply (CUDA, RNN cells) a model on it runs as on RNN_PATH_AUTO without them.
// RNN_PATH_PADDED is padded through libtorch's operators. The environment variable RNNSHIM_FUSED_LSTM=0 keeps
// RNN_PATH_AUTO off the fused layers, LSTM and GRU (for comparing the two).
#define RNN_PATH_AUTO 0
#define RNN_PATH_PACKED 1
#define RNN_PATH_PADDED 2
#define RNN_PATH_FUSED 3
RNN_API rnn_status rnn_model_set_sequence_path(rnn_model* model, int32_t path);

// Inference: no autograd, dropout off. outputs: (batch_size, output_size), or (batch_size, steps, output_size) for a
// per-step model (zeros past each length; the softmax flag applies to each step).
// states, when not NULL: (batch_size, steps, directions * hidden_size), the top layer's
// hidden state at each step, zero past each sequence's length.
RNN_API rnn_status rnn_model_forward(rnn_model* model, const rnn_batch* batch, int32_t flags,
                                     float* outputs, float* states);
// Loss of a batch without autograd; outputs (may be NULL) as in rnn_model_forward.
RNN_API rnn_status rnn_model_evaluate(rnn_model* model, const rnn_batch* batch,
                                      const rnn_targets* targets, int32_t loss, double huber_delta,
                                      double* loss_out, float* outputs);

// Training. A trainer owns an optimizer over one model's parameters.
RNN_API rnn_status rnn_trainer_create(rnn_model* model, const rnn_trainer_options* options,
                                      rnn_trainer** out);
RNN_API void rnn_trainer_free(rnn_trainer* trainer);
// Forward with dropout, loss, backward, clipping, optimizer step. Returns the batch loss.
RNN_API rnn_status rnn_trainer_step(rnn_trainer* trainer, const rnn_batch* batch,
                                    const rnn_targets* targets, double* loss_out);
RNN_API rnn_status rnn_trainer_set_learning_rate(rnn_trainer* trainer, double learning_rate);
// Optimizer state, for resuming (libtorch's archive format; not meant for PyTorch).
RNN_API rnn_status rnn_trainer_save(rnn_trainer* trainer, rnn_buffer** out);
RNN_API rnn_status rnn_trainer_load(rnn_trainer* trainer, const uint8_t* data, int64_t size);
// The same, written to and read from a file (UTF-8 path) by libtorch directly: no copy of Adam's moments (8 bytes a
// parameter) is made in memory on either side.
RNN_API rnn_status rnn_trainer_save_file(rnn_trainer* trainer, const char* path);
RNN_API rnn_status rnn_trainer_load_file(rnn_trainer* trainer, const char* path);

// Byte buffers returned by the engine.
RNN_API const uint8_t* rnn_buffer_data(rnn_buffer* buffer);
RNN_API int64_t rnn_buffer_size(rnn_buffer* buffer);
RNN_API void rnn_buffer_free(rnn_buffer* buffer);

#ifdef __cplusplus
}
#endif

#endif  // RNNSHIM_H
