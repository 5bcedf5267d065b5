// Unit tests for shared/http's bounded worker pool.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "shared/http/worker_pool.h"

namespace relay {
namespace {

using namespace std::chrono_literals;

TEST_CASE("worker pool: tasks run on N threads at once") {
  constexpr size_t kThreads = 4;
  WorkerPool pool(kThreads, 100);
  CHECK(pool.threads() == kThreads);
  // Every task waits until all N are running: this only finishes if they run concurrently. The
  // bounded wait turns a pool that runs them one by one into a failure, not a hang.
  std::latch all_running(kThreads);
  std::atomic<int> met{0};
  for (size_t i = 0; i < kThreads; ++i) {
    REQUIRE(pool.submit([&] {
      all_running.count_down();
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!all_running.try_wait() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      if (all_running.try_wait()) met.fetch_add(1);
    }));
  }
  pool.stop();
  CHECK(met.load() == static_cast<int>(kThreads));
}

TEST_CASE("worker pool: a full queue refuses, and room frees as tasks are taken") {
  WorkerPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::latch started(1);
  REQUIRE(pool.submit([&] {
    started.count_down();
    released.wait();
  }));
  started.wait();  // the worker holds the first task: the queue is empty again
  std::atomic<int> ran{0};
  CHECK(pool.submit([&] { ran.fetch_add(1); }));
  CHECK(pool.submit([&] { ran.fetch_add(1); }));
  CHECK(pool.queued() == 2);
  bool refused_ran = false;
  CHECK_FALSE(pool.submit([&] { refused_ran = true; }));
  release.set_value();
  pool.stop();
  CHECK(ran.load() == 2);
  CHECK_FALSE(refused_ran);
}

TEST_CASE("worker pool: stop runs every queued task first, then submit fails") {
  WorkerPool pool(2, 1000);
  std::atomic<int> ran{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // Two blockers hold both workers so the rest is still queued when stop() begins.
  std::latch started(2);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(pool.submit([&] {
      started.count_down();
      released.wait();
      ran.fetch_add(1);
    }));
  }
  started.wait();
  for (int i = 0; i < 500; ++i) REQUIRE(pool.submit([&] { ran.fetch_add(1); }));
  CHECK(pool.queued() == 500);
  std::thread stopper([&] { pool.stop(); });
  release.set_value();
  stopper.join();
  CHECK(ran.load() == 502);
  CHECK(pool.queued() == 0);
  bool late_ran = false;
  CHECK_FALSE(pool.submit([&] { late_ran = true; }));
  pool.stop();  // idempotent
  CHECK_FALSE(late_ran);
}

TEST_CASE("worker pool: tasks may submit tasks, and a throwing task does not end its worker") {
  WorkerPool pool(1, 10);
  std::latch done(1);
  std::atomic<bool> inner_ran{false};
  REQUIRE(pool.submit([] { throw 1; }));
  REQUIRE(pool.submit([&] {
    bool queued = pool.submit([&] {
      inner_ran = true;
      done.count_down();
    });
    if (!queued) done.count_down();
  }));
  done.wait();
  CHECK(inner_ran.load());
  pool.stop();
}

TEST_CASE("worker pool: at least one thread, and destruction stops and runs what is queued") {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(0, 10);
    CHECK(pool.threads() == 1);
    for (int i = 0; i < 10; ++i) REQUIRE(pool.submit([&] { ran.fetch_add(1); }));
  }
  CHECK(ran.load() == 10);
}

}  // namespace
}  // namespace relay

TEST_CASE("worker pool: urgent tasks run before background ones queued earlier") {
  relay::WorkerPool pool(1, 100);
  std::mutex mutex;
  std::condition_variable changed;
  bool release = false;
  bool holding = false;
  std::vector<std::string> order;
  // The one worker is held by the first task while the rest queue up.
  REQUIRE(pool.submit([&] {
    std::unique_lock lock(mutex);
    holding = true;
    changed.notify_all();
    changed.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
  }));
  {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return holding; }));
  }
  auto record = [&](std::string name) {
    return [&, name] {
      std::lock_guard lock(mutex);
      order.push_back(name);
    };
  };
  REQUIRE(pool.submit(record("page 1"), relay::WorkerPool::Priority::kBackground));
  REQUIRE(pool.submit(record("page 2"), relay::WorkerPool::Priority::kBackground));
  REQUIRE(pool.submit(record("notify")));
  CHECK(pool.queued() == 3);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  pool.stop();
  CHECK(order == std::vector<std::string>{"notify", "page 1", "page 2"});
}
