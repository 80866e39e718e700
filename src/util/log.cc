#include "util/log.h"

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>

#include "ivftrain/log.h"
#include "ivftrain/status.h"

namespace ivftrain {
namespace {

LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return LogLevel::kDebug;
    case spdlog::level::info: return LogLevel::kInfo;
    case spdlog::level::warn: return LogLevel::kWarning;
    default: return LogLevel::kError;
  }
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarning: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Forwards the unformatted message (spdlog's payload, without pattern) to the LogSink; the
// base class's mutex serialises the calls.
class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void set(LogSink sink) {
    std::lock_guard<std::mutex> lock(mutex_);
    sink_ = std::move(sink);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!sink_) return;
    // Messages quote file names and file contents: escape what a terminal would act on.
    sink_(from_spdlog(msg.level),
          internal::printable(std::string(msg.payload.data(), msg.payload.size())));
  }
  void flush_() override {}

 private:
  LogSink sink_;
};

struct LogState {
  std::shared_ptr<CallbackSink> sink = std::make_shared<CallbackSink>();
  spdlog::logger logger{"ivftrain", sink};
  bool has_sink = false;
  LogLevel level = LogLevel::kInfo;

  LogState() { apply(); }
  void apply() { logger.set_level(has_sink ? to_spdlog(level) : spdlog::level::off); }
};

LogState& state() {
  static LogState s;
  return s;
}

}  // namespace

void set_log_sink(LogSink sink) {
  LogState& s = state();
  s.has_sink = static_cast<bool>(sink);
  s.sink->set(std::move(sink));
  s.apply();
}

void set_log_level(LogLevel level) {
  LogState& s = state();
  s.level = level;
  s.apply();
}

spdlog::logger& logger() { return state().logger; }

}  // namespace ivftrain
