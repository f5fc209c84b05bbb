// SHA-256 (OpenSSL) and the block schema checksum against values computed
// outside the project: FIPS 180-2 vectors, Python's hashlib over lengths
// around the padding boundary, and a block schema hashed as the reference
// does (hashlib.sha256(json.dumps(((fields,), {}), sort_keys=True))).
#include "events/checksum.hpp"

#include <catch2/catch.hpp>
#include <string>

using deployd::events::block_schema_checksum;
using deployd::events::json;
using deployd::events::sha256_hex;

TEST_CASE("sha256_hex matches the FIPS 180-2 vectors and hashlib",
          "[events][checksum]") {
  CHECK(sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(sha256_hex(std::string(55, 'x')) ==
        "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(sha256_hex(std::string(56, 'x')) ==
        "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  CHECK(sha256_hex(std::string(64, 'x')) ==
        "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

TEST_CASE("block_schema_checksum is the reference's: sorted Python JSON, "
          "ASCII escapes, secret_fields left out",
          "[events][checksum]") {
  const auto fields = json::parse(R"({"title": "Bucket", "type": "object",
    "properties": {"name": {"title": "Näme ✓ 𝄞", "type": "string"},
                   "token": {"type": "string", "format": "password",
                             "writeOnly": true}},
    "secret_fields": ["token"], "required": ["name"],
    "block_type_slug": "bucket",
    "definitions": {"Inner": {"type": "object", "secret_fields": ["x"],
                              "properties": {"x": {"type": "integer",
                                                   "default": 1.5}}}}})");
  CHECK(block_schema_checksum(fields) ==
        "sha256:ed5df4e6eeec0d351fc36a9a79d7323cef85d24b2312063a0884760be7883ef2");
}
