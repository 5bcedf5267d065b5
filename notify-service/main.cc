// notify-service: holds Server-Sent Events streams open on GET /events and broadcasts every
// message it receives on POST /notify. Configuration comes from the environment (see README.md).
#include <sys/resource.h>

#include "notify-service/notify_service.h"
#include "shared/shutdown_signal.h"

int main() {
  // Every stream is an open socket: use all the descriptors the hard limit allows.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  relay::block_termination_signals();
  relay::NotifyService service(relay::load_notify_service_config());
  if (!service.start()) return 1;
  relay::wait_for_termination_signal();
  service.stop();
  return 0;
}
