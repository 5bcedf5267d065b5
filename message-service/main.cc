// message-service: accepts POST /messages, stores each message durably and forwards it to
// notify-service. Configuration comes from the environment (see README.md).
#include "message-service/message_service.h"
#include "shared/shutdown_signal.h"

int main() {
  relay::block_termination_signals();
  relay::MessageService service(relay::load_message_service_config());
  if (!service.start()) return 1;
  relay::wait_for_termination_signal();
  service.stop();
  return 0;
}
