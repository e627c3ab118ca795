// Keeps C++ exceptions on this side of the C ABI: each exported call runs its body through
// guarded(), which turns any exception into a status and a per-thread message.
#pragma once

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

template <typename Body>
rnn_status guarded(Body&& body) noexcept {
  try {
    body();
    return RNN_OK;
  } catch (const InvalidArgument& e) {
    set_last_error(e.what());
    return RNN_INVALID_ARGUMENT;
  } catch (const c10::Error& e) {
    // libtorch's own messages carry a C++ backtrace; the caller needs the sentence.
    set_last_error(e.what_without_backtrace());
    return RNN_ENGINE_ERROR;
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

}  // namespace rnn
