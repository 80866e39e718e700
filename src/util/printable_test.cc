// Status messages never carry bytes a terminal would act on (internal::printable).
#include <gtest/gtest.h>

#include <string>

#include "ivftrain/status.h"

namespace ivftrain {
namespace {

using internal::printable;

TEST(Printable, PlainTextAndUtf8AreUnchanged) {
  EXPECT_EQ(printable("a.npy: malformed header 'x'"), "a.npy: malformed header 'x'");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
}

TEST(Printable, ControlBytesAreEscaped) {
  EXPECT_EQ(printable("'<f4\x1b[31mFAKE'"), "'<f4\\x1b[31mFAKE'");
  EXPECT_EQ(printable(std::string("a\0b\x07\x7f", 5)), "a\\x00b\\x07\\x7f");
  EXPECT_EQ(printable("line\nnext\tcol\r"), "line\\nnext\\tcol\\r");
  EXPECT_EQ(printable("\xc2\x9b"), "\\u009b");              // C1 CSI, UTF-8 encoded
  EXPECT_EQ(printable("\x9b\xff\xc3"), "\\x9b\\xff\\xc3");  // not UTF-8
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(Printable, EscapingTwiceChangesNothing) {
  const std::string once = printable("x\x1b]0;title\x07y");
  EXPECT_EQ(printable(once), once);
}

// Every Status message passes through it, whoever builds it.
TEST(Printable, StatusMessagesAreEscaped) {
  const Status st = Status::Corruption("h.npy: descr '\x1b[2J'");
  EXPECT_EQ(st.message(), "h.npy: descr '\\x1b[2J'");
  EXPECT_EQ(st.WithContext("fragment \x1b 3").message(),
            "fragment \\x1b 3: h.npy: descr '\\x1b[2J'");
  EXPECT_EQ(Status::FromCode(Status::Code::kIOError, "\x07").message(), "\\x07");
}

}  // namespace
}  // namespace ivftrain
