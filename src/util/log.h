// The library's internal logger. Library code logs through logger(), an spdlog logger whose one
// sink forwards each message to the application's LogSink (include/ivftrain/log.h). Its level
// is "off" while no sink is installed, so nothing is formatted for nobody.
#pragma once

#include <spdlog/logger.h>

namespace ivftrain {

// Never null; valid for the life of the program.
spdlog::logger& logger();

}  // namespace ivftrain
