#include "http/request_reader.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <exception>
#include <new>
#include <optional>
#include <string>

namespace deployd::http {

namespace beast = boost::beast;

namespace {

/// Bytes asked of the socket per read.
constexpr std::size_t read_size = 8192;

struct refusal {
  unsigned status;
  std::string_view reason;
};

constexpr refusal malformed{400, "Invalid HTTP request received."};
constexpr refusal header_too_large{431, "Request header fields are too large."};
constexpr refusal target_too_long{414, "Request target is too long."};
constexpr refusal body_too_large{413, "Request body is too large."};
constexpr refusal chunk_line_too_long{413, "Chunk line is too long."};

constexpr read_step only(read_step::kind what) {
  return read_step{what, 0, {}};
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         beast::iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// A bare LF (not preceded by CR) anywhere in `s`.
bool has_bare_lf(std::string_view s) {
  for (auto i = s.find('\n'); i != std::string_view::npos;
       i = s.find('\n', i + 1))
    if (i == 0 || s[i - 1] != '\r')
      return true;
  return false;
}

// Beast's parser writing straight into our `request` value: only the
// fields a handler reads are kept, trailers are counted and dropped (so
// no field size can make Beast's field container throw), and the framing
// rules Beast leaves to its user are checked when the header ends.
class wire_parser final : public beast::http::basic_parser<true> {
public:
  wire_parser(request& out, const reader_limits& limits)
    : out_(out), limits_(limits) {
    header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(limits.header_limit_bytes, UINT32_MAX)));
    body_limit(limits.body_limit_bytes);
  }

  /// Why a callback stopped the parse, if one did.
  std::optional<refusal> refused;
  bool head = false;
  bool expects_continue = false;
  unsigned version = 11;

private:
  using error_code = beast::error_code;
  using string_view = beast::string_view;

  void refuse(const refusal& why, error_code& ec) {
    refused = why;
    ec = beast::http::error::bad_value;
  }

  void on_request_impl(beast::http::verb method, string_view method_str,
                       string_view target, int http_version,
                       error_code& ec) override {
    if (target.size() > limits_.target_limit_bytes)
      return refuse(target_too_long, ec);
    version = static_cast<unsigned>(http_version);
    head = method == beast::http::verb::head;
    out_.method.assign(method_str.data(), method_str.size());
    std::string_view t(target.data(), target.size());
    // Absolute form (RFC 9112 §3.2.2): the path comes from the URL, and
    // its authority stands for the Host header.
    for (const std::string_view scheme : {"http://", "https://"}) {
      if (!starts_with_icase(t, scheme))
        continue;
      const auto rest = t.substr(scheme.size());
      const auto end = rest.find_first_of("/?");
      authority_.emplace(rest.substr(0, end));
      t = end == std::string_view::npos ? std::string_view() : rest.substr(end);
      break;
    }
    const auto q = t.find('?');
    if (q == 0)
      out_.path = "/";
    else
      out_.path.assign(t.substr(0, q));
    if (out_.path.empty())
      out_.path = "/";
    if (q != std::string_view::npos)
      out_.query.assign(t.substr(q + 1));
  }

  void on_response_impl(int, string_view, int, error_code& ec) override {
    ec = beast::http::error::bad_version; // a request parser only
  }

  static void keep_first(std::optional<std::string>& slot, string_view v) {
    if (!slot)
      slot.emplace(v.data(), v.size());
  }
  // A list header sent on several lines is one list (RFC 9110 §5.3).
  static void join_list(std::optional<std::string>& slot, string_view v) {
    if (!slot)
      slot.emplace(v.data(), v.size());
    else
      slot->append(", ").append(v.data(), v.size());
  }

  void on_field_impl(beast::http::field name, string_view name_string,
                     string_view value, error_code& ec) override {
    using beast::http::field;
    if (in_trailer_) {
      // Trailers are read (the client sent them) but never used; they
      // count against the header limit like the header does.
      trailer_bytes_ += name_string.size() + value.size() + 4;
      if (trailer_bytes_ > limits_.header_limit_bytes)
        refuse(header_too_large, ec);
      return;
    }
    switch (name) {
      case field::host:
        if (++hosts_ == 1)
          host_.assign(value.data(), value.size());
        return;
      case field::content_type:
        return keep_first(out_.content_type, value);
      case field::authorization:
        return keep_first(out_.authorization, value);
      case field::user_agent:
        return keep_first(out_.user_agent, value);
      case field::origin:
        return keep_first(out_.origin, value);
      case field::access_control_request_method:
        return keep_first(out_.access_control_request_method, value);
      case field::access_control_request_headers:
        return keep_first(out_.access_control_request_headers, value);
      case field::cookie:
        out_.cookie = true;
        return;
      case field::upgrade:
        return keep_first(out_.upgrade, value);
      case field::connection:
        return keep_first(out_.connection, value);
      case field::sec_websocket_key:
        return keep_first(out_.websocket_key, value);
      case field::sec_websocket_version:
        return keep_first(out_.websocket_version, value);
      case field::sec_websocket_protocol:
        if (!out_.websocket_protocols.empty())
          out_.websocket_protocols += ", ";
        out_.websocket_protocols.append(value.data(), value.size());
        return;
      case field::if_match:
        return join_list(out_.if_match, value);
      case field::if_none_match:
        return join_list(out_.if_none_match, value);
      case field::transfer_encoding:
        ++transfer_encodings_;
        te_chunked_ = beast::iequals(trim({value.data(), value.size()}),
                                     "chunked");
        return;
      case field::expect:
        expects_continue = beast::iequals(trim({value.data(), value.size()}),
                                          "100-continue");
        return;
      case field::unknown:
        if (beast::iequals(name_string, "x-prefect-api-version"))
          keep_first(out_.api_version, value);
        else if (beast::iequals(name_string, "x-deployd-min-position"))
          keep_first(out_.min_position, value);
        else if (beast::iequals(name_string, "x-request-id"))
          keep_first(out_.request_id, value);
        else if (beast::iequals(name_string, "idempotency-key"))
          keep_first(out_.idempotency_key, value);
        return;
      default:
        return;
    }
  }

  void on_header_impl(error_code& ec) override {
    in_trailer_ = true;
    // RFC 9112 §3.2: exactly one Host on HTTP/1.1, at most one before.
    if (hosts_ > 1 || (version >= 11 && hosts_ == 0))
      return refuse(malformed, ec);
    // RFC 9112 §6.1, §6.3: a transfer coding we do not decode, or any on
    // HTTP/1.0, leaves the body's length unknown: refuse and close rather
    // than read the body as the next request.
    if (transfer_encodings_ > 0 &&
        (transfer_encodings_ != 1 || !te_chunked_ || version < 11))
      return refuse(malformed, ec);
    if (authority_)
      out_.host = std::move(*authority_);
    else if (hosts_ == 1)
      out_.host = std::move(host_);
    else
      out_.host = "127.0.0.1";
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         error_code&) override {
    // Beast refused a declared length over the body limit already.
    if (length)
      out_.body.reserve(static_cast<std::size_t>(*length));
  }

  std::size_t on_body_impl(string_view body, error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, string_view extensions,
                            error_code& ec) override {
    if (extensions.size() > limits_.chunk_line_limit_bytes)
      refuse(chunk_line_too_long, ec);
  }

  std::size_t on_chunk_body_impl(std::uint64_t, string_view body,
                                 error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(error_code&) override {
  }

  request& out_;
  const reader_limits& limits_;
  std::optional<std::string> authority_;
  std::string host_;
  std::size_t hosts_ = 0;
  std::size_t transfer_encodings_ = 0;
  bool te_chunked_ = false;
  bool in_trailer_ = false;
  std::size_t trailer_bytes_ = 0;
};

} // namespace

struct request_reader::impl {
  explicit impl(const reader_limits& l)
    : limits(l), buffer(l.header_limit_bytes + l.chunk_line_limit_bytes +
                        2 * read_size) {
    buffer.reserve(read_size);
  }

  read_step fail(const refusal& why) {
    failure = read_step{read_step::kind::failed, why.status, why.reason};
    return *failure;
  }

  // While Beast waits for the end of a chunk-size line or of the trailer
  // section it keeps every byte of it: hold those to their limits, and
  // refuse a line that ends in a bare LF (Beast would wait for CRLF
  // forever).
  std::optional<refusal> check_pending() const {
    std::string_view s(static_cast<const char*>(buffer.data().data()),
                       buffer.size());
    if (s.starts_with("\r\n"))
      s.remove_prefix(2); // the end of the chunk before
    const auto lf = s.find('\n');
    if (lf == std::string_view::npos) {
      const auto line = s.size() - (s.ends_with('\r') ? 1 : 0);
      if (line > limits.chunk_line_limit_bytes)
        return chunk_line_too_long;
      return std::nullopt;
    }
    if (lf == 0 || s[lf - 1] != '\r')
      return malformed;
    if (lf - 1 > limits.chunk_line_limit_bytes)
      return chunk_line_too_long;
    // A complete line Beast did not take: the last chunk, whose trailer
    // section is still arriving.
    const auto trailer = s.substr(lf + 1);
    if (has_bare_lf(trailer))
      return malformed;
    if (trailer.size() > limits.header_limit_bytes)
      return header_too_large;
    return std::nullopt;
  }

  read_step step() {
    if (failure)
      return *failure;
    auto& p = *parser;
    for (;;) {
      if (p.is_done())
        return only(read_step::kind::complete);
      if (buffer.size() == 0)
        return only(read_step::kind::need_more);
      // Stop after the header once, so that the session can look at it
      // (auth, 100-continue) before the body is read.
      p.eager(header_reported);
      beast::error_code ec;
      const auto used = p.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == beast::http::error::need_more) {
        if (p.is_header_done() && p.chunked())
          if (const auto bad = check_pending())
            return fail(*bad);
        return only(read_step::kind::need_more);
      }
      if (ec) {
        if (p.refused)
          return fail(*p.refused);
        if (ec == beast::http::error::body_limit ||
            ec == beast::http::error::buffer_overflow)
          return fail(body_too_large);
        if (ec == beast::http::error::header_limit)
          return fail(header_too_large);
        return fail(malformed);
      }
      if (p.is_done())
        return only(read_step::kind::complete);
      if (p.is_header_done() && !header_reported) {
        header_reported = true;
        return only(read_step::kind::header);
      }
      if (used == 0)
        return only(read_step::kind::need_more);
    }
  }

  reader_limits limits;
  beast::flat_buffer buffer;
  request current;
  std::optional<wire_parser> parser;
  bool header_reported = false;
  std::optional<read_step> failure;
};

request_reader::request_reader(const reader_limits& limits)
  : impl_(std::make_unique<impl>(limits)) {
  start();
}

request_reader::~request_reader() = default;

void request_reader::start() {
  auto& s = *impl_;
  s.current = request{};
  s.parser.reset();
  s.parser.emplace(s.current, s.limits);
  s.header_reported = false;
}

std::span<char> request_reader::prepare() {
  auto& s = *impl_;
  const auto room = s.buffer.max_size() - s.buffer.size();
  const auto n = std::min(read_size, room);
  if (n == 0)
    return {};
  try {
    const auto b = s.buffer.prepare(n);
    return {static_cast<char*>(b.data()), b.size()};
  } catch (const std::exception&) {
    return {};
  }
}

void request_reader::commit(std::size_t n) {
  impl_->buffer.commit(n);
}

void request_reader::discard() {
  impl_->buffer.consume(impl_->buffer.size());
}

std::size_t request_reader::buffered() const {
  return impl_->buffer.size();
}

std::size_t request_reader::capacity() const {
  return impl_->buffer.max_size();
}

read_step request_reader::parse() {
  auto& s = *impl_;
  try {
    return s.step();
  } catch (const std::bad_alloc&) {
    return s.fail(body_too_large);
  } catch (...) {
    // Beast's parser has thrown (a field or value beyond what its
    // containers take): its state is unknown, so this request ends here.
    return s.fail(malformed);
  }
}

const request& request_reader::current() const {
  return impl_->current;
}

request request_reader::take() {
  return std::move(impl_->current);
}

bool request_reader::keep_alive() const {
  return impl_->parser->keep_alive();
}

unsigned request_reader::version() const {
  return impl_->parser->version;
}

bool request_reader::head() const {
  return impl_->parser->head;
}

bool request_reader::expects_continue() const {
  return impl_->parser->expects_continue;
}

} // namespace deployd::http
