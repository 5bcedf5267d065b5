#include "message-service/visibility_sql.h"

namespace relay {

// Built by appending (GCC 12 reports a false -Wrestrict on chains of std::string operator+ here).
void append_visible_sql(const MessageFilter& filter, int first_index, char mark,
                        std::vector<std::string>* values, std::string* sql,
                        const VisibilityColumns& columns) {
  auto append_parameter = [&](const std::string& value) {
    values->push_back(value);
    sql->push_back(mark);
    sql->append(std::to_string(first_index + static_cast<int>(values->size()) - 1));
  };
  auto append_list = [&](const char* op, const std::vector<std::string>& names) {
    if (names.empty()) return;
    sql->append(" AND ").append(columns.channel).append(op).append(" (");
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) sql->append(", ");
      append_parameter(names[i]);
    }
    sql->append(")");
  };
  sql->append("((").append(columns.recipient).append(" IS NULL");
  append_list(" IN", filter.channels);
  append_list(" NOT IN", filter.hidden_channels);
  sql->append(")");
  if (!filter.user.empty()) {
    std::string user_parameter(1, mark);
    user_parameter.append(std::to_string(first_index + static_cast<int>(values->size())));
    values->push_back(filter.user);
    sql->append(" OR (").append(columns.recipient).append(" IS NOT NULL AND (");
    sql->append(columns.recipient).append(" = ").append(user_parameter);
    sql->append(" OR ").append(columns.user).append(" = ").append(user_parameter).append("))");
  }
  sql->append(")");
}

}  // namespace relay
