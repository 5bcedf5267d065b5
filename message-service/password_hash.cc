#include "message-service/password_hash.h"

#include <argon2.h>

#include "shared/auth/auth_key.h"

namespace relay {

namespace {

constexpr uint32_t kPasses = 2;
constexpr uint32_t kMemoryKiB = 19 * 1024;
constexpr uint32_t kLanes = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

// Checked against when the user does not exist, at the same cost as a real hash.
const std::string& decoy_hash() {
  static const std::string decoy = hash_password("no user has this password").value_or("");
  return decoy;
}

}  // namespace

std::optional<std::string> hash_password(std::string_view password) {
  std::string salt = random_bytes(kSaltBytes);
  if (salt.size() != kSaltBytes) return std::nullopt;
  std::string encoded(
      argon2_encodedlen(kPasses, kMemoryKiB, kLanes, kSaltBytes, kHashBytes, Argon2_id), '\0');
  int rc =
      argon2id_hash_encoded(kPasses, kMemoryKiB, kLanes, password.data(), password.size(),
                            salt.data(), salt.size(), kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return std::nullopt;
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool verify_password(std::string_view password, const std::string& encoded) {
  if (encoded.empty()) {
    const std::string& decoy = decoy_hash();
    if (!decoy.empty()) argon2id_verify(decoy.c_str(), password.data(), password.size());
    return false;
  }
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace relay
