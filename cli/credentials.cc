#include "cli/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/service_client.h"
#include "shared/auth/request_auth.h"
#include "shared/time_format.h"

namespace relay::cli {

namespace {

int64_t now_s() {
  return now_unix_ms() / 1000;
}

}  // namespace

std::string credentials_path() {
  const char* config = std::getenv("XDG_CONFIG_HOME");
  if (config != nullptr && *config != '\0') return std::string(config) + "/relay/credentials.json";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0')
    return std::string(home) + "/.config/relay/credentials.json";
  return "";
}

std::optional<Credentials> load_credentials(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (!json.is_object()) return std::nullopt;
  Credentials credentials;
  credentials.message_url = json.value("message_url", "");
  credentials.user = json.value("user", "");
  credentials.access_token = json.value("access_token", "");
  credentials.session = json.value("session", "");
  credentials.expires_at_s = json.value("expires_at_s", int64_t{0});
  if (credentials.user.empty() || credentials.access_token.empty()) return std::nullopt;
  return credentials;
}

bool save_credentials(const std::string& path, const Credentials& credentials, std::string* error) {
  if (path.empty()) {
    *error = "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the credentials";
    return false;
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code made;
  std::filesystem::create_directories(dir, made);
  ::chmod(dir.c_str(), 0700);
  std::string text = nlohmann::json{{"message_url", credentials.message_url},
                                    {"user", credentials.user},
                                    {"access_token", credentials.access_token},
                                    {"session", credentials.session},
                                    {"expires_at_s", credentials.expires_at_s}}
                         .dump() +
                     "\n";
  std::string temporary = path + ".tmp";
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot write " + temporary + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

bool remove_credentials(const std::string& path) {
  return !path.empty() && ::unlink(path.c_str()) == 0;
}

std::string cookie_from_set_cookies(const std::vector<std::string>& set_cookies,
                                    const std::string& name) {
  for (const auto& cookie : set_cookies) {
    // "name=value; Path=/; ...": the pair comes first, and the attributes never hold our names.
    if (auto value = cookie_value(cookie, name); value && cookie.rfind(name + "=", 0) == 0) {
      return *value;
    }
  }
  return "";
}

std::string CredentialKeeper::authorization() {
  std::lock_guard lock(mutex_);
  if (credentials_.expires_at_s - now_s() < 60 && !credentials_.session.empty()) {
    ServiceClient client(credentials_.message_url);
    CallResult renewed = client.post_json("/auth/token", nlohmann::json::object(),
                                          {{"Cookie", "relay_session=" + credentials_.session}});
    if (renewed.status == 200 && renewed.json.is_object() &&
        renewed.json.value("access_token", "") != "") {
      credentials_.access_token = renewed.json["access_token"];
      credentials_.expires_at_s = now_s() + renewed.json.value("expires_in", int64_t{60});
      std::string ignored;
      save_credentials(path_, credentials_, &ignored);
    }
  }
  return "Bearer " + credentials_.access_token;
}

}  // namespace relay::cli
