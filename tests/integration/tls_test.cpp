// HTTPS end to end: the test makes a self-signed certificate in process
// (OpenSSL), starts deployd with --tls-cert/--tls-key, and talks to it with
// a verifying Beast SSL client. Plain HTTP on that port gets no answer, and
// a missing certificate file stops start-up. Hostile input over TLS (a huge
// trailer, a stalled header) is answered as over plain HTTP.
#include "tests/integration/harness.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

using namespace deployd::testing;
namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

struct pem_files {
  std::string cert;
  std::string key;
};

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A P-256 key and a one-day self-signed certificate for 127.0.0.1.
pem_files make_self_signed(const std::filesystem::path& dir) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                          &EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  REQUIRE(cert);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1");
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);

  pem_files files{(dir / "cert.pem").string(), (dir / "key.pem").string()};
  FILE* out = std::fopen(files.cert.c_str(), "w");
  REQUIRE(out != nullptr);
  PEM_write_X509(out, cert.get());
  std::fclose(out);
  out = std::fopen(files.key.c_str(), "w");
  REQUIRE(out != nullptr);
  PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  return files;
}

struct https_reply {
  unsigned status = 0;
  std::string body;
};

// A verifying HTTPS client on one keep-alive connection.
class https_client {
public:
  https_client(std::uint16_t port, const std::string& ca_file)
      : context_(ssl::context::tls_client), stream_(ioc_, context_) {
    context_.load_verify_file(ca_file);
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream_).connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    stream_.handshake(ssl::stream_base::client);
  }

  https_reply request(const std::string& method, const std::string& target,
                      const std::optional<std::string>& body = std::nullopt) {
    beast::http::request<beast::http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(beast::http::field::host, "127.0.0.1");
    if (body) {
      req.set(beast::http::field::content_type, "application/json");
      req.body() = *body;
    }
    req.prepare_payload();
    beast::http::write(stream_, req);
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream_, buffer_, res);
    return {res.result_int(), res.body()};
  }

  /// Sends `bytes` as they are, then reads one answer (status 0 if the
  /// connection ends first).
  https_reply raw(const std::string& bytes) {
    beast::error_code ec;
    net::write(stream_, net::buffer(bytes), ec);
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream_, buffer_, res, ec);
    if (ec)
      return {};
    return {res.result_int(), res.body()};
  }

private:
  net::io_context ioc_;
  ssl::context context_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

} // namespace

TEST_CASE("deployd serves HTTPS with a configured certificate",
          "[integration][hardening][tls]") {
  temp_dir dir;
  const auto pem = make_self_signed(dir.path());
  process_options options;
  options.extra_args = {"--tls-cert", pem.cert, "--tls-key", pem.key};
  deployd_process server(options);

  https_client client(server.port(), pem.cert);
  auto r = client.request("GET", "/api/health");
  CHECK(r.status == 200);
  CHECK(r.body == "true");
  // Keep-alive over the same TLS session, with a write and a read.
  r = client.request("POST", "/api/flows/", R"({"name":"tls-flow"})");
  REQUIRE(r.status == 201);
  const auto id = json::parse(r.body).at("id").get<std::string>();
  r = client.request("GET", "/api/flows/" + id);
  CHECK(r.status == 200);
  CHECK(json::parse(r.body).at("name") == "tls-flow");

  // A client that does not trust the certificate fails the handshake.
  {
    temp_dir other;
    const auto stranger = make_self_signed(other.path());
    CHECK_THROWS(https_client(server.port(), stranger.cert));
  }

  // Plain HTTP on the HTTPS port gets no HTTP answer.
  {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"),
                                          server.port()));
    beast::http::request<beast::http::string_body> req{beast::http::verb::get,
                                                       "/api/health", 11};
    req.set(beast::http::field::host, "127.0.0.1");
    beast::error_code ec;
    beast::http::write(stream, req, ec);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream, buffer, res, ec);
    CHECK(ec);
  }

  // The server still serves TLS after all that.
  https_client again(server.port(), pem.cert);
  CHECK(again.request("GET", "/api/ready").status == 200);
}

TEST_CASE("a missing or mismatched TLS file stops start-up",
          "[integration][hardening][tls]") {
  temp_dir dir;
  const auto pem = make_self_signed(dir.path());
  const auto data = (dir.path() / "data").string();
  auto r =
      run_tool({"serve", "--port", "0", "--data-dir", data, "--tls-cert",
                (dir.path() / "missing.pem").string(), "--tls-key", pem.key});
  CHECK(r.status == 2);
  r = run_tool(
      {"serve", "--port", "0", "--data-dir", data, "--tls-cert", pem.cert});
  CHECK(r.status == 2);

  temp_dir other;
  const auto stranger = make_self_signed(other.path());
  r = run_tool({"serve", "--port", "0", "--data-dir", data, "--tls-cert",
                pem.cert, "--tls-key", stranger.key});
  CHECK(r.status == 1);
}

TEST_CASE("over HTTPS a huge chunked trailer gets 431 and a stalled header "
          "408",
          "[integration][hardening][tls][wire]") {
  temp_dir dir;
  const auto pem = make_self_signed(dir.path());
  auto options = with_config(dir, "[http]\nheader_timeout_ms = 500\n");
  options.extra_args.insert(options.extra_args.end(),
                            {"--tls-cert", pem.cert, "--tls-key", pem.key});
  deployd_process server(options);

  {
    https_client client(server.port(), pem.cert);
    const auto r =
        client.raw("POST /api/flows/filter HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-A: " +
                   std::string(70'000, 'a') + "\r\n\r\n");
    CHECK(r.status == 431);
    CHECK(r.body == R"({"detail":"Request header fields are too large."})");
  }
  {
    https_client client(server.port(), pem.cert);
    const auto r =
        client.raw("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    CHECK(r.status == 408);
    CHECK(r.body == R"({"detail":"Request timed out."})");
  }
  https_client again(server.port(), pem.cert);
  CHECK(again.request("GET", "/api/health").status == 200);
}
