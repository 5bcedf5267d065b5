#include "bench/load/load_options.h"

#include <doctest/doctest.h>

namespace relay::load {
namespace {

std::optional<LoadOptions> parse(const std::vector<std::string>& args, std::string* error) {
  bool help = false;
  return parse_load_options(args, error, &help);
}

TEST_CASE("parse_load_options reads every flag") {
  std::string error;
  auto options = parse({"--notify",         "http://127.0.0.1:9001",
                        "--message",        "http://127.0.0.1:9002/",
                        "--subscribers",    "19000",
                        "--messages",       "10000",
                        "--path",           "notify",
                        "--batch",          "64",
                        "--publishers",     "4",
                        "--rate",           "100.5",
                        "--time-limit",     "30",
                        "--server-pid",     "1234",
                        "--server-pid",     "1240",
                        "--max-connecting", "50",
                        "--drain-ms",       "500"},
                       &error);
  REQUIRE_MESSAGE(options, error);
  CHECK(options->notify_port == 9001);
  CHECK(options->message_port == 9002);
  CHECK(options->subscribers == 19000);
  CHECK(options->messages == 10000);
  CHECK(options->path == PublishPath::kNotify);
  CHECK(options->batch == 64);
  CHECK(options->publishers == 4);
  CHECK(options->rate == doctest::Approx(100.5));
  CHECK(options->time_limit_s == doctest::Approx(30));
  CHECK(options->server_pids == std::vector<int64_t>{1234, 1240});
  CHECK(options->target == Target::kRelay);
  CHECK(options->max_connecting == 50);
  CHECK(options->drain_ms == 500);
  CHECK_FALSE(options->listen_only);
}

TEST_CASE("parse_load_options: --listen-only takes no value and needs streams") {
  std::string error;
  auto options = parse({"--listen-only", "--subscribers", "16000", "--messages", "50"}, &error);
  REQUIRE_MESSAGE(options, error);
  CHECK(options->listen_only);
  CHECK(options->subscribers == 16000);
  CHECK_FALSE(parse({"--subscribers", "0", "--listen-only"}, &error));
  CHECK(error.find("--listen-only") != std::string::npos);
}

TEST_CASE("parse_load_options takes nchan's two locations and publishes there") {
  std::string error;
  auto options = parse({"--target", "nchan", "--sub-url", "http://127.0.0.1:9100/sub/bench",
                        "--pub-url", "http://127.0.0.1:9100/pub/bench", "--subscribers", "0"},
                       &error);
  REQUIRE_MESSAGE(options, error);
  CHECK(options->target == Target::kNchan);
  CHECK(options->path == PublishPath::kNchan);
  CHECK(options->nchan_sub_port == 9100);
  CHECK(options->nchan_sub_path == "/sub/bench");
  CHECK(options->nchan_pub_path == "/pub/bench");
  CHECK(options->subscribers == 0);
  CHECK(options->server_pids.empty());
}

TEST_CASE("parse_load_options rejects bad arguments") {
  std::string error;
  CHECK_FALSE(parse({"--notify", "http://example.com:80"}, &error));
  CHECK_FALSE(parse({"--notify", "http://127.0.0.1:0"}, &error));
  CHECK_FALSE(parse({"--subscribers", "-1"}, &error));
  CHECK_FALSE(parse({"--subscribers", "12x"}, &error));
  CHECK_FALSE(parse({"--path", "carrier-pigeon"}, &error));
  CHECK_FALSE(parse({"--rate", "-1"}, &error));
  CHECK_FALSE(parse({"--messages"}, &error));
  CHECK_FALSE(parse({"--bogus", "1"}, &error));
  CHECK_FALSE(parse({"--path", "messages", "--batch", "5"}, &error));
  CHECK(error.find("--batch") != std::string::npos);
  CHECK_FALSE(parse({"--target", "nginx"}, &error));
  CHECK_FALSE(parse({"--target", "nchan", "--sub-url", "http://127.0.0.1:9/s"}, &error));
  CHECK(error.find("--pub-url") != std::string::npos);
  CHECK_FALSE(parse({"--target", "nchan", "--sub-url", "http://127.0.0.1:9/s", "--pub-url",
                     "http://127.0.0.1:9/p", "--path", "messages"},
                    &error));
  CHECK_FALSE(parse({"--sub-url", "http://127.0.0.1:9"}, &error));
  CHECK_FALSE(parse({"--sub-url", "http://127.0.0.1:9/"}, &error));
  CHECK_FALSE(parse({"--sub-url", "http://127.0.0.1:9/a b"}, &error));
  CHECK_FALSE(parse({"--pub-url", "http://localhost:9/p"}, &error));
}

}  // namespace
}  // namespace relay::load
