// The error convention of tolk's C++ shim: every extern "C" entry point runs its body through
// guarded(), which catches C++ exceptions and returns `on_error` instead, leaving the message
// in this thread's slot for tolk_last_error() (defined in tolk_shim.cpp).
#pragma once

#include <exception>
#include <string>

namespace tolk {

// This thread's last error message (defined in tolk_shim.cpp).
std::string& last_error_slot();

template <typename F>
auto guarded(F f, decltype(f()) on_error) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    last_error_slot() = e.what();
  } catch (...) {
    last_error_slot() = "unknown C++ exception";
  }
  return on_error;
}

}  // namespace tolk
