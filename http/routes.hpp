// The one table of method + path -> handler.
#pragma once

#include "http/router.hpp"

namespace deployd::http {

/// Every route deployd serves under /api.
[[nodiscard]] router make_routes();

} // namespace deployd::http
