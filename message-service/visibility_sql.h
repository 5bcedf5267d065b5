#pragma once

#include <string>
#include <vector>

#include "shared/validation.h"

namespace relay {

/// Where the visibility rule finds an event's recipient, channel and sender (or reader) in a query.
struct VisibilityColumns {
  const char* recipient = "recipient";
  const char* channel = "channel";
  const char* user = "user";
};

/// Appends to `sql` the condition for what `filter` lets through, over `columns`: public events
/// of the channels it names and does not hide, and direct messages to or from its user. The values
/// to bind go to the end of `values`, and are written as numbered parameters `<mark><n>` counting
/// from `first_index` (SQLite's `?1`, PostgreSQL's `$1`). Pure: both stores build their reads
/// with it, so the rule is written once.
void append_visible_sql(const MessageFilter& filter, int first_index, char mark,
                        std::vector<std::string>* values, std::string* sql,
                        const VisibilityColumns& columns = {});

}  // namespace relay
