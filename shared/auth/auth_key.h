#pragma once

#include <string>

namespace relay {

/// The key that signs and checks access tokens, or why there is none.
struct AuthKey {
  std::string key;    // raw bytes; empty when `error` is set
  std::string error;  // one line for the operator
};

/// The key from AUTH_SECRET's value: at least 32 bytes, used as given.
AuthKey auth_key_from_secret(const std::string& secret);

/// The key in `path`; when the file does not exist, creates it first with 32 random bytes
/// (getrandom), mode 0600, without replacing a file another process created at the same moment.
/// A file that is shorter than 32 bytes, or readable by others, is an error.
AuthKey load_or_create_key_file(const std::string& path);

/// The key in `path`, which must already exist (notify-service reads message-service's file).
AuthKey read_key_file(const std::string& path);

/// `count` random bytes from the kernel (getrandom); empty if it fails.
std::string random_bytes(size_t count);

/// `count` random bytes as lower-case hex (2 × count characters); empty if it fails.
std::string random_hex(size_t count);

}  // namespace relay
