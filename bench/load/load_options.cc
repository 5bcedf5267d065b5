#include "bench/load/load_options.h"

#include <charconv>
#include <string_view>

namespace relay::load {

namespace {

template <typename T>
bool parse_number(std::string_view text, T min, T max, T* out) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

bool parse_local_url(std::string_view url, int* port) {
  constexpr std::string_view kPrefix = "http://127.0.0.1:";
  if (url.substr(0, kPrefix.size()) != kPrefix) return false;
  url.remove_prefix(kPrefix.size());
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return parse_number<int>(url, 1, 65535, port);
}

}  // namespace

std::string load_usage() {
  return "usage: sse_load [options]\n"
         "  --notify URL         notify-service, http://127.0.0.1:PORT (default :8081)\n"
         "  --message URL        message-service, http://127.0.0.1:PORT (default :8080)\n"
         "  --subscribers N      SSE streams to open (default 100)\n"
         "  --messages M         messages to publish (default 100)\n"
         "  --path notify|messages  POST /notify directly, or POST /messages (default notify)\n"
         "  --batch B            messages per POST /notify (default 1)\n"
         "  --publishers P       publishing threads (default 1)\n"
         "  --rate R             messages/s in total; 0 = as fast as possible (default 0)\n"
         "  --time-limit S       stop after S seconds whatever happens (default 60)\n"
         "  --server-pid PID     sample RSS and CPU of this process (notify-service)\n"
         "  --max-connecting K   streams being opened at once (default 100)\n"
         "  --drain-ms D         after publishing, stop when no event came for D ms (default "
         "2000)\n";
}

std::optional<LoadOptions> parse_load_options(const std::vector<std::string>& args,
                                              std::string* error, bool* help) {
  LoadOptions options;
  *help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      *help = true;
      return options;
    }
    if (i + 1 >= args.size()) {
      *error = flag.rfind("--", 0) == 0 ? flag + " needs a value" : "unknown argument " + flag;
      return std::nullopt;
    }
    std::string_view value = args[++i];
    bool ok = false;
    if (flag == "--notify") {
      ok = parse_local_url(value, &options.notify_port);
    } else if (flag == "--message") {
      ok = parse_local_url(value, &options.message_port);
    } else if (flag == "--subscribers") {
      ok = parse_number<size_t>(value, 1, 1'000'000, &options.subscribers);
    } else if (flag == "--messages") {
      ok = parse_number<uint64_t>(value, 1, 100'000'000, &options.messages);
    } else if (flag == "--path") {
      ok = value == "notify" || value == "messages";
      options.path = value == "messages" ? PublishPath::kMessages : PublishPath::kNotify;
    } else if (flag == "--batch") {
      ok = parse_number<size_t>(value, 1, 100'000, &options.batch);
    } else if (flag == "--publishers") {
      ok = parse_number<size_t>(value, 1, 256, &options.publishers);
    } else if (flag == "--rate") {
      ok = parse_number<double>(value, 0, 1e9, &options.rate);
    } else if (flag == "--time-limit") {
      ok = parse_number<double>(value, 0.1, 86400, &options.time_limit_s);
    } else if (flag == "--server-pid") {
      ok = parse_number<int64_t>(value, 1, INT32_MAX, &options.server_pid);
    } else if (flag == "--max-connecting") {
      ok = parse_number<size_t>(value, 1, 100'000, &options.max_connecting);
    } else if (flag == "--drain-ms") {
      ok = parse_number<int64_t>(value, 0, 3'600'000, &options.drain_ms);
    } else {
      *error = "unknown argument " + flag;
      return std::nullopt;
    }
    if (!ok) {
      *error = "bad value for " + flag + ": " + std::string(value);
      return std::nullopt;
    }
  }
  if (options.path == PublishPath::kMessages && options.batch != 1) {
    *error = "--batch applies to --path notify only";
    return std::nullopt;
  }
  return options;
}

}  // namespace relay::load
