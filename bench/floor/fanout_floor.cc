// fanout_floor: what this machine's kernel charges to fan one small event out to N TCP streams on
// 127.0.0.1, with no server in between: T sender threads write each event to their share of the
// streams (one send per stream, as any SSE server must), one receiver thread reads them all with
// epoll (as sse_load does). Latency is from the event's due time to its arrival on each stream.
// It is the floor under bench/compare's lat-N rows: no HTTP, no SSE, no store, no hub.
// With --sync-file PATH it is the floor of a durable relay: before an event is sent, one thread
// appends a record of it to PATH and waits for fdatasync (as a store must before the event may be
// shown), and the senders start when it is on disk; latency still counts from the due time.
//
//   fanout_floor [--streams N] [--rate R] [--seconds S] [--senders T] [--frame-bytes B]
//                [--sync-file PATH]
//
// Loopback only, bounded by R x S events; prints one line of figures and a JSON line (keys as in
// sse_load's report where they apply). Exits 1 when an event did not reach every stream.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void sleep_until(int64_t due_ns) {
  timespec until{static_cast<time_t>(due_ns / 1'000'000'000),
                 static_cast<long>(due_ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fanout_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

struct Options {
  int streams = 1000;
  int rate = 100;
  int seconds = 10;
  int senders = 2;
  int frame_bytes = 160;  // about one SSE message frame of bench/compare, chunk framing included
  std::string sync_file;  // empty: no durability step
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::puts(
          "fanout_floor [--streams N] [--rate R] [--seconds S] [--senders T] [--frame-bytes B]\n"
          "             [--sync-file PATH]");
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "fanout_floor: %s needs a value\n", flag.c_str());
      std::exit(2);
    }
    if (flag == "--sync-file") {
      options.sync_file = argv[++i];
      continue;
    }
    int value = std::atoi(argv[++i]);
    if (flag == "--streams" && value >= 1 && value <= 19000) {
      options.streams = value;
    } else if (flag == "--rate" && value >= 1 && value <= 10000) {
      options.rate = value;
    } else if (flag == "--seconds" && value >= 1 && value <= 120) {
      options.seconds = value;
    } else if (flag == "--senders" && value >= 1 && value <= 16) {
      options.senders = value;
    } else if (flag == "--frame-bytes" && value >= 8 && value <= 65536) {
      options.frame_bytes = value;
    } else {
      std::fprintf(stderr, "fanout_floor: bad %s %s\n", flag.c_str(), argv[i]);
      std::exit(2);
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) fail("bind");
  if (listen(listener, 4096) != 0) fail("listen");
  socklen_t length = sizeof(address);
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);

  // Each stream: the receiver's end (connected, read with epoll) and the sender's (accepted).
  std::vector<int> readers;
  std::vector<std::vector<int>> writers(static_cast<size_t>(options.senders));
  int one = 1;
  for (int i = 0; i < options.streams; ++i) {
    int reader = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (reader < 0) fail("socket");
    if (connect(reader, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      fail("connect");
    }
    int writer = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (writer < 0) fail("accept");
    setsockopt(writer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    readers.push_back(reader);
    writers[static_cast<size_t>(i % options.senders)].push_back(writer);
  }

  const int64_t events = static_cast<int64_t>(options.rate) * options.seconds;
  const int64_t start = now_ns() + 100'000'000;
  auto due = [&](int64_t k) { return start + k * 1'000'000'000 / options.rate; };

  // The receiver: every stream, frames of frame_bytes whose first 8 bytes are the event number.
  std::vector<int64_t> latencies;
  latencies.reserve(static_cast<size_t>(events * options.streams));
  std::atomic<bool> receiving{true};
  std::thread receiver([&] {
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    std::vector<std::string> partial(readers.size());
    for (size_t i = 0; i < readers.size(); ++i) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i;
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, readers[i], &event);
    }
    std::vector<epoll_event> ready(1024);
    std::vector<char> buffer(64 * 1024);
    int64_t expected = events * options.streams;
    while (receiving && static_cast<int64_t>(latencies.size()) < expected) {
      int count = epoll_wait(epoll_fd, ready.data(), static_cast<int>(ready.size()), 100);
      for (int e = 0; e < count; ++e) {
        size_t index = ready[e].data.u64;
        ssize_t got = recv(readers[index], buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (got <= 0) continue;
        int64_t arrived = now_ns();
        std::string& bytes = partial[index];
        bytes.append(buffer.data(), static_cast<size_t>(got));
        size_t frame = static_cast<size_t>(options.frame_bytes);
        size_t used = 0;
        for (; bytes.size() - used >= frame; used += frame) {
          int64_t k = 0;
          std::memcpy(&k, bytes.data() + used, sizeof(k));
          latencies.push_back(arrived - due(k));
        }
        bytes.erase(0, used);
      }
    }
    close(epoll_fd);
  });

  // --sync-file: events become sendable only once on disk; `durable` counts those.
  std::atomic<int64_t> durable{0};
  std::thread committer;
  if (!options.sync_file.empty()) {
    int fd = open(options.sync_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("open --sync-file");
    committer = std::thread([&, fd] {
      std::string record(200, 'r');  // about one stored message with its index entries
      for (int64_t k = 0; k < events; ++k) {
        sleep_until(due(k));
        std::memcpy(record.data(), &k, sizeof(k));
        if (write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
            fdatasync(fd) != 0) {
          fail("write --sync-file");
        }
        durable.store(k + 1);
        durable.notify_all();
      }
      close(fd);
    });
  }
  auto wait_sendable = [&](int64_t k) {
    if (options.sync_file.empty()) return sleep_until(due(k));
    for (int64_t seen = durable.load(); seen <= k; seen = durable.load()) durable.wait(seen);
  };

  double cpu_before = cpu_seconds();
  std::vector<std::thread> senders;
  for (auto& mine : writers) {
    senders.emplace_back([&, &mine = mine] {
      std::vector<char> frame(static_cast<size_t>(options.frame_bytes), 'x');
      for (int64_t k = 0; k < events; ++k) {
        wait_sendable(k);
        std::memcpy(frame.data(), &k, sizeof(k));
        for (int fd : mine) {
          if (send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) !=
              static_cast<ssize_t>(frame.size())) {
            fail("send");
          }
        }
      }
    });
  }
  for (auto& sender : senders) sender.join();
  if (committer.joinable()) committer.join();
  if (!options.sync_file.empty()) unlink(options.sync_file.c_str());
  // Everything sent; the last event has at most a few seconds to arrive everywhere.
  int64_t give_up = now_ns() + 5'000'000'000;
  while (now_ns() < give_up) {
    usleep(10'000);
    if (static_cast<int64_t>(latencies.size()) >= events * options.streams) break;
  }
  receiving = false;
  receiver.join();
  double cpu = cpu_seconds() - cpu_before;
  double elapsed = static_cast<double>(now_ns() - start) / 1e9;

  std::vector<int64_t> sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  auto at = [&](double q) {
    if (sorted.empty()) return 0.0;
    size_t index =
        std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())));
    return static_cast<double>(sorted[index]) / 1e6;
  };
  int64_t expected = events * options.streams;
  int64_t missing = expected - static_cast<int64_t>(latencies.size());
  std::printf(
      "fanout_floor: %d streams x %d events/s for %d s, %d senders, %d-byte frames%s: p50 %.2f "
      "ms p99 %.2f ms max %.2f ms, %lld deliveries (%lld missing), CPU %.2f us per delivery\n",
      options.streams, options.rate, options.seconds, options.senders, options.frame_bytes,
      options.sync_file.empty() ? "" : ", each fdatasync'd first", at(0.5), at(0.99),
      sorted.empty() ? 0.0 : static_cast<double>(sorted.back()) / 1e6,
      static_cast<long long>(latencies.size()), static_cast<long long>(missing),
      latencies.empty() ? 0.0 : cpu * 1e6 / static_cast<double>(latencies.size()));
  std::printf(
      "{\"streams\":%d,\"rate\":%d,\"seconds\":%d,\"senders\":%d,\"frame_bytes\":%d,"
      "\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,\"latency_max_ms\":%.3f,\"deliveries\":%lld,"
      "\"missing\":%lld,\"deliveries_per_s\":%.1f,\"cpu_us_per_delivery\":%.3f,"
      "\"publish_errors\":0,\"time_limit_hit\":false}\n",
      options.streams, options.rate, options.seconds, options.senders, options.frame_bytes, at(0.5),
      at(0.99), sorted.empty() ? 0.0 : static_cast<double>(sorted.back()) / 1e6,
      static_cast<long long>(latencies.size()), static_cast<long long>(missing),
      static_cast<double>(latencies.size()) / elapsed,
      latencies.empty() ? 0.0 : cpu * 1e6 / static_cast<double>(latencies.size()));
  for (int fd : readers) close(fd);
  for (auto& mine : writers) {
    for (int fd : mine) close(fd);
  }
  close(listener);
  return missing == 0 ? 0 : 1;
}
