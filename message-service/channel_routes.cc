#include "message-service/channel_routes.h"

#include <map>

#include "message-service/message_routes.h"
#include "shared/http/head_checks.h"
#include "shared/time_format.h"

namespace relay {

namespace {

HttpReply directory_failed(const Logger& logger, const std::string& error) {
  logger.error("channel directory write failed", {{"error", error}});
  HttpReply reply = HttpReply::error(
      {503, "store_unavailable", "the channel directory could not be written; retry later"});
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

}  // namespace

ChannelRoutes::ChannelRoutes(const MessageServiceConfig& config, MessageStore& store,
                             ChannelDirectory& directory, EventBus& bus, AccountStore* accounts,
                             const Logger& logger, const RequestAuthenticator* authenticator)
    : config_(config),
      store_(store),
      directory_(directory),
      bus_(bus),
      accounts_(accounts),
      logger_(logger),
      authenticator_(authenticator) {}

void ChannelRoutes::add_routes(Router& router) {
  auto signed_in = [this](HeadCheck next = {}) {
    return signed_in_check(authenticator_, std::move(next));
  };
  auto sync = [this](HttpReply (ChannelRoutes::*handler)(HttpRequest&)) {
    return [this, handler](HttpRequest& req) { return (this->*handler)(req); };
  };
  const size_t small_body = 4 * 1024;
  router.add({.method = "GET",
              .pattern = "/channels",
              .blocking = true,
              .check_head = signed_in(),
              .handler = sync(&ChannelRoutes::list_channels)});
  router.add({.method = "POST",
              .pattern = "/channels",
              .max_body_bytes = small_body,
              .blocking = true,
              .check_head = signed_in(require_json("the channel")),
              .handler = sync(&ChannelRoutes::create_channel)});
  router.add({.method = "GET",
              .pattern = "/channels/{name}/members",
              .blocking = true,
              .check_head = signed_in(),
              .handler = sync(&ChannelRoutes::list_members)});
  router.add({.method = "POST",
              .pattern = "/channels/{name}/members",
              .max_body_bytes = small_body,
              .blocking = true,
              .check_head = signed_in(require_json("the member")),
              .handler = sync(&ChannelRoutes::add_member)});
  // notify-service's copy of the private channels, when it starts: its service token only.
  router.add({.method = "GET",
              .pattern = "/memberships",
              .check_head = signed_in_check(authenticator_, {}, /*allow_service=*/true),
              .handler = [this](HttpRequest& req) {
                if (authenticator_ != nullptr && req.caller_service.empty()) {
                  return HttpReply::error(
                      {403, "forbidden", "GET /memberships is for notify-service only"});
                }
                return HttpReply::json(200, directory_.private_channels()->to_json());
              }});
  router.add({.method = "DELETE",
              .pattern = "/channels/{name}/members/{user}",
              .blocking = true,
              .check_head = signed_in(),
              .handler = sync(&ChannelRoutes::remove_member)});
}

nlohmann::json ChannelRoutes::channel_json(const ChannelDirectory::Channel& channel) {
  nlohmann::json body = {{"name", channel.name},
                         {"private", channel.is_private},
                         {"created_at", format_rfc3339_ms(channel.created_ms)}};
  if (!channel.owner.empty()) body["owner"] = channel.owner;
  if (channel.is_private) body["members"] = channel.members;
  return body;
}

void ChannelRoutes::tell_notify_service() {
  std::string error;
  if (!bus_.send_memberships(&error)) {
    logger_.warn("cannot send channel memberships to notify-service; the forwarder will",
                 {{"error", error}, {"broker", bus_.name()}});
  }
}

HttpReply ChannelRoutes::list_channels(HttpRequest& req) {
  if (auto failed = sync_directory()) return std::move(*failed);
  auto listed = store_.channels();
  if (!listed.ok()) return store_unavailable(logger_, "channels", listed.error);
  PrivateChannelsPtr hidden = directory_.private_channels();
  struct Row {
    nlohmann::json body;
    int64_t last_activity_ms = 0;
  };
  std::map<std::string, Row> rows;
  for (const auto& channel : *listed) {
    if (!hidden->may_see(channel.name, req.caller)) continue;
    rows[channel.name] = {{{"name", channel.name},
                           {"private", hidden->is_private(channel.name)},
                           {"messages", channel.messages},
                           {"last_message_id", std::to_string(channel.last_message_id)},
                           {"last_activity", format_rfc3339_ms(channel.last_activity_ms)}},
                          channel.last_activity_ms};
  }
  for (const auto& channel : directory_.visible_to(req.caller)) {
    auto& row = rows[channel.name];
    if (row.body.is_null()) {
      row.body = {{"name", channel.name},
                  {"messages", 0},
                  {"last_message_id", "0"},
                  {"last_activity", nullptr}};
    }
    row.body["private"] = channel.is_private;
    if (!channel.owner.empty()) row.body["owner"] = channel.owner;
  }
  // Most recently active first, as before; channels without messages after them, by name.
  std::vector<Row*> ordered;
  for (auto& [name, row] : rows) ordered.push_back(&row);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Row* a, const Row* b) {
    return a->last_activity_ms > b->last_activity_ms;
  });
  nlohmann::json channels = nlohmann::json::array();
  for (Row* row : ordered) channels.push_back(std::move(row->body));
  return HttpReply::json(200, {{"channels", std::move(channels)}});
}

HttpReply ChannelRoutes::create_channel(HttpRequest& req) {
  auto parsed = parse_channel_request(req.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return HttpReply::error(*error);
  const auto& draft = std::get<ChannelDraft>(parsed);
  if (draft.is_private && accounts_ == nullptr) {
    return HttpReply::error({400, "private_needs_accounts",
                             "private channels need AUTH_MODE=accounts: in open mode anyone can "
                             "claim any name, so membership would mean nothing"});
  }
  if (draft.is_private) {
    // A channel that already has messages is public: making it private would hide what its
    // readers were shown.
    auto listed = store_.channels();
    if (!listed.ok()) return store_unavailable(logger_, "channels", listed.error);
    for (const auto& channel : *listed) {
      if (channel.name == draft.name) {
        return HttpReply::error({409, "channel_exists",
                                 "a channel named " + draft.name + " exists; choose another name"});
      }
    }
  }
  std::string error;
  auto outcome = directory_.create(draft.name, req.caller, draft.is_private, now_unix_ms(), &error);
  if (outcome == ChannelDirectory::Outcome::kExists) {
    return HttpReply::error(
        {409, "channel_exists", "a channel named " + draft.name + " exists; choose another name"});
  }
  if (outcome != ChannelDirectory::Outcome::kDone) return directory_failed(logger_, error);
  if (draft.is_private) tell_notify_service();
  logger_.info(
      "channel created",
      {{"channel", draft.name}, {"private", draft.is_private ? 1 : 0}, {"by", req.caller}});
  auto created = directory_.find(draft.name, req.caller);
  HttpReply reply = HttpReply::json(201, channel_json(*created));
  reply.headers.emplace_back("Location", "/channels/" + draft.name + "/members");
  return reply;
}

std::optional<HttpReply> ChannelRoutes::sync_directory() {
  std::string error;
  if (directory_.sync(&error)) return std::nullopt;
  return store_unavailable(logger_, "channels", error);
}

HttpReply ChannelRoutes::list_members(HttpRequest& req) {
  const std::string& name = req.path_params.at(0);
  if (auto failed = sync_directory()) return std::move(*failed);
  auto channel = directory_.find(name, req.caller);
  if (!channel || !channel->is_private) return HttpReply::error(channel_not_found_error(name));
  return HttpReply::json(200, channel_json(*channel));
}

HttpReply ChannelRoutes::add_member(HttpRequest& req) {
  const std::string& name = req.path_params.at(0);
  auto parsed = parse_member_request(req.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return HttpReply::error(*error);
  const auto& user = std::get<std::string>(parsed);
  if (auto failed = sync_directory()) return std::move(*failed);
  auto channel = directory_.find(name, req.caller);
  if (!channel || !channel->is_private) return HttpReply::error(channel_not_found_error(name));
  if (accounts_ != nullptr) {
    auto account = accounts_->password_hash(user);
    if (!account.ok()) return store_unavailable(logger_, "accounts", account.error);
    if (!*account) {
      return HttpReply::error({404, "user_not_found", "there is no account named " + user});
    }
  }
  std::string error;
  switch (directory_.add_member(name, req.caller, user, now_unix_ms(), &error)) {
    case ChannelDirectory::Outcome::kDone:
      tell_notify_service();
      logger_.info("channel member added", {{"channel", name}, {"user", user}, {"by", req.caller}});
      return HttpReply::json(201, channel_json(*directory_.find(name, req.caller)));
    case ChannelDirectory::Outcome::kUnchanged:
      return HttpReply::json(200, channel_json(*directory_.find(name, req.caller)));
    case ChannelDirectory::Outcome::kFailed:
      return directory_failed(logger_, error);
    default:
      return HttpReply::error(channel_not_found_error(name));
  }
}

HttpReply ChannelRoutes::remove_member(HttpRequest& req) {
  const std::string& name = req.path_params.at(0);
  const std::string& user = req.path_params.at(1);
  if (!is_valid_user_name(user)) {
    return HttpReply::error({400, "invalid_user", "the user in the path is not a valid user name"});
  }
  std::string error;
  switch (directory_.remove_member(name, req.caller, user, &error)) {
    case ChannelDirectory::Outcome::kDone: {
      tell_notify_service();
      logger_.info("channel member removed",
                   {{"channel", name}, {"user", user}, {"by", req.caller}});
      auto channel = directory_.find(name, req.caller);
      if (!channel) return HttpReply::json(200, {{"name", name}, {"left", true}});
      return HttpReply::json(200, channel_json(*channel));
    }
    case ChannelDirectory::Outcome::kForbidden:
      return HttpReply::error(
          {403, "forbidden",
           "only the owner of " + name + " removes other members; you may remove yourself"});
    case ChannelDirectory::Outcome::kOwner:
      return HttpReply::error(
          {409, "owner_cannot_leave", "the owner of " + name + " cannot leave it"});
    case ChannelDirectory::Outcome::kFailed:
      return directory_failed(logger_, error);
    case ChannelDirectory::Outcome::kNotFound:
      if (directory_.find(name, req.caller)) {
        return HttpReply::error({404, "member_not_found", user + " is not a member of " + name});
      }
      return HttpReply::error(channel_not_found_error(name));
    default:
      return HttpReply::error(channel_not_found_error(name));
  }
}

}  // namespace relay
