// Base64 as the API meets it, in one place: the standard alphabet decoded
// with Python's lenient rules (basic-auth credentials, as Prefect reads
// them) and the URL-safe alphabet without padding (event page tokens).
// Ours on purpose: no Debian library decodes with `base64.b64decode`'s
// leniency (OpenSSL's EVP decoder is strict). Pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace deployd::http {

enum class base64_alphabet : bool {
  standard, ///< `+` and `/`
  url,      ///< `-` and `_`
};

/// Encodes `bytes` without padding.
[[nodiscard]] std::string base64_encode(std::string_view bytes,
                                        base64_alphabet alphabet);

/// Decodes exactly: every character in the alphabet, then optional `=`
/// padding; nothing when the text is not base64.
[[nodiscard]] std::optional<std::string>
base64_decode(std::string_view text, base64_alphabet alphabet);

/// Python's `base64.b64decode` without `validate=True` (standard
/// alphabet): characters outside the alphabet are skipped, decoding stops
/// at padding, and a final group of one character, or of two or three
/// without enough `=`, is "Incorrect padding" (nothing).
[[nodiscard]] std::optional<std::string>
base64_decode_lenient(std::string_view text);

} // namespace deployd::http
