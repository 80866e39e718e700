// Logging. The library never prints: it writes progress and warnings to one spdlog logger that
// the application installs. Until one is installed, messages are discarded.
#pragma once

#include <memory>

namespace spdlog {
class logger;
}

namespace ivftrain {

// Installs the logger the library writes to (nullptr restores the silent default).
// Not thread-safe with respect to concurrent training calls: set it once at start-up.
void set_logger(std::shared_ptr<spdlog::logger> logger);

// The logger in use; never null.
spdlog::logger& logger();

}  // namespace ivftrain
