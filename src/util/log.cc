#include "ivftrain/log.h"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace ivftrain {
namespace {

std::shared_ptr<spdlog::logger> silent_logger() {
  static auto logger = std::make_shared<spdlog::logger>(
      "ivftrain-silent", std::make_shared<spdlog::sinks::null_sink_mt>());
  return logger;
}

std::shared_ptr<spdlog::logger>& current() {
  static std::shared_ptr<spdlog::logger> logger = silent_logger();
  return logger;
}

}  // namespace

void set_logger(std::shared_ptr<spdlog::logger> logger) {
  current() = logger ? std::move(logger) : silent_logger();
}

spdlog::logger& logger() { return *current(); }

}  // namespace ivftrain
