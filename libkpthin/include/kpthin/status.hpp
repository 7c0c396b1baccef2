// Status and Result<T>: what went wrong, as an error code plus context, without exceptions on
// the hot path.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace kpthin {

// A Status is either ok() or an error_code (from one of kpthin's categories, see errors.hpp, or
// a system category) plus a human-readable context message.
class Status {
 public:
  Status() = default;  // ok
  Status(std::error_code code, std::string context = {}) : code_(code), context_(std::move(context)) {}

  static Status ok_status() { return {}; }

  bool ok() const { return !code_; }
  explicit operator bool() const { return ok(); }
  const std::error_code& code() const { return code_; }
  const std::string& context() const { return context_; }

  // "<context>: <code message>" or just the code message.
  std::string message() const;

 private:
  std::error_code code_;
  std::string context_;
};

// Result<T> holds a T or a failed Status.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }
  Result(std::error_code code, std::string context = {}) : v_(Status(code, std::move(context))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The failure; an ok Status when the result holds a value.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kpthin
