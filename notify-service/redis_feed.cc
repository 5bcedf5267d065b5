#include "notify-service/redis_feed.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "notify-service/notify_batch.h"

namespace relay {
namespace {

constexpr int kTimeoutMs = 2000;
constexpr int kBlockMs = 1000;
constexpr int kReadCount = 1000;
constexpr int kRetryInitialMs = 50;
constexpr int kRetryMaxMs = 2000;

/// One stream entry: its id and the fields RedisBus writes.
struct BusEntry {
  std::string id;
  std::string event;     // the wire form of one event, or empty
  std::string table;     // a table cue's version, or empty
  std::string presence;  // a presence change (ClusterPresence's JSON), or empty
  int64_t version = 0;
};

int64_t to_int(const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value >= 0 ? value : -1;
}

/// An entry as XRANGE / XREAD give it: [id, [field, value, ...]]; nullopt when malformed.
std::optional<BusEntry> read_entry(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2 ||
      reply.elements[0].type != RedisReply::Type::kString ||
      reply.elements[1].type != RedisReply::Type::kArray) {
    return std::nullopt;
  }
  BusEntry entry;
  entry.id = reply.elements[0].text;
  const auto& fields = reply.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& name = fields[i].text;
    const std::string& value = fields[i + 1].text;
    if (name == "event") entry.event = value;
    if (name == "table") entry.table = value;
    if (name == "presence") entry.presence = value;
    if (name == "v") entry.version = to_int(value);
  }
  return entry;
}

/// The one event an entry carries, validated as POST /notify validates its items.
std::optional<Message> entry_event(const BusEntry& entry) {
  if (entry.event.empty()) return std::nullopt;
  auto parsed = parse_notify_batch(entry.event);
  auto* messages = std::get_if<std::vector<Message>>(&parsed);
  if (messages == nullptr || messages->size() != 1) return std::nullopt;
  return std::move(messages->front());
}

}  // namespace

RedisFeed::RedisFeed(const BrokerSettings& settings, Hub& hub, size_t ring_size,
                     const Logger& logger, MetricsRegistry& metrics)
    : hub_(hub),
      ring_size_(ring_size),
      logger_(logger),
      events_(metrics.counter("relay_bus_events_total",
                              "Stored events read from the Redis bus (duplicates included).")),
      transient_(metrics.counter("relay_bus_transient_total",
                                 "Typing notices and table cues read from the Redis bus.")),
      errors_(metrics.counter("relay_bus_errors_total",
                              "Failed calls to Redis (each is retried with backoff).")),
      connection_(settings.redis_url, kTimeoutMs) {
  metrics.gauge("relay_bus_connected", "1 while the last call to Redis succeeded, else 0.",
                [this] { return connected_.load() ? 1.0 : 0.0; });
}

RedisFeed::~RedisFeed() {
  stop();
}

void RedisFeed::start() {
  thread_ = std::thread([this] { run(); });
}

void RedisFeed::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RedisFeed::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void RedisFeed::pause(int ms) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

bool RedisFeed::ensure_table(int64_t version, std::string* error) {
  // Most entries carry the version already confirmed: no look at the hub per event.
  if (version <= confirmed_version_) return true;
  if (hub_.knows_private_channels() && hub_.private_channels()->version >= version) {
    confirmed_version_ = version;
    return true;
  }
  auto reply = connection_.command({"HGET", kMembershipsKey, "table"}, error);
  if (!reply) return false;
  if (reply->type != RedisReply::Type::kString) {
    *error = "Redis holds no private channel table yet";
    return false;
  }
  auto parsed = nlohmann::json::parse(reply->text, nullptr, false);
  std::string why;
  PrivateChannelsPtr table =
      parsed.is_discarded() ? nullptr : PrivateChannels::from_json(parsed, &why);
  if (!table) {
    *error = "the private channel table in Redis is invalid: " + why;
    return false;
  }
  int64_t read = table->version;
  if (!hub_.knows_private_channels() || read > hub_.private_channels()->version) {
    hub_.set_private_channels(std::move(table));
    logger_.info("private channels updated from Redis", {{"version", read}});
  }
  if (read < version) {
    *error = "Redis holds private channel table " + std::to_string(read) + ", not yet " +
             std::to_string(version);
    return false;
  }
  confirmed_version_ = version;
  return true;
}

bool RedisFeed::prime(std::string* error) {
  auto newest = connection_.command({"XREVRANGE", kEventsStream, "+", "-", "COUNT",
                                     std::to_string(std::max<size_t>(ring_size_, 1))},
                                    error);
  if (!newest) return false;
  auto transient =
      connection_.command({"XREVRANGE", kTransientStream, "+", "-", "COUNT", "1"}, error);
  if (!transient) return false;
  std::vector<Message> events;
  int64_t version = 0;
  std::string cursor = "0-0";
  for (auto it = newest->elements.rbegin(); it != newest->elements.rend(); ++it) {
    auto entry = read_entry(*it);
    if (!entry) continue;
    cursor = entry->id;
    version = std::max(version, entry->version);
    if (auto event = entry_event(*entry)) events.push_back(std::move(*event));
  }
  if (version > 0 && !ensure_table(version, error)) return false;
  size_t published = hub_.publish(events);
  events_cursor_ = cursor;
  transient_cursor_ = "0-0";
  if (!transient->elements.empty()) {
    if (auto entry = read_entry(transient->elements.front())) transient_cursor_ = entry->id;
  }
  logger_.info("resume ring filled from Redis",
               {{"events", published}, {"last_event_id", hub_.last_id()}, {"cursor", cursor}});
  return true;
}

bool RedisFeed::read_once(std::string* error) {
  auto reply = connection_.command(
      {"XREAD", "COUNT", std::to_string(kReadCount), "BLOCK", std::to_string(kBlockMs), "STREAMS",
       kEventsStream, kTransientStream, events_cursor_, transient_cursor_},
      error, kBlockMs + kTimeoutMs);
  if (!reply) return false;
  if (reply->is_error()) {
    *error = "Redis refused XREAD: " + reply->text;
    connection_.disconnect();
    return false;
  }
  if (reply->type != RedisReply::Type::kArray) return true;  // the block timed out
  for (const auto& stream : reply->elements) {
    if (stream.elements.size() != 2) continue;
    bool is_events = stream.elements[0].text == kEventsStream;
    std::vector<Message> batch;
    auto publish_batch = [&] {
      if (batch.empty()) return;
      events_.add(batch.size());
      hub_.publish(batch);
    };
    for (const auto& raw : stream.elements[1].elements) {
      auto entry = read_entry(raw);
      if (!entry) continue;
      if (entry->version > 0 && !ensure_table(entry->version, error)) {
        if (!connection_.connected()) return false;
        if (!is_events) {  // transient: drop it rather than show it under an older table
          transient_cursor_ = entry->id;
          continue;
        }
        // Publish what came before it; read this entry again after a pause.
        publish_batch();
        logger_.warn("waiting for the private channel table", {{"error", *error}});
        pause(100);
        return true;
      }
      if (is_events) {
        events_cursor_ = entry->id;
        if (auto event = entry_event(*entry)) batch.push_back(std::move(*event));
        continue;
      }
      transient_cursor_ = entry->id;
      transient_.add();
      if (!entry->presence.empty()) {
        if (presence_sink_) presence_sink_(entry->presence);
      } else if (auto event = entry_event(*entry)) {
        if (event->kind == EventKind::kTyping) hub_.publish_transient(*event);
      } else if (!entry->table.empty() && !ensure_table(to_int(entry->table), error) &&
                 !connection_.connected()) {
        return false;
      }
    }
    publish_batch();
  }
  return true;
}

void RedisFeed::run() {
  int retry_ms = kRetryInitialMs;
  bool failing = false;
  while (!stopping()) {
    std::string error;
    bool ok = primed_ ? read_once(&error) : (primed_ = prime(&error));
    connected_ = ok;
    if (ok) {
      if (failing) {
        logger_.info("Redis reachable again", {{"cursor", events_cursor_}});
        failing = false;
      }
      retry_ms = kRetryInitialMs;
      continue;
    }
    errors_.add();
    if (!failing) {
      logger_.error("cannot read the Redis bus; retrying", {{"error", error}});
      failing = true;
    }
    pause(retry_ms);
    retry_ms = std::min(retry_ms * 2, kRetryMaxMs);
  }
}

}  // namespace relay
