#include "http/server.hpp"

#include "http/responses.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

namespace deployd::http {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::optional<std::string> header(const beast::http::request<
                                    beast::http::string_body>& req,
                                  beast::http::field f) {
  const auto it = req.find(f);
  if (it == req.end())
    return std::nullopt;
  return std::string(it->value());
}

std::optional<std::string> header(const beast::http::request<
                                    beast::http::string_body>& req,
                                  std::string_view name) {
  const auto it = req.find(name);
  if (it == req.end())
    return std::nullopt;
  return std::string(it->value());
}

// Python's int() on one component of the version header.
std::optional<long> python_int(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

// The X-PREFECT-API-VERSION rule (related-resources §7.2).
std::optional<response> check_api_version(const request& req) {
  if (!req.api_version)
    return std::nullopt;
  const std::string& value = *req.api_version;
  std::vector<long> parts;
  std::size_t start = 0;
  bool ok = true;
  while (true) {
    const auto dot = value.find('.', start);
    auto n = python_int(std::string_view(value).substr(
      start, dot == std::string::npos ? std::string::npos : dot - start));
    if (!n) {
      ok = false;
      break;
    }
    parts.push_back(*n);
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  if (!ok || parts.size() != 3)
    return detail(400, "Invalid X-PREFECT-API-VERSION header format.Expected "
                       "header in format 'x.y.z' but received " +
                         value);
  if (std::tuple(parts[0], parts[1], parts[2]) < std::tuple(0L, 8L, 0L))
    return detail(400, "The request specified API version " + value +
                         " but this server requires version 0.8.0 or "
                         "higher.");
  return std::nullopt;
}

bool version_exempt(std::string_view path) {
  return path == "/api/health" || path == "/api/version" ||
         path == "/api/ready";
}

} // namespace

// -- impl ----------------------------------------------------------------------

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(const config::http_settings& settings_in, services& s, router r)
    : settings(settings_in), svc(s), routes(std::move(r)),
      ioc(static_cast<int>(settings_in.threads)), acceptor(net::make_strand(ioc)) {
  }

  void dispatch(const request& req, responder reply);
  void do_accept();

  config::http_settings settings;
  services& svc;
  router routes;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  bool started = false;
  bool stopped = false;
};

void server::impl::dispatch(const request& req, responder reply) {
  auto m = routes.resolve(req.method, req.path);
  switch (m.result) {
    case router::outcome::not_found:
      reply(detail(404, "Not Found"));
      return;
    case router::outcome::method_not_allowed: {
      auto r = detail(405, "Method Not Allowed");
      r.headers.emplace_back("Allow", m.allow);
      reply(std::move(r));
      return;
    }
    case router::outcome::redirect: {
      response r;
      r.status = 307;
      r.content_type.clear();
      std::string location = "http://" + req.host + m.location;
      if (!req.query.empty())
        location += "?" + req.query;
      r.headers.emplace_back("Location", std::move(location));
      reply(std::move(r));
      return;
    }
    case router::outcome::matched:
      break;
  }
  if (!version_exempt(req.path))
    if (auto bad = check_api_version(req)) {
      reply(std::move(*bad));
      return;
    }
  (*m.target)(svc, req, std::move(m.params), std::move(reply));
}

// -- session -------------------------------------------------------------------

namespace {

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, std::shared_ptr<server::impl> owner)
    : stream_(std::move(socket)), owner_(std::move(owner)),
      timer_(stream_.get_executor()) {
    buffer_.reserve(8192);
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::do_read,
                                            shared_from_this()));
  }

private:
  using beast_request = beast::http::request<beast::http::string_body>;

  void do_read() {
    parser_.emplace();
    parser_->body_limit(owner_->settings.body_limit_bytes);
    parser_->header_limit(
      static_cast<std::uint32_t>(owner_->settings.header_limit_bytes));
    stream_.expires_after(
      std::chrono::milliseconds(owner_->settings.idle_timeout_ms));
    beast::http::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == beast::http::error::end_of_stream || ec == net::error::eof)
      return close();
    if (ec == beast::http::error::body_limit)
      return reject(413, "Request body is too large.");
    if (ec == beast::http::error::header_limit)
      return reject(431, "Request header fields are too large.");
    if (ec)
      return close();
    stream_.expires_never();
    const beast_request& raw = parser_->get();
    keep_alive_ = raw.keep_alive() && !owner_->stopping;
    request req;
    req.method = std::string(raw.method_string());
    const std::string_view target = raw.target();
    const auto q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos)
      req.query = std::string(target.substr(q + 1));
    req.body = raw.body();
    req.content_type = header(raw, beast::http::field::content_type);
    req.api_version = header(raw, "x-prefect-api-version");
    req.authorization = header(raw, beast::http::field::authorization);
    req.host = header(raw, beast::http::field::host).value_or("127.0.0.1");
    head_ = raw.method() == beast::http::verb::head;
    version_ = raw.version();

    const auto generation = ++generation_;
    ++owner_->in_flight;
    timer_.expires_after(
      std::chrono::milliseconds(owner_->settings.request_timeout_ms));
    timer_.async_wait([self = shared_from_this(), generation](
                        beast::error_code wait_ec) {
      if (!wait_ec)
        self->on_response(generation,
                          exception_message(503, "Service Unavailable"));
    });
    auto self = shared_from_this();
    // dispatch runs the reply inline when it comes from this strand (a
    // synchronous handler) and posts it otherwise.
    owner_->dispatch(req, [self, generation](response r) {
      net::dispatch(self->stream_.get_executor(),
                    [self, generation, r = std::move(r)]() mutable {
                      self->on_response(generation, std::move(r));
                    });
    });
  }

  // Exactly one response per request: a late reply after the timeout (or a
  // timeout after the reply) is dropped by the generation check.
  void on_response(std::uint64_t generation, response r) {
    if (generation != generation_ || answered_ == generation)
      return;
    answered_ = generation;
    timer_.cancel();
    --owner_->in_flight;
    write(std::move(r));
  }

  void reject(unsigned status, std::string_view text) {
    keep_alive_ = false;
    version_ = 11;
    head_ = false;
    write(detail(status, text));
  }

  void write(response r) {
    auto res = std::make_shared<beast::http::response<beast::http::string_body>>(
      static_cast<beast::http::status>(r.status), version_);
    if (!r.content_type.empty())
      res->set(beast::http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers)
      res->set(name, value);
    res->keep_alive(keep_alive_);
    if (r.status != 204 && r.status != 304)
      res->body() = std::move(r.body);
    res->prepare_payload();
    if (head_)
      res->body().clear();
    beast::http::async_write(
      stream_, *res,
      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
        self->on_write(ec);
      });
  }

  void on_write(beast::error_code ec) {
    if (ec || !keep_alive_)
      return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<server::impl> owner_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::uint64_t generation_ = 0;
  std::uint64_t answered_ = 0;
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
};

} // namespace

void server::impl::do_accept() {
  acceptor.async_accept(
    net::make_strand(ioc),
    [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (!self->stopping && ec != net::error::operation_aborted)
          self->do_accept();
        return;
      }
      socket.set_option(tcp::no_delay(true));
      std::make_shared<session>(std::move(socket), self)->run();
      self->do_accept();
    });
}

// -- server --------------------------------------------------------------------

server::server(const config::http_settings& settings, services& s,
               router routes)
  : impl_(std::make_shared<impl>(settings, s, std::move(routes))) {
}

server::~server() {
  stop(0);
}

std::expected<std::uint16_t, std::string> server::start() {
  auto& st = *impl_;
  beast::error_code ec;
  const auto address = net::ip::make_address(st.settings.host, ec);
  if (ec)
    return std::unexpected("invalid host " + st.settings.host);
  const tcp::endpoint endpoint{address,
                               static_cast<std::uint16_t>(st.settings.port)};
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    st.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    st.acceptor.bind(endpoint, ec);
  if (!ec)
    st.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return std::unexpected("cannot listen on " + st.settings.host + ":" +
                           std::to_string(st.settings.port) + ": " +
                           ec.message());
  const auto port = st.acceptor.local_endpoint().port();
  impl_->do_accept();
  for (std::size_t i = 0; i < st.settings.threads; ++i)
    st.threads.emplace_back([&st] { st.ioc.run(); });
  st.started = true;
  if (!st.settings.port_file.empty()) {
    const auto tmp = st.settings.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), st.settings.port_file.c_str());
  }
  return port;
}

void server::stop(std::uint32_t drain_ms) {
  auto& st = *impl_;
  if (st.stopped || !st.started)
    return;
  st.stopped = true;
  st.stopping = true;
  net::post(st.acceptor.get_executor(), [&st] {
    beast::error_code ignored;
    st.acceptor.close(ignored);
  });
  const auto deadline =
    std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
  while (st.in_flight > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  st.ioc.stop();
  for (auto& t : st.threads)
    t.join();
  st.threads.clear();
}

void server::handle(const request& req, responder reply) {
  impl_->dispatch(req, std::move(reply));
}

} // namespace deployd::http
