// store_bench: how many durable inserts per second MessageStore sustains through insert_async.
//
//   store_bench [--messages N] [--submitters K] [--in-flight F] [--bytes B] [--keyed] [--dir D]
//               [--database-url URL]
//
// K submitters each keep F inserts in flight (as K HTTP connections would, one request each when
// F = 1): a submitter's next insert is queued from the `done` callback of its previous one, on the
// store's commit thread, as an event loop would be handed the answer. Every insert is committed
// with fsync (the store's WAL, synchronous=FULL) before it is counted. Prints one line of figures:
// inserts/s, groups (transactions, one WAL fsync each), the mean wall time of a group, and the
// disk's floor (median write + fdatasync of 32 KiB, probed in the same directory just before and
// just after the run), so a slow run can be told from a slow (or busy) disk. With --database-url the
// store is PostgresMessageStore on that database (bench/store/postgres.sh starts one) instead of
// SQLite in D; the disk probe then runs in D (give the server's data folder's disk).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "message-service/postgres_store.h"
#include "message-service/sqlite_store.h"

namespace {

struct Options {
  int64_t messages = 100000;
  int submitters = 64;
  int in_flight = 1;
  size_t bytes = 100;
  bool keyed = false;  // an Idempotency-Key on every insert (one more index lookup and entry)
  std::string dir;     // empty: a fresh temp dir, removed at the end
  std::string database_url;  // set: the PostgreSQL store there
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "store_bench: %s\nusage: store_bench [--messages N] [--submitters K] "
               "[--in-flight F] [--bytes B] [--keyed] [--dir D] [--database-url URL]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto number = [&]() -> int64_t {
      if (i + 1 >= argc) usage("missing value");
      char* end = nullptr;
      long long value = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || value < 1) usage("values are whole numbers from 1");
      return value;
    };
    if (arg == "--messages") {
      options.messages = number();
    } else if (arg == "--submitters") {
      options.submitters = static_cast<int>(number());
    } else if (arg == "--in-flight") {
      options.in_flight = static_cast<int>(number());
    } else if (arg == "--bytes") {
      options.bytes = static_cast<size_t>(number());
    } else if (arg == "--keyed") {
      options.keyed = true;
    } else if (arg == "--database-url") {
      if (i + 1 >= argc) usage("missing value");
      options.database_url = argv[++i];
    } else if (arg == "--dir") {
      if (i + 1 >= argc) usage("missing value");
      options.dir = argv[++i];
    } else {
      usage("unknown option");
    }
  }
  return options;
}

// The run's shared counters; the callbacks all run on the commit thread, the main thread waits.
class Run {
 public:
  Run(relay::MessageStore& store, const Options& options)
      : store_(store), options_(options), content_(options.bytes, 'x') {}

  // Queues the next insert of `submitter`, unless all were queued.
  void submit(int submitter) {
    int64_t n = queued_.fetch_add(1);
    if (n >= options_.messages) return;
    std::string key = options_.keyed ? "bench-" + std::to_string(n) : std::string();
    store_.insert_async(relay::MessageDraft{content_, "bench", "load", ""}, std::move(key),
                        [this, submitter](relay::MessageStore::InsertResult result) {
                          answered(submitter, result);
                        });
  }

  void wait() {
    std::unique_lock lock(mutex_);
    all_answered_.wait(lock, [&] { return answered_ == options_.messages; });
  }
  int64_t failed() const { return failed_.load(); }

 private:
  void answered(int submitter, const relay::MessageStore::InsertResult& result) {
    if (result.outcome != relay::MessageStore::InsertOutcome::kCreated) {
      if (failed_.fetch_add(1) == 0)
        std::fprintf(stderr, "insert failed: %s\n", result.error.c_str());
    }
    submit(submitter);
    std::lock_guard lock(mutex_);
    if (++answered_ == options_.messages) all_answered_.notify_one();
  }

  relay::MessageStore& store_;
  const Options& options_;
  const std::string content_;
  std::atomic<int64_t> queued_{0};
  std::atomic<int64_t> failed_{0};
  std::mutex mutex_;
  std::condition_variable all_answered_;
  int64_t answered_ = 0;  // guarded by mutex_
};

// The cost of one durable write on this disk, as a floor for a group's commit: the median of
// `rounds` overwrites of 32 KiB (about one group's WAL frames) at the start of a preallocated file
// in `dir`, each followed by fdatasync. -1 when the probe file cannot be used.
double fsync_floor_ms(const std::string& dir, int rounds) {
  std::string path = dir + "/fsync-probe";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  std::string block(32 * 1024, 'p');
  std::vector<double> times;
  bool ok = ::pwrite(fd, block.data(), block.size(), 0) == static_cast<ssize_t>(block.size()) &&
            ::fsync(fd) == 0;
  for (int i = 0; ok && i < rounds; ++i) {
    auto start = std::chrono::steady_clock::now();
    ok = ::pwrite(fd, block.data(), block.size(), 0) == static_cast<ssize_t>(block.size()) &&
         ::fdatasync(fd) == 0;
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok || times.empty()) return -1;
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  bool temp = options.dir.empty();
  if (temp) {
    std::string pattern = (std::filesystem::temp_directory_path() / "store-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) usage("cannot create a temp dir");
    options.dir = pattern;
  }
  std::string error;
  auto store = options.database_url.empty()
                   ? relay::SqliteMessageStore::open(options.dir, &error)
                   : relay::PostgresMessageStore::open(options.database_url, &error);
  if (!store) {
    std::fprintf(stderr, "store_bench: %s\n", error.c_str());
    return 1;
  }
  double floor_before_ms = fsync_floor_ms(options.dir, 100);
  uint64_t groups_before = store->insert_stats().groups;
  Run run(*store, options);
  auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < options.submitters; ++s) {
    for (int f = 0; f < options.in_flight; ++f) run.submit(s);
  }
  run.wait();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t groups = store->insert_stats().groups - groups_before;
  double floor_after_ms = fsync_floor_ms(options.dir, 100);
  store.reset();
  if (temp) std::filesystem::remove_all(options.dir);
  std::printf(
      "store=%s messages=%lld submitters=%d in_flight=%d bytes=%zu keyed=%s seconds=%.3f "
      "inserts_per_s=%.0f groups=%llu (fsyncs) per_group=%.1f group_ms=%.3f "
      "fsync_floor_ms=%.3f/%.3f "
      "failed=%lld\n",
      options.database_url.empty() ? "sqlite" : "postgres",
      static_cast<long long>(options.messages), options.submitters, options.in_flight,
      options.bytes, options.keyed ? "yes" : "no", seconds,
      static_cast<double>(options.messages) / seconds, static_cast<unsigned long long>(groups),
      static_cast<double>(options.messages) / static_cast<double>(groups),
      seconds * 1000 / static_cast<double>(groups), floor_before_ms, floor_after_ms,
      static_cast<long long>(run.failed()));
  return run.failed() == 0 ? 0 : 1;
}
