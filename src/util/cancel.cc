#include "util/cancel.h"

#include <atomic>
#include <mutex>

namespace ivftrain {
namespace {

std::atomic<bool> g_cancel{false};
static_assert(std::atomic<bool>::is_always_lock_free, "request_cancel must be signal-safe");

// The observer and the lock that serialises its calls. has_observer spares the lock to the
// callers that install none (the command line).
struct ProgressState {
  std::mutex mutex;
  ProgressObserver observer;
  std::atomic<bool> has_observer{false};
};

ProgressState& progress() {
  static ProgressState s;
  return s;
}

}  // namespace

void request_cancel() { g_cancel.store(true, std::memory_order_relaxed); }
void clear_cancel() { g_cancel.store(false, std::memory_order_relaxed); }
bool cancel_requested() { return g_cancel.load(std::memory_order_relaxed); }

Status cancelled_status() { return Status::Cancelled("training was cancelled"); }

void set_progress_observer(ProgressObserver observer) {
  ProgressState& s = progress();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.has_observer.store(static_cast<bool>(observer));
  s.observer = std::move(observer);
}

bool iteration_done(std::string_view run, int iteration, double objective) {
  ProgressState& s = progress();
  if (s.has_observer.load()) {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.observer) s.observer(run, iteration, objective);
  }
  return !cancel_requested();
}

}  // namespace ivftrain
