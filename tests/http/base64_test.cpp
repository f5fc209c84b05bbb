// http/base64: the URL-safe round trip of page tokens, the strict decoder's
// refusals, and Python's lenient decode of basic-auth credentials.
#include "http/base64.hpp"

#include <catch2/catch.hpp>

using namespace deployd::http;

TEST_CASE("base64: both alphabets round-trip every byte without padding",
          "[http][base64]") {
  std::string bytes;
  for (int i = 0; i < 256; ++i)
    bytes.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= bytes.size(); n += 37) {
    const auto part = bytes.substr(0, n);
    for (auto a : {base64_alphabet::standard, base64_alphabet::url}) {
      const auto text = base64_encode(part, a);
      CHECK(text.find('=') == std::string::npos);
      CHECK(base64_decode(text, a) == part);
    }
  }
  const std::string high = "\xfb\xff\xfe";
  CHECK(base64_encode(high, base64_alphabet::standard) == "+//+");
  CHECK(base64_encode(high, base64_alphabet::url) == "-__-");
}

TEST_CASE("base64: the strict decoder refuses what is not base64",
          "[http][base64]") {
  CHECK_FALSE(base64_decode("+//+", base64_alphabet::url));
  CHECK_FALSE(base64_decode("-__-", base64_alphabet::standard));
  CHECK_FALSE(base64_decode("abcde", base64_alphabet::url)); // 4n+1 digits
  CHECK_FALSE(base64_decode("ab cd", base64_alphabet::url));
  CHECK(base64_decode("YWI=", base64_alphabet::url) == std::string("ab"));
}

TEST_CASE("base64: Python's lenient b64decode for basic auth",
          "[http][base64]") {
  CHECK(base64_decode_lenient("dXNlcjpwYXNz") == std::string("user:pass"));
  // Characters outside the alphabet are skipped.
  CHECK(base64_decode_lenient("dXNl*cjpw YXNz") == std::string("user:pass"));
  // Decoding stops at complete padding.
  CHECK(base64_decode_lenient("YWI=YWI=") == std::string("ab"));
  // "Incorrect padding".
  CHECK_FALSE(base64_decode_lenient("YWI"));
  CHECK_FALSE(base64_decode_lenient("Y"));
  CHECK(base64_decode_lenient("") == std::string());
}
