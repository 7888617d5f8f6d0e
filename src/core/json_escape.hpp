#pragma once
// Appends a JSON string literal (with quotes) to `out`. Used where building a
// small JSON body by hand is cheaper and clearer than a DOM.

#include <string>
#include <string_view>

namespace redge {

void appendJsonString(std::string& out, std::string_view text);

}  // namespace redge
