#pragma once

#include <optional>
#include <string>
#include <utility>

namespace relay {

/// What a read of the store gives: the value, or why the database could not give it. A failed
/// read is never an empty value, so a caller can tell "nothing" from "broken"; check ok() first.
/// The store logs nothing about it: the caller decides what a failure means (a 503, a retry).
template <typename T>
struct StoreRead {
  std::optional<T> value;  // set exactly when the read succeeded
  std::string error;       // SQLite's reason, when it failed

  static StoreRead succeeded(T got) {
    StoreRead read;
    read.value.emplace(std::move(got));
    return read;
  }
  static StoreRead failed(std::string why) { return StoreRead{std::nullopt, std::move(why)}; }
  bool ok() const { return value.has_value(); }
  /// The value; only when ok().
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
};

}  // namespace relay
