// message-service: accepts POST /messages, stores each message durably and forwards it to
// notify-service. Configuration comes from the environment (see README.md).
#include <sys/resource.h>

#include "message-service/auth_routes.h"
#include "message-service/message_service.h"
#include "shared/shutdown_signal.h"

int main(int argc, char** argv) {
  // `message-service user add|remove NAME`: the operator's account commands (REGISTRATION=closed).
  if (argc > 1) return relay::run_user_command(relay::load_message_service_config(), argc, argv);
  // Every connection is a descriptor: use all the hard limit allows (MAX_CONNECTIONS defaults to
  // it, less a margin).
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  relay::block_termination_signals();
  relay::MessageService service(relay::load_message_service_config());
  if (!service.start()) return 1;
  relay::wait_for_termination_signal();
  service.stop();
  return 0;
}
