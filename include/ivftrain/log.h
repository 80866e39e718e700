// Logging. The library never prints: it passes its progress messages and warnings to one
// callback, the sink, that the application installs (to print them, or to hand them to its own
// logging). Until a sink is installed, messages are discarded without being formatted.
#pragma once

#include <functional>
#include <string_view>

namespace ivftrain {

enum class LogLevel {
  kDebug,    // every k-means iteration, rows dropped per fragment
  kInfo,     // one line per phase
  kWarning,  // a result to look at: few rows per centroid, a balance not reached, ...
  kError
};

// Receives one message at a time (calls are serialised), without a trailing newline, on
// whichever thread logs. It must not call back into the library.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Installs the sink; an empty one restores the silent default. Not thread-safe with respect to
// training calls running concurrently: set it at start-up.
void set_log_sink(LogSink sink);

// Messages below `level` are neither formatted nor passed to the sink. Default: kInfo.
void set_log_level(LogLevel level);

}  // namespace ivftrain
