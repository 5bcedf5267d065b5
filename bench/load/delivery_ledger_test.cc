#include "bench/load/delivery_ledger.h"

#include <doctest/doctest.h>

namespace relay::load {
namespace {

using Outcome = DeliveryLedger::Outcome;

TEST_CASE("DeliveryLedger: a clean run counts nothing wrong") {
  DeliveryLedger ledger(3, 100);
  for (size_t s = 0; s < 3; ++s) {
    for (uint64_t seq = 0; seq < 100; ++seq) CHECK(ledger.record(s, seq) == Outcome::kInOrder);
  }
  auto totals = ledger.totals();
  CHECK(totals.distinct == 300);
  CHECK(totals.missing == 0);
  CHECK(totals.duplicated == 0);
  CHECK(totals.out_of_order == 0);
  CHECK(ledger.distinct_total() == 300);
}

TEST_CASE("DeliveryLedger: exact counts for crafted sequences") {
  DeliveryLedger ledger(4, 10);
  // Subscriber 0: misses 3 and 9.
  for (uint64_t seq : {0, 1, 2, 4, 5, 6, 7, 8}) ledger.record(0, seq);
  // Subscriber 1: 5 twice, then 5 again later (two duplicates).
  for (uint64_t seq : {0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9}) ledger.record(1, seq);
  CHECK(ledger.record(1, 5) == Outcome::kDuplicate);
  // Subscriber 2: 7 before 6; only 6 is out of order.
  for (uint64_t seq : {0, 1, 2, 3, 4, 5, 7}) ledger.record(2, seq);
  CHECK(ledger.record(2, 6) == Outcome::kOutOfOrder);
  CHECK(ledger.record(2, 8) == Outcome::kInOrder);
  CHECK(ledger.record(2, 9) == Outcome::kInOrder);
  // Subscriber 3: reversed, and one seq beyond the range.
  for (uint64_t seq = 10; seq-- > 0;) ledger.record(3, seq);
  CHECK(ledger.record(3, 10) == Outcome::kUnexpected);

  auto totals = ledger.totals();
  CHECK(totals.missing == 2);
  CHECK(totals.subscribers_missing == 1);
  CHECK(totals.duplicated == 2);
  CHECK(totals.subscribers_duplicated == 1);
  CHECK(totals.out_of_order == 1 + 9);
  CHECK(totals.subscribers_out_of_order == 2);
  CHECK(totals.unexpected == 1);
  CHECK(totals.distinct == 8 + 10 + 10 + 10);

  // Judging only subscribers 0 and 1 (e.g. the ones that connected).
  auto judged = ledger.totals({true, true, false, false});
  CHECK(judged.missing == 2);
  CHECK(judged.duplicated == 2);
  CHECK(judged.out_of_order == 0);
}

TEST_CASE("DeliveryLedger: a duplicate of an earlier seq is a duplicate, not out of order") {
  DeliveryLedger ledger(1, 5);
  ledger.record(0, 0);
  ledger.record(0, 1);
  ledger.record(0, 2);
  CHECK(ledger.record(0, 1) == Outcome::kDuplicate);
  auto totals = ledger.totals();
  CHECK(totals.duplicated == 1);
  CHECK(totals.out_of_order == 0);
  CHECK(totals.missing == 2);
}

TEST_CASE("DeliveryLedger: order can be judged by a key other than the seq") {
  DeliveryLedger ledger(1, 3);
  CHECK(ledger.record(0, 1, 100) == Outcome::kInOrder);
  CHECK(ledger.record(0, 0, 101) == Outcome::kInOrder);  // published later, stored later
  CHECK(ledger.record(0, 2, 99) == Outcome::kOutOfOrder);
}

TEST_CASE("DeliveryLedger: missing counts subscribers that got nothing") {
  DeliveryLedger ledger(2, 7);
  ledger.record(0, 3);
  auto totals = ledger.totals();
  CHECK(totals.missing == 6 + 7);
  CHECK(totals.subscribers_missing == 2);
}

}  // namespace
}  // namespace relay::load
