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

// http://127.0.0.1:<port>/<path>: the path (with its leading '/') must be non-empty and printable
// without spaces, as it goes into a request line as it is.
bool parse_local_url_with_path(std::string_view url, int* port, std::string* path) {
  constexpr std::string_view kPrefix = "http://127.0.0.1:";
  if (url.substr(0, kPrefix.size()) != kPrefix) return false;
  url.remove_prefix(kPrefix.size());
  size_t slash = url.find('/');
  if (slash == std::string_view::npos || slash + 1 == url.size()) return false;
  for (char c : url.substr(slash)) {
    if (c <= ' ' || c > '~') return false;
  }
  if (!parse_number<int>(url.substr(0, slash), 1, 65535, port)) return false;
  *path = std::string(url.substr(slash));
  return true;
}

}  // namespace

std::string load_usage() {
  return "usage: sse_load [options]\n"
         "  --target relay|nchan which server the streams go to (default relay)\n"
         "  --sub-url URL        nchan EventSource location, http://127.0.0.1:PORT/PATH\n"
         "  --pub-url URL        nchan publisher location, http://127.0.0.1:PORT/PATH\n"
         "  --notify URL         notify-service, http://127.0.0.1:PORT (default :8081)\n"
         "  --message URL        message-service, http://127.0.0.1:PORT (default :8080)\n"
         "  --subscribers N      SSE streams to open; 0 = publish only (default 100)\n"
         "  --messages M         messages to publish (default 100)\n"
         "  --path notify|messages  POST /notify directly, or POST /messages (default notify)\n"
         "  --batch B            messages per POST /notify (default 1)\n"
         "  --publishers P       publishing connections, one POST in flight each (default 1)\n"
         "  --rate R             messages/s in total; 0 = as fast as possible (default 0)\n"
         "  --time-limit S       stop after S seconds whatever happens (default 60)\n"
         "  --server-pid PID     sample RSS and CPU of this process; repeat to sum several\n"
         "  --max-connecting K   streams being opened at once (default 100)\n"
         "  --drain-ms D         after publishing, stop when no event came for D ms (default "
         "2000)\n"
         "  --listen-only        publish nothing: count the messages another sse_load publishes\n"
         "                       (says 'sse_load: listening' on stderr once its streams are "
         "open)\n";
}

std::optional<LoadOptions> parse_load_options(const std::vector<std::string>& args,
                                              std::string* error, bool* help) {
  LoadOptions options;
  *help = false;
  bool path_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      *help = true;
      return options;
    }
    if (flag == "--listen-only") {
      options.listen_only = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      *error = flag.rfind("--", 0) == 0 ? flag + " needs a value" : "unknown argument " + flag;
      return std::nullopt;
    }
    std::string_view value = args[++i];
    bool ok = false;
    if (flag == "--target") {
      ok = value == "relay" || value == "nchan";
      options.target = value == "nchan" ? Target::kNchan : Target::kRelay;
    } else if (flag == "--sub-url") {
      ok = parse_local_url_with_path(value, &options.nchan_sub_port, &options.nchan_sub_path);
    } else if (flag == "--pub-url") {
      ok = parse_local_url_with_path(value, &options.nchan_pub_port, &options.nchan_pub_path);
    } else if (flag == "--notify") {
      ok = parse_local_url(value, &options.notify_port);
    } else if (flag == "--message") {
      ok = parse_local_url(value, &options.message_port);
    } else if (flag == "--subscribers") {
      ok = parse_number<size_t>(value, 0, 1'000'000, &options.subscribers);
    } else if (flag == "--messages") {
      ok = parse_number<uint64_t>(value, 1, 100'000'000, &options.messages);
    } else if (flag == "--path") {
      ok = value == "notify" || value == "messages";
      path_given = true;
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
      int64_t pid = 0;
      ok = parse_number<int64_t>(value, 1, INT32_MAX, &pid);
      options.server_pids.push_back(pid);
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
  if (options.listen_only && options.subscribers == 0) {
    *error = "--listen-only needs --subscribers above 0";
    return std::nullopt;
  }
  if (options.target == Target::kNchan) {
    if (options.nchan_sub_path.empty() || options.nchan_pub_path.empty()) {
      *error = "--target nchan needs --sub-url and --pub-url";
      return std::nullopt;
    }
    if (path_given || options.batch != 1) {
      *error = "--path and --batch apply to --target relay only";
      return std::nullopt;
    }
    options.path = PublishPath::kNchan;
  }
  if (options.path == PublishPath::kMessages && options.batch != 1) {
    *error = "--batch applies to --path notify only";
    return std::nullopt;
  }
  return options;
}

}  // namespace relay::load
