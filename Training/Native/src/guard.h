// Keeps C++ exceptions on this side of the C ABI: each exported call runs its body through
// guarded(), which turns any exception into a status and a per-thread message.
#pragma once

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>

#include <c10/util/Exception.h>

#include "rnnshim.h"

namespace rnn {

// The caller's input is wrong; reported as RNN_INVALID_ARGUMENT.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

void set_last_error(std::string message);

// An allocation that libtorch (or the C++ library) could not make, told the way RnnService tells it: how many bytes, for
// what. libtorch's CPU allocator says "... you tried to allocate N bytes ..." (1.13 and 2.x), its CUDA allocator "CUDA out
// of memory. Tried to allocate ...". Returns false for any other message.
bool describe_out_of_memory(const std::string& message, const char* what, std::string& out);

// Runs an exported call's body. `what` names what the call allocates for ("a training step"), for the message of an
// allocation that fails.
template <typename Body>
rnn_status guarded(const char* what, Body&& body) noexcept {
  try {
    body();
    return RNN_OK;
  } catch (const InvalidArgument& e) {
    set_last_error(e.what());
    return RNN_INVALID_ARGUMENT;
  } catch (const c10::Error& e) {
    // libtorch's own messages carry a C++ backtrace; the caller needs the sentence.
    std::string message = e.what_without_backtrace();
    std::string out_of_memory;
    if (describe_out_of_memory(message, what, out_of_memory)) {
      set_last_error(std::move(out_of_memory));
      return RNN_OUT_OF_MEMORY;
    }
    set_last_error(std::move(message));
    return RNN_ENGINE_ERROR;
  } catch (const std::bad_alloc&) {
    set_last_error(std::string("the engine could not allocate memory for ") + what);
    return RNN_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(e.what());
    return RNN_ENGINE_ERROR;
  } catch (...) {
    set_last_error("unknown native error");
    return RNN_ENGINE_ERROR;
  }
}

inline std::string to_text(const std::string& s) { return s; }
inline std::string to_text(const char* s) { return s; }
template <typename Number>
std::string to_text(Number n) { return std::to_string(n); }

// Guard clauses whose messages name the bad value.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::string message;
  (message += ... += to_text(parts));
  throw InvalidArgument(message);
}

// a × b for sizes and counts, refused with a message naming `what` when it does not fit in 64 bits (a wrapped product
// would pass every later check as a small or negative size).
inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) fail(what, " does not fit in 64 bits (", a, " × ", b, ")");
  return product;
}

inline int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) fail(what, " does not fit in 64 bits (", a, " + ", b, ")");
  return sum;
}

}  // namespace rnn
