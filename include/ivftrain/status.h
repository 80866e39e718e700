// Status and Result: how every fallible call in ivftrain reports failure.
//
// A Status is OK or carries a code and one sentence for a person, naming the file, fragment or
// parameter at fault. A Result<T> holds either a value or a non-OK Status. The library never
// throws across its API, never prints and never exits; callers decide what to do with errors.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace ivftrain {

namespace internal {
// `text` with every byte a terminal could act on made visible: C0 control characters (ESC, BEL,
// ...) and DEL as \xNN (\n, \r, \t as such), C1 controls as \u0080..\u009f, bytes that are
// not UTF-8 as \xNN; printable text, including UTF-8, unchanged. Backslashes are kept as they
// are, so that escaping twice changes nothing. Messages quote file names, headers and manifest
// entries, which anyone can fill with escape sequences.
std::string printable(std::string text);
}  // namespace internal

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,     // a parameter or an input is not acceptable
    kIOError,             // the operating system refused a read or a write
    kCorruption,          // a file is malformed, truncated or fails its checksum
    kNotFound,            // a path, dataset or fragment does not exist
    kAlreadyExists,       // an output exists and overwriting was not asked for
    kFailedPrecondition,  // the inputs are valid alone but do not fit together
    kInternal,            // a bug in ivftrain: an invariant of its own code broke
    kCancelled            // the application asked the call to stop (util/cancel.h)
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {Code::kCancelled, std::move(msg)}; }

  // A non-OK status of any code (for statuses that crossed a process boundary as a code).
  static Status FromCode(Code code, std::string msg) {
    return code == Code::kOk ? Status() : Status(code, std::move(msg));
  }
  // The same status with "context: " before its message; OK stays OK.
  Status WithContext(const std::string& context) const {
    return ok() ? Status() : Status(code_, context + ": " + message_);
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK", or the message alone: messages are written to be read as they are.
  std::string ToString() const { return ok() ? std::string("OK") : message_; }

 private:
  // Every message passes here: whatever a file put into it is escaped once, for all callers.
  Status(Code code, std::string msg) : code_(code), message_(internal::printable(std::move(msg))) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the non-OK Status that explains why there is none.
//
// Misuse is a programming error, caught by assert() in every translation unit compiled without
// NDEBUG (in this repository: the debug preset, and the asan preset, which keeps assertions):
//   - value(), operator* and operator-> of a Result that holds no value abort there; in a build
//     with NDEBUG they are unchecked (undefined behaviour, as for std::optional). Test ok() first.
//   - A Result built from an OK Status aborts there. With NDEBUG it becomes a failed Result whose
//     status is kInternal, so the caller still sees an error rather than a Result that is neither
//     a value nor an error.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result needs a value or a non-OK Status");
    if (status_.ok()) {
      status_ = Status::Internal("internal error: a Result was built from an OK Status");
    }
  }

  bool ok() const { return value_.has_value(); }
  // OK when there is a value, else the error.
  const Status& status() const { return status_; }
  T& value() & { return checked(); }
  const T& value() const& { return checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return checked(); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &checked(); }

 private:
  T& checked() {
    assert(ok() && "value() of a failed Result: test ok() first");
    return *value_;
  }
  const T& checked() const {
    assert(ok() && "value() of a failed Result: test ok() first");
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace ivftrain
