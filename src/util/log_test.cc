#include "util/log.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ivftrain/log.h"

namespace ivftrain {
namespace {

using Logged = std::vector<std::pair<LogLevel, std::string>>;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](LogLevel level, std::string_view message) {
      logged_.emplace_back(level, std::string(message));
    });
  }
  void TearDown() override {
    set_log_sink(nullptr);
    set_log_level(LogLevel::kInfo);
  }
  Logged logged_;
};

TEST_F(LogTest, ForwardsTheMessageWithItsLevel) {
  logger().info("{} partitions", 16);
  logger().warn("{} {{as is}}", "braces");
  logger().error("failed");
  EXPECT_EQ(logged_, (Logged{{LogLevel::kInfo, "16 partitions"},
                             {LogLevel::kWarning, "braces {as is}"},
                             {LogLevel::kError, "failed"}}));
}

TEST_F(LogTest, TheLevelFiltersAndDefaultsToInfo) {
  logger().debug("hidden by default");
  set_log_level(LogLevel::kDebug);
  logger().debug("shown");
  set_log_level(LogLevel::kWarning);
  logger().info("hidden");
  logger().warn("kept");
  EXPECT_EQ(logged_, (Logged{{LogLevel::kDebug, "shown"}, {LogLevel::kWarning, "kept"}}));
}

TEST_F(LogTest, SilentWithoutASink) {
  set_log_sink(nullptr);
  EXPECT_FALSE(logger().should_log(spdlog::level::err));
  logger().error("nobody hears this");
  EXPECT_TRUE(logged_.empty());
}

}  // namespace
}  // namespace ivftrain
