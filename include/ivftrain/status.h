// Status and Result: how every fallible call in ivftrain reports failure.
//
// A Status is OK or carries a code and one sentence for a person, naming the file, fragment or
// parameter at fault. A Result<T> holds either a value or a non-OK Status. The library never
// throws across its API, never prints and never exits; callers decide what to do with errors.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace ivftrain {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,    // a parameter or an input is not acceptable
    kIOError,            // the operating system refused a read or a write
    kCorruption,         // a file is malformed, truncated or fails its checksum
    kNotFound,           // a path, dataset or fragment does not exist
    kAlreadyExists,      // an output exists and overwriting was not asked for
    kFailedPrecondition  // the inputs are valid alone but do not fit together
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }

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
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none. Accessing value() of a failed Result
// is a programming error (checked by assert in debug builds).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}                      // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { /* must not be OK */ }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ivftrain
