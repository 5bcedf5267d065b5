// Unit tests of message-service/config.h: where the chat page is looked for when WWW_DIR is unset.

#include "message-service/config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

namespace relay {
namespace {

namespace fs = std::filesystem;

/// A fresh directory under the system's temp dir, removed with everything in it at the end.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "relay-config-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

TEST_SUITE_BEGIN("message_config");

TEST_CASE("message_config: an installed binary finds share/relay/www beside its bin/") {
  ScratchDir prefix;
  fs::create_directories(prefix.path / "bin");
  fs::create_directories(prefix.path / "share/relay/www");
  std::string found =
      default_www_dir(prefix.path / "bin/message-service", "../share/relay/www", "/src/www");
  CHECK(found == (prefix.path / "share/relay/www").string());
}

TEST_CASE("message_config: without an installed page, the source tree's www/") {
  ScratchDir build;
  fs::create_directories(build.path / "message-service");
  CHECK(default_www_dir(build.path / "message-service/message-service", "../share/relay/www",
                        "/src/www") == "/src/www");
  CHECK(default_www_dir(fs::path(), "../share/relay/www", "/src/www") == "/src/www");
}

TEST_CASE("message_config: a file where the page should be is not a page directory") {
  ScratchDir prefix;
  fs::create_directories(prefix.path / "bin");
  fs::create_directories(prefix.path / "share/relay");
  std::ofstream(prefix.path / "share/relay/www") << "not a directory";
  CHECK(default_www_dir(prefix.path / "bin/message-service", "../share/relay/www", "/src/www") ==
        "/src/www");
}

TEST_SUITE_END();

}  // namespace relay
