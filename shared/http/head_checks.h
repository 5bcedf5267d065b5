#pragma once

#include "shared/http/router.h"

namespace relay {

/// The head check of a route whose body is JSON: 415 `unsupported_media_type` ("send <what> as
/// JSON ...") before the body is read, unless Content-Type names application/json.
HeadCheck require_json(const char* what);

}  // namespace relay
