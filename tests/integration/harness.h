#pragma once

// The integration-test harness, in one include: the test-support library (tests/support/) and our
// pair's fixture. Each part has its own header with its contract:
//   tests/support/eventually.h       Clock, Millis, kPatience, eventually()
//   tests/support/child_process.h    ServiceProcess, TempDir, reserve_free_port, ExitStatus
//   tests/support/http_client.h      HttpClient, HttpResponse (well-formed requests)
//   tests/support/raw_socket.h       RawSocket, RawResponse (exact bytes, one response at a time)
//   tests/support/chunked_decoder.h  ChunkedDecoder
//   tests/support/sse_stream.h       SseStream, StreamMessage (one GET /events on its own thread)
//   tests/integration/relay_fixture.h  Relay, RelayOptions, post_message, post_marker, compare_ids
//   tests/integration/auth_modes.h     ModeRelay, OpenMode, AccountsMode (a case in both modes;
//                                      include it where used)
// All of it is usable unqualified inside namespace relay::itest.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "shared/sse.h"
#include "tests/integration/relay_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/chunked_decoder.h"
#include "tests/support/eventually.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_socket.h"
#include "tests/support/sse_stream.h"
