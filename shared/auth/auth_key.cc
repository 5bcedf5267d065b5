#include "shared/auth/auth_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace relay {

namespace {

constexpr size_t kKeyBytes = 32;

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t wrote = ::write(fd, data.data() + done, data.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    done += static_cast<size_t>(wrote);
  }
  return true;
}

}  // namespace

std::string random_bytes(size_t count) {
  std::string bytes(count, '\0');
  size_t done = 0;
  while (done < count) {
    ssize_t got = ::getrandom(bytes.data() + done, count - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return {};
    done += static_cast<size_t>(got);
  }
  return bytes;
}

std::string random_hex(size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string bytes = random_bytes(count);
  if (bytes.size() != count) return {};
  std::string hex;
  hex.reserve(count * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0xf]);
  }
  return hex;
}

AuthKey auth_key_from_secret(const std::string& secret) {
  if (secret.size() < kKeyBytes) {
    return {{},
            "AUTH_SECRET is " + std::to_string(secret.size()) +
                " bytes; it must be at least 32 (e.g. the output of `openssl rand -hex 32`)"};
  }
  return {secret, {}};
}

AuthKey read_key_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {{}, "cannot read the key file " + path + ": " + std::strerror(errno)};
  struct stat info {};
  std::string key;
  char buffer[256];
  bool ok = ::fstat(fd, &info) == 0;
  while (ok) {
    ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) ok = false;
    if (got <= 0) break;
    key.append(buffer, static_cast<size_t>(got));
    if (key.size() > 4096) ok = false;
  }
  ::close(fd);
  if (!ok) return {{}, "cannot read the key file " + path};
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return {{}, "the key file " + path + " is readable by others (chmod 600 it)"};
  }
  if (key.size() < kKeyBytes) {
    return {{},
            "the key file " + path + " holds " + std::to_string(key.size()) +
                " bytes; a key is at least 32"};
  }
  return {key, {}};
}

AuthKey load_or_create_key_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string key = random_bytes(kKeyBytes);
    bool ok = key.size() == kKeyBytes && write_all(fd, key) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      return {{}, "cannot write a new key file " + path};
    }
    return {key, {}};
  }
  if (errno != EEXIST)
    return {{}, "cannot create the key file " + path + ": " + std::strerror(errno)};
  return read_key_file(path);
}

}  // namespace relay
