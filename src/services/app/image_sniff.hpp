#pragma once
// Recognises the image formats redge accepts for upload from their leading
// bytes, so the stored Content-Type comes from the data and not from whatever
// the client claimed.

#include <string_view>

namespace redge {

// Returns the image MIME type recognised from magic bytes, or empty view if none.
// The returned view points at a string literal (valid forever). Only the
// signature is checked: a recognised prefix says nothing about the rest.
std::string_view sniffImageType(std::string_view bytes);

}  // namespace redge
