// Cancellation and progress of long training calls, for applications that run them on behalf
// of an interactive user (the Python module turns Ctrl-C into request_cancel() and hands each
// k-means iteration to its progress= callback).
//
// Both are process-wide, like the log sink: a cancel request stops every training call running
// in the process at its next check (the Lloyd loop after each iteration, PQ before each
// sub-space, sampling before each fragment), each returning a kCancelled status; nothing is
// written by a cancelled call. The application clears the request before its next call.
#pragma once

#include <functional>
#include <string_view>

#include "ivftrain/status.h"

namespace ivftrain {

// Safe to call from any thread, and from a signal handler (a lock-free atomic store).
void request_cancel();
void clear_cancel();
bool cancel_requested();
// The error a cancelled call returns.
Status cancelled_status();

// Receives each k-means iteration: the run's name in the log ("ivf", "pq[3]"), the iteration
// (from 1) and its objective. Called on whichever thread trains (PQ sub-spaces train in
// parallel); calls are serialised. It must not call back into the library.
using ProgressObserver = std::function<void(std::string_view run, int iteration, double objective)>;
// Installs the observer; an empty one removes it. Set it between training calls.
void set_progress_observer(ProgressObserver observer);

// The Lloyd loop's call after each iteration: passes it to the observer, then returns false
// when a cancel was requested (the loop then stops; its caller returns cancelled_status()).
bool iteration_done(std::string_view run, int iteration, double objective);

}  // namespace ivftrain
