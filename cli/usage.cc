#include "cli/usage.h"

namespace relay::cli {

namespace {

constexpr const char* kOverview =
    R"(relay: the command-line client of message-service and notify-service

usage: relay [--message-url URL] [--notify-url URL] [--user U] COMMAND [options] [args]

commands:
  send [--channel C | --to U] TEXT...  post a message (TEXT '-' or none: read it from stdin)
  listen [--channel C[,D]]             print messages and events as they arrive
  history [--channel C] [--with U]     print stored messages
  typing [--channel C | --to U]        say that you are typing
  read ID, delivered ID                acknowledge a message
  channels                             list the channels you may see
  channel create [--private] NAME      create a channel (private: members only)
  channel add|remove NAME USER         add or remove a member of a private channel
  login, logout                        sign in (AUTH_MODE=accounts) as --user, or sign out

Run 'relay COMMAND --help' for a command's options.
)";

constexpr const char* kCommon = R"(
common options:
  --message-url URL  message-service (env RELAY_MESSAGE_URL, default http://127.0.0.1:8080)
  --notify-url URL   notify-service (env RELAY_NOTIFY_URL, default http://127.0.0.1:8081)
  --user U           who you are (env RELAY_USER, else $USER, else anonymous)
  -h, --help         this help; --version prints the version

exit codes:
  0  done
  1  a service refused the input (its error code and detail are printed)
  2  usage error (the command line is wrong)
  3  a service is unreachable or failed (5xx); the URL is printed
)";

const char* command_help(Command command) {
  switch (command) {
    case Command::kSend:
      return R"(usage: relay send [--channel C | --to U] [--json] [TEXT...]

Posts TEXT (the words joined by spaces) to channel C (default: general) or as a direct message to
user U, and prints the stored message's id (--json: the whole stored message). With TEXT '-' or no
TEXT the text is read from stdin (one trailing newline dropped). A network error is retried with the
same Idempotency-Key, so a message is never stored twice.
)";
    case Command::kListen:
      return R"(usage: relay listen [--channel C[,D...]] [--json] [--quiet-events]

Prints each message as it arrives, one line each (time, #channel or 'alice → bob', user, text;
further lines of a message are indented), and typing, receipt and presence events in a compact
form (--quiet-events hides them). Without --channel it follows every channel; direct messages to
or from --user are always shown. --json prints each event's data as one JSON object per line.

When the stream drops or notify-service restarts, it reconnects with backoff and resumes after the
last event it printed, so nothing is lost or printed twice; if notify-service cannot replay the
gap, the missed messages and receipts are fetched from message-service (it says so on stderr).
Ctrl-C or SIGTERM ends it with exit code 0. Exit code 3 only when the first connection fails.
)";
    case Command::kHistory:
      return R"(usage: relay history [--channel C[,D...]] [--with U] [--limit N] [--json]

Prints stored messages, oldest first: the newest N (default 50, at most 1000) of channel C, or of
every channel plus the direct messages to or from --user when no --channel is given; with --with U
only the direct messages between --user and U. --json prints one JSON object per line.
)";
    case Command::kTyping:
      return R"(usage: relay typing [--channel C | --to U]

Tells the listeners of channel C (default: general), or user U, that --user is typing.
)";
    case Command::kRead:
      return R"(usage: relay read ID

Marks message ID as read by --user and prints the receipt's status.
)";
    case Command::kDelivered:
      return R"(usage: relay delivered ID

Marks message ID as delivered to --user and prints the receipt's status.
)";
    case Command::kChannels:
      return R"(usage: relay channels [--json]

Lists the channels that have messages, most recently active first.
)";
    case Command::kChannel:
      return R"(usage: relay channel create [--private] NAME
       relay channel members NAME
       relay channel add NAME USER
       relay channel remove NAME USER

create: makes channel NAME with you as its owner; --private (AUTH_MODE=accounts) makes it
visible to its members only. members: lists a private channel's members. add: any member adds
USER (who must have an account). remove: the owner removes USER; name yourself to leave. To
anyone who is not a member a private channel does not exist (the services answer 404).
--json prints the service's answer as one JSON object.
)";
    case Command::kLogin:
      return R"(usage: relay login [--user U]

Signs in to message-service (AUTH_MODE=accounts) as --user. The password is asked for without
echo on a terminal, else read as the first line of stdin. The access token and the session that
renews it are kept in $XDG_CONFIG_HOME/relay/credentials.json (else ~/.config/relay/), mode 0600;
every later command against the same message-service uses them, as that user.
)";
    case Command::kLogout:
      return R"(usage: relay logout

Ends the session on message-service and removes the kept credentials.
)";
  }
  return "";
}

}  // namespace

std::string help_text(std::optional<Command> command) {
  std::string text = command ? command_help(*command) : kOverview;
  return text + kCommon;
}

std::string version_text() {
  return std::string("relay ") + RELAY_VERSION + "\n";
}

}  // namespace relay::cli
