// Wall-clock timing for statistics and log lines (never for results).
#pragma once

#include <chrono>

namespace ivftrain {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace ivftrain
