#include "shared/time_format.h"

#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include <fmt/format.h>

namespace relay {

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339_ms(int64_t unix_ms) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  // Written once per message on the hot paths: the date and time of the last second each thread
  // formatted are kept, and digits are written by hand rather than through a format string.
  thread_local int64_t cached_seconds = INT64_MIN;
  thread_local char cached[20];  // "YYYY-MM-DDTHH:MM:SS"
  auto put = [](char* at, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      at[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  if (seconds != cached_seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm utc{};
    gmtime_r(&t, &utc);
    int year = utc.tm_year + 1900;
    if (year < 0 || year > 9999) {  // outside what four digits hold: the general way
      return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", year, utc.tm_mon + 1,
                         utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    }
    put(cached, year, 4);
    cached[4] = '-';
    put(cached + 5, utc.tm_mon + 1, 2);
    cached[7] = '-';
    put(cached + 8, utc.tm_mday, 2);
    cached[10] = 'T';
    put(cached + 11, utc.tm_hour, 2);
    cached[13] = ':';
    put(cached + 14, utc.tm_min, 2);
    cached[16] = ':';
    put(cached + 17, utc.tm_sec, 2);
    cached_seconds = seconds;
  }
  std::string out(cached, 19);
  char tail[5] = {'.', '0', '0', '0', 'Z'};
  put(tail + 1, static_cast<int>(millis), 3);
  out.append(tail, 5);
  return out;
}

}  // namespace relay
