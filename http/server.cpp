#include "http/server.hpp"

#include "http/request_reader.hpp"
#include "http/responses.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sys/resource.h>
#include <pthread.h>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace deployd::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

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

// -- basic auth ------------------------------------------------------------------

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

// Python's base64.b64decode without validate=True: characters outside the
// alphabet are skipped, decoding stops at padding, and a final group of one
// character, or two or three without enough `=`, is "Incorrect padding".
std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int have = 0;
  std::size_t padding = 0;
  for (const char c : text) {
    if (c == '=') {
      ++padding;
      if (have >= 2 && padding >= static_cast<std::size_t>(4 - have))
        break;
      continue;
    }
    const int v = base64_value(c);
    if (v < 0)
      continue;
    padding = 0;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++have == 4) {
      out.push_back(static_cast<char>((acc >> 16) & 0xff));
      out.push_back(static_cast<char>((acc >> 8) & 0xff));
      out.push_back(static_cast<char>(acc & 0xff));
      acc = 0;
      have = 0;
    }
  }
  if (have == 0)
    return out;
  if (have == 1 || padding < static_cast<std::size_t>(4 - have))
    return std::nullopt;
  if (have == 2) {
    out.push_back(static_cast<char>((acc >> 4) & 0xff));
  } else {
    out.push_back(static_cast<char>((acc >> 10) & 0xff));
    out.push_back(static_cast<char>((acc >> 2) & 0xff));
  }
  return out;
}

// Runs over every byte of `secret` whatever `given` holds, so the time says
// nothing about where the first difference is (only the secret's length,
// which is not secret enough to matter).
bool constant_time_equal(std::string_view given, std::string_view secret) {
  unsigned diff = given.size() == secret.size() ? 0u : 1u;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    const auto g = i < given.size() ? static_cast<unsigned char>(given[i])
                                    : static_cast<unsigned char>(0);
    diff |= static_cast<unsigned>(g ^ static_cast<unsigned char>(secret[i]));
  }
  return diff == 0;
}

bool python_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f' || (c >= '\x1c' && c <= '\x1f');
}

} // namespace

bool auth_required(std::string_view method, std::string_view path) {
  return !(method == "GET" && (path == "/api/health" || path == "/api/ready"));
}

bool basic_auth_matches(const std::optional<std::string>& authorization,
                        std::string_view auth_string) {
  if (!authorization)
    return false;
  // `scheme, creds = header.split()`: exactly two words.
  std::vector<std::string_view> words;
  const std::string_view text = *authorization;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && python_space(text[i]))
      ++i;
    const auto start = i;
    while (i < text.size() && !python_space(text[i]))
      ++i;
    if (i > start)
      words.push_back(text.substr(start, i - start));
  }
  if (words.size() != 2 || words[0] != "Basic")
    return false;
  const auto decoded = base64_decode(words[1]);
  return decoded && constant_time_equal(*decoded, auth_string);
}

// -- impl ----------------------------------------------------------------------

namespace {

/// What the server needs of a session to stop it.
class session_base {
public:
  virtual ~session_base() = default;
  /// From any thread: close at once if no request is under way, else after
  /// its response.
  virtual void stop() = 0;
};

/// Lets a late reply (from the writer's thread, possibly after the server
/// is gone) reach a session only while the I/O context still exists.
struct reply_gate {
  std::shared_mutex mutex;
  bool open = true;
};

} // namespace

struct server::impl {
  impl(const config::http_settings& settings_in, services& s, router r)
    : settings(settings_in),
      limits{settings_in.header_limit_bytes, settings_in.target_limit_bytes,
             settings_in.body_limit_bytes, settings_in.chunk_line_limit_bytes},
      svc(s), routes(std::move(r)),
      gate(std::make_shared<reply_gate>()),
      ioc(static_cast<int>(settings_in.threads)),
      acceptor(net::make_strand(ioc)), accept_pause(acceptor.get_executor()) {
  }

  /// Answers `req` through `reply`; returns the index of the route that
  /// matched, or `observe::metrics::unmatched`.
  std::size_t dispatch(const request& req, responder reply);
  /// Reports one answered request (metrics): `route` from `dispatch`,
  /// `seconds` from the request read in full to its response written.
  void finished(std::size_t route, std::string_view method, unsigned status,
                double seconds);
  /// Whether `req` may pass auth (always when no auth string is set).
  [[nodiscard]] bool authorized(const request& req) const;
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void reject_overload(tcp::socket socket);
  void forget(std::uint64_t id);

  config::http_settings settings;
  /// The request reader's limits, from `settings`.
  reader_limits limits;
  services& svc;
  router routes;
  std::shared_ptr<reply_gate> gate;
  std::optional<ssl::context> tls;
  std::atomic<bool> stopping{false};
  /// Requests read and not yet answered in full (response written).
  std::atomic<std::int64_t> in_flight{0};
  /// Live sessions (each counted from accept to destruction).
  std::atomic<std::size_t> connections{0};
  /// Connections being turned away with a 503.
  std::atomic<std::size_t> rejecting{0};
  /// Response bytes waiting to be sent, over all connections (responses
  /// above `small_response_bytes` only).
  std::atomic<std::size_t> queued_bytes{0};
  std::mutex sessions_mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions;
  std::uint64_t next_session = 0;
  bool accept_error_logged = false;
  std::vector<std::thread> threads;
  bool started = false;
  bool stopped = false;
  // Declared last: destroying the context destroys the handlers still
  // queued, and with them sessions, which use the members above.
  net::io_context ioc;
  /// Keeps the I/O threads running while no operation is under way (a
  /// moment with none, e.g. after the listener closes, must not end them
  /// while `stop` still posts to sessions); released by `stop`.
  std::optional<net::executor_work_guard<net::io_context::executor_type>>
    keep_running;
  tcp::acceptor acceptor;
  net::steady_timer accept_pause;
};

std::size_t server::impl::dispatch(const request& req, responder reply) {
  constexpr auto unmatched = observe::metrics::unmatched;
  // Prefect's auth middleware runs before routing, so unknown paths are
  // 401 too (related-resources §7.4).
  if (!authorized(req)) {
    reply(exception_message(401, "Unauthorized"));
    return unmatched;
  }
  auto m = routes.resolve(req.method, req.path);
  switch (m.result) {
    case router::outcome::not_found:
      reply(detail(404, "Not Found"));
      return unmatched;
    case router::outcome::method_not_allowed: {
      auto r = detail(405, "Method Not Allowed");
      r.headers.emplace_back("Allow", m.allow);
      reply(std::move(r));
      return unmatched;
    }
    case router::outcome::redirect: {
      response r;
      r.status = 307;
      r.content_type.clear();
      std::string location =
        std::string(tls ? "https://" : "http://") + req.host + m.location;
      if (!req.query.empty())
        location += "?" + req.query;
      r.headers.emplace_back("Location", std::move(location));
      reply(std::move(r));
      return unmatched;
    }
    case router::outcome::matched:
      break;
  }
  if (!version_exempt(req.path))
    if (auto bad = check_api_version(req)) {
      reply(std::move(*bad));
      return m.route;
    }
  // Every answer says which log position it reflects: a write's own (set by
  // its handler), else what this node had applied before the handler ran.
  auto& positions = svc.writer.positions();
  const auto seen = positions.applied();
  responder stamped = [reply = std::move(reply), seen](response r) {
    const bool has = std::any_of(r.headers.begin(), r.headers.end(),
                                 [](const auto& h) {
                                   return h.first == position_header;
                                 });
    if (!has)
      r.headers.emplace_back(position_header, std::to_string(seen.value));
    reply(std::move(r));
  };
  if (req.min_position) {
    std::uint64_t wanted = 0;
    const auto& text = *req.min_position;
    const auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), wanted);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      stamped(detail(400, "X-Deployd-Min-Position must be a log position "
                          "(a non-negative integer)."));
      return m.route;
    }
    if (wanted > seen.value) {
      // Wait (bounded by the request timeout) for this replica to apply it;
      // the handler then runs on the read pool, never on the thread that
      // applied the position.
      const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(settings.request_timeout_ms);
      positions.when_applied(
        {wanted}, deadline,
        [this, gate = gate, req, target = m.target,
         params = std::move(m.params),
         stamped = std::move(stamped)](bool applied) mutable {
          // The server (and the services it uses) exists while the gate is
          // open; a position applied during shutdown finds it closed.
          std::shared_lock lock(gate->mutex);
          if (!gate->open)
            return;
          if (!applied) {
            stamped(exception_message(503, "Service Unavailable"));
            return;
          }
          svc.blocking_reads.post([this, req = std::move(req), target,
                                   params = std::move(params),
                                   stamped = std::move(stamped)]() mutable {
            (*target)(svc, req, std::move(params), std::move(stamped));
          });
        });
      return m.route;
    }
  }
  (*m.target)(svc, req, std::move(m.params), std::move(stamped));
  return m.route;
}

void server::impl::finished(std::size_t route, std::string_view method,
                            unsigned status, double seconds) {
  if (svc.metrics != nullptr)
    svc.metrics->request_done(route, method, status, seconds);
}

bool server::impl::authorized(const request& req) const {
  return svc.api.auth_string.empty() || !auth_required(req.method, req.path) ||
         basic_auth_matches(req.authorization, svc.api.auth_string);
}

void server::impl::forget(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex);
  sessions.erase(id);
}

// -- session -------------------------------------------------------------------

namespace {

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// Responses up to this size are not counted against the response queue
/// budgets: they fit in a socket's send buffer and leave memory at once.
constexpr std::size_t small_response_bytes = 64u << 10;

// Most of a request waits in one of these; `stop` closes only idle ones.
enum class phase : std::uint8_t {
  handshake,
  idle,
  header,
  body,
  handling,
  writing,
  closing
};

template <class Stream>
class session final : public session_base,
                      public std::enable_shared_from_this<session<Stream>> {
public:
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  template <class... Args>
  session(server::impl& owner, std::uint64_t id, Args&&... stream_args)
    : stream_(std::forward<Args>(stream_args)...), owner_(owner), id_(id),
      timer_(stream_.get_executor()), deadline_(stream_.get_executor()),
      reader_(owner.limits) {
    if (owner_.svc.metrics != nullptr)
      owner_.svc.metrics->connection_opened();
  }

  ~session() override {
    if (owner_.svc.metrics != nullptr)
      owner_.svc.metrics->connection_closed();
    if (counted_)
      --owner_.in_flight;
    release_queue();
    owner_.forget(id_);
    --owner_.connections;
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  [self = this->shared_from_this()] { self->start(); });
  }

  void stop() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->phase_ == phase::idle || self->phase_ == phase::handshake)
        self->close_now();
    });
  }

private:
  using beast_response = beast::http::response<beast::http::string_body>;
  using clock = net::steady_timer::clock_type;

  beast::tcp_stream& lowest() {
    return beast::get_lowest_layer(stream_);
  }

  void start() {
    if constexpr (is_tls) {
      phase_ = phase::handshake;
      lowest().expires_after(
        std::chrono::milliseconds(owner_.settings.header_timeout_ms));
      stream_.async_handshake(
        ssl::stream_base::server,
        [self = this->shared_from_this()](beast::error_code ec) {
          if (ec)
            return self->close_now();
          self->wait_request();
        });
    } else {
      wait_request();
    }
  }

  // -- reading -------------------------------------------------------------

  // Waits for the first byte of the next request under the idle timeout;
  // from then on the header timeout runs, and once the header is in, the
  // body timeout. Reads go through `reader_`, which holds every limit.
  void wait_request() {
    if (owner_.stopping)
      return close_gracefully();
    reader_.start();
    // Reads run under `deadline_`, not the stream's own timeout: that one
    // closes the socket, and a slow client is owed its 408 first.
    lowest().expires_never();
    if (reader_.buffered() > 0) {
      begin_request();
      return on_bytes();
    }
    phase_ = phase::idle;
    arm_deadline(owner_.settings.idle_timeout_ms);
    read_more();
  }

  void begin_request() {
    phase_ = phase::header;
    started_ = clock::now();
    route_ = observe::metrics::unmatched;
    arm_deadline(owner_.settings.header_timeout_ms);
  }

  // Moves the read deadline. One wait is outstanding at a time and is
  // replaced only when the new deadline comes sooner; a wait that fires
  // before the deadline waits again. So a busy keep-alive connection does
  // not cancel and restart a timer at every step of every request.
  void arm_deadline(std::uint32_t ms) {
    timed_out_ = false;
    deadline_at_ = clock::now() + std::chrono::milliseconds(ms);
    if (waiting_ && deadline_.expiry() <= deadline_at_)
      return;
    waiting_ = true;
    deadline_.expires_at(deadline_at_); // a wait under way is cancelled
    wait_deadline();
  }

  void wait_deadline() {
    deadline_.async_wait(
      [weak = std::weak_ptr<session>(this->shared_from_this())](
        beast::error_code ec) {
        if (ec) // replaced by a sooner wait, or the session is closing
          return;
        if (auto self = weak.lock())
          self->on_deadline();
      });
  }

  void on_deadline() {
    if (phase_ != phase::idle && phase_ != phase::header &&
        phase_ != phase::body) {
      waiting_ = false; // no read under way; the next one waits anew
      return;
    }
    if (clock::now() < deadline_at_) {
      deadline_.expires_at(deadline_at_);
      return wait_deadline();
    }
    waiting_ = false;
    timed_out_ = true;
    lowest().cancel(); // the read under way ends with operation_aborted
  }

  void read_more() {
    if (timed_out_)
      return on_timeout();
    const auto room = reader_.prepare();
    if (room.empty()) // the reader refuses before its buffer fills
      return refuse(detail(431, "Request header fields are too large."));
    stream_.async_read_some(
      net::buffer(room.data(), room.size()),
      [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
        self->on_read(ec, n);
      });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    reader_.commit(n);
    if (ec) {
      if (timed_out_)
        return on_timeout();
      return close_now();
    }
    if (phase_ == phase::idle)
      begin_request();
    on_bytes();
  }

  // An idle connection is closed quietly; a request that stalls gets 408.
  void on_timeout() {
    if (phase_ == phase::idle)
      return close_now();
    refuse(detail(408, "Request timed out."));
  }

  void on_bytes() {
    for (;;) {
      const auto step = reader_.parse();
      switch (step.what) {
        case read_step::kind::need_more:
          return read_more();
        case read_step::kind::failed:
          return refuse(detail(step.status, step.reason));
        case read_step::kind::complete:
          return on_request();
        case read_step::kind::header:
          if (!on_header())
            return;
          break;
      }
    }
  }

  // The header of a request with a body is in; false when the session has
  // taken over (refused, or 100 Continue is being written).
  bool on_header() {
    // Credentials are checked before the body is read, so that a client
    // without them cannot make the server hold a body.
    if (!owner_.authorized(reader_.current())) {
      refuse(exception_message(401, "Unauthorized"));
      return false;
    }
    phase_ = phase::body;
    arm_deadline(owner_.settings.body_timeout_ms);
    if (!reader_.expects_continue())
      return true;
    // curl and others wait for this before sending a large body.
    static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    lowest().expires_after(
      std::chrono::milliseconds(owner_.settings.write_timeout_ms));
    net::async_write(stream_, net::buffer(continue_line),
                     [self = this->shared_from_this()](beast::error_code ec,
                                                       std::size_t) {
                       if (ec)
                         return self->close_now();
                       self->lowest().expires_never();
                       self->on_bytes();
                     });
    return false;
  }

  void on_request() {
    phase_ = phase::handling;
    keep_alive_ = reader_.keep_alive() && !owner_.stopping;
    head_ = reader_.head();
    version_ = reader_.version();
    const request req = reader_.take();
    started_ = clock::now();
    method_ = req.method;

    const auto generation = ++generation_;
    counted_ = true;
    ++owner_.in_flight;
    timer_.expires_after(
      std::chrono::milliseconds(owner_.settings.request_timeout_ms));
    timer_.async_wait([self = this->shared_from_this(), generation](
                        beast::error_code wait_ec) {
      if (!wait_ec)
        self->on_response(generation,
                          exception_message(503, "Service Unavailable"));
    });
    // The reply holds the session weakly: the timer keeps it alive while
    // the answer is awaited, and a reply after the timeout (or after the
    // server is gone) must not be what destroys it. dispatch runs the
    // reply inline when it comes from this strand (a synchronous handler)
    // and posts it otherwise.
    std::weak_ptr<session> weak = this->shared_from_this();
    route_ = owner_.dispatch(req, [weak, gate = owner_.gate,
                                   generation](response r) {
      std::shared_lock lock(gate->mutex);
      if (!gate->open)
        return;
      if (auto self = weak.lock())
        net::dispatch(self->stream_.get_executor(),
                      [self, generation, r = std::move(r)]() mutable {
                        self->on_response(generation, std::move(r));
                      });
    });
  }

  // -- writing -------------------------------------------------------------

  // Exactly one response per request: a late reply after the timeout (or a
  // timeout after the reply) is dropped by the generation check.
  void on_response(std::uint64_t generation, response r) {
    if (generation != generation_ || answered_ == generation)
      return;
    answered_ = generation;
    timer_.cancel();
    write(std::move(r), false);
  }

  // Answers and closes: the request could not be read (or may not be).
  void refuse(response r) {
    route_ = observe::metrics::unmatched;
    method_ = reader_.current().method;
    keep_alive_ = false;
    version_ = 11;
    head_ = false;
    write(std::move(r), true);
  }

  // Takes `size` bytes of the response budgets (per connection and in
  // total); false when either would be exceeded.
  bool reserve_queue(std::size_t size) {
    if (size > owner_.settings.response_queue_limit_bytes)
      return false;
    const auto total = owner_.queued_bytes.fetch_add(size) + size;
    if (total > owner_.settings.response_queue_total_bytes) {
      owner_.queued_bytes -= size;
      return false;
    }
    queued_ = size;
    return true;
  }

  void release_queue() {
    if (queued_ == 0)
      return;
    owner_.queued_bytes -= queued_;
    queued_ = 0;
  }

  void write(response r, bool rejected) {
    phase_ = phase::writing;
    if (owner_.stopping)
      keep_alive_ = false;
    const bool has_body = r.status != 204 && r.status != 304 && !head_;
    // A response larger than a socket buffer waits in memory until the
    // client reads it: such responses share a bounded budget, and one that
    // does not fit is answered 503 (the client may retry).
    if (has_body && r.body.size() > small_response_bytes &&
        !reserve_queue(r.body.size()))
      r = exception_message(503, "Service Unavailable");
    status_ = r.status;
    std::shared_ptr<beast_response> res;
    try {
      res = std::make_shared<beast_response>(
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
    } catch (const std::exception& e) {
      // A header Beast cannot hold (a value over 64 KiB): nothing sensible
      // can be sent.
      std::fprintf(stderr, "deployd: cannot write a response: %s\n",
                   e.what());
      release_queue();
      return close_now();
    }
    lowest().expires_after(
      std::chrono::milliseconds(owner_.settings.write_timeout_ms));
    beast::http::async_write(
      stream_, *res,
      [self = this->shared_from_this(), res,
       rejected](beast::error_code ec, std::size_t) {
        self->on_write(ec, rejected);
      });
  }

  void on_write(beast::error_code ec, bool rejected) {
    release_queue();
    owner_.finished(
      route_, method_, status_,
      std::chrono::duration<double>(clock::now() - started_).count());
    if (counted_) {
      counted_ = false;
      --owner_.in_flight;
    }
    if (ec)
      return close_now();
    // A rejected request may still be arriving: read and drop it for a
    // moment so that closing does not reset the connection before the
    // client has read the answer.
    if (rejected || !keep_alive_ || owner_.stopping)
      return close_gracefully();
    wait_request();
  }

  // -- closing -------------------------------------------------------------

  // Half-closes, then drains what the client still sends (bounded in time)
  // before closing: a close with unread data would send a reset that can
  // destroy the response in the client's receive buffer.
  void close_gracefully() {
    phase_ = phase::closing;
    deadline_.cancel();
    lowest().expires_after(2s);
    if constexpr (is_tls) {
      stream_.async_shutdown(
        [self = this->shared_from_this()](beast::error_code) {
          self->close_now();
        });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  void drain() {
    reader_.discard();
    const auto room = reader_.prepare();
    lowest().async_read_some(
      net::buffer(room.data(), room.size()),
      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->close_now();
        self->drain();
      });
  }

  void close_now() {
    phase_ = phase::closing;
    deadline_.cancel();
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  Stream stream_;
  server::impl& owner_;
  std::uint64_t id_;
  /// The handler's deadline (503 when it passes).
  net::steady_timer timer_;
  /// Fires at or before the deadline of the read under way (idle, header
  /// or body timeout); `deadline_at_` is that deadline.
  net::steady_timer deadline_;
  clock::time_point deadline_at_{};
  /// A wait on `deadline_` is outstanding.
  bool waiting_ = false;
  request_reader reader_;
  std::uint64_t generation_ = 0;
  std::uint64_t answered_ = 0;
  /// The request being answered, for metrics: when it began (read in
  /// full; for a refused one, its first byte), its method and route, and
  /// the status written.
  clock::time_point started_{};
  std::string method_;
  std::size_t route_ = observe::metrics::unmatched;
  unsigned status_ = 0;
  /// Bytes of the response being written counted in `owner_.queued_bytes`.
  std::size_t queued_ = 0;
  bool counted_ = false;
  bool keep_alive_ = true;
  bool head_ = false;
  bool timed_out_ = false;
  unsigned version_ = 11;
  phase phase_ = phase::idle;
};

// What a connection beyond `max_connections` is told.
const std::string& overload_text() {
  static const std::string text = [] {
    const std::string body = R"({"exception_message":"Service Unavailable"})";
    return "HTTP/1.1 503 Service Unavailable\r\n"
           "Content-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  }();
  return text;
}

// One connection over `max_connections`: a fixed 503, a half-close, a short
// drain, and close. Over TLS the connection is closed unanswered (a
// handshake is what an overloaded server should not spend time on).
class overload_reply : public std::enable_shared_from_this<overload_reply> {
public:
  overload_reply(tcp::socket&& socket, std::atomic<std::size_t>& counter)
    : stream_(std::move(socket)), counter_(counter) {
    ++counter_;
  }
  ~overload_reply() {
    --counter_;
  }

  void run() {
    stream_.expires_after(1s);
    net::async_write(stream_, net::buffer(overload_text()),
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec)
                         return;
                       beast::error_code ignored;
                       self->stream_.socket().shutdown(
                         tcp::socket::shutdown_send, ignored);
                       self->drain();
                     });
  }

private:
  void drain() {
    stream_.async_read_some(
      net::buffer(scratch_),
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (!ec)
          self->drain();
      });
  }

  beast::tcp_stream stream_;
  std::atomic<std::size_t>& counter_;
  std::array<char, 4096> scratch_{};
};

bool out_of_descriptors(const beast::error_code& ec) {
  return ec == net::error::no_descriptors ||
         ec == net::error::no_buffer_space || ec == net::error::no_memory ||
         ec.value() == ENFILE;
}

} // namespace

void server::impl::do_accept() {
  acceptor.async_accept(
    net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      on_accept(ec, std::move(socket));
    });
}

void server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == net::error::operation_aborted)
    return;
  if (ec) {
    if (out_of_descriptors(ec)) {
      // Accepting again at once would spin: pause while connections end.
      if (!accept_error_logged) {
        accept_error_logged = true;
        std::fprintf(stderr, "deployd: accept: %s (pausing accepts)\n",
                     ec.message().c_str());
      }
      accept_pause.expires_after(50ms);
      accept_pause.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !stopping)
          do_accept();
      });
      return;
    }
    do_accept();
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (connections.load() >= settings.max_connections) {
    reject_overload(std::move(socket));
    do_accept();
    return;
  }
  ++connections;
  std::uint64_t id = 0;
  std::shared_ptr<session_base> created;
  {
    std::lock_guard lock(sessions_mutex);
    id = ++next_session;
  }
  if (tls) {
    auto s = std::make_shared<session<tls_stream>>(*this, id, std::move(socket),
                                                   *tls);
    created = s;
    {
      std::lock_guard lock(sessions_mutex);
      sessions.emplace(id, created);
    }
    s->run();
  } else {
    auto s = std::make_shared<session<plain_stream>>(*this, id,
                                                     std::move(socket));
    created = s;
    {
      std::lock_guard lock(sessions_mutex);
      sessions.emplace(id, created);
    }
    s->run();
  }
  do_accept();
}

void server::impl::reject_overload(tcp::socket socket) {
  beast::error_code ignored;
  if (tls) {
    socket.close(ignored);
    return;
  }
  // Up to this many refusals at a time take the gentle path (a drain until
  // the client closes, within a second).
  constexpr std::size_t max_rejecting = 64;
  if (rejecting.load() < max_rejecting) {
    std::make_shared<overload_reply>(std::move(socket), rejecting)->run();
    return;
  }
  // Beyond that, under a flood, each refusal costs a few system calls and
  // no memory: the 503 fits in a fresh socket's send buffer, so one
  // non-blocking write takes it whole; what the client has sent so far is
  // read and dropped, so that the close sends a FIN rather than a reset
  // that could destroy the answer.
  socket.non_blocking(true, ignored);
  net::write(socket, net::buffer(overload_text()), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> scratch{};
  for (int i = 0; i < 16; ++i) {
    beast::error_code ec;
    socket.read_some(net::buffer(scratch), ec);
    if (ec)
      break;
  }
  socket.close(ignored);
}

// -- server --------------------------------------------------------------------

server::server(const config::http_settings& settings, services& s,
               router routes)
  : impl_(std::make_unique<impl>(settings, s, std::move(routes))) {
}

server::~server() {
  stop(0);
  // Later replies (the writer may still hold some) find the gate closed.
  std::unique_lock lock(impl_->gate->mutex);
  impl_->gate->open = false;
}

namespace {

// Each connection is a descriptor; RocksDB and the rest need some more.
void raise_descriptor_limit(std::size_t connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return;
  const rlim_t wanted = static_cast<rlim_t>(connections) + 1024;
  if (limit.rlim_cur >= wanted)
    return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur < static_cast<rlim_t>(connections) + 64)
    std::fprintf(stderr,
                 "deployd: warning: open-file limit %llu is low for "
                 "http.max_connections %zu\n",
                 static_cast<unsigned long long>(limit.rlim_cur), connections);
}

} // namespace

std::expected<std::uint16_t, std::string> server::start() {
  auto& st = *impl_;
  beast::error_code ec;
  if (!st.settings.tls_cert_file.empty()) {
    st.tls.emplace(ssl::context::tls_server);
    st.tls->set_options(ssl::context::default_workarounds |
                        ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                        ssl::context::single_dh_use);
    st.tls->use_certificate_chain_file(st.settings.tls_cert_file, ec);
    if (ec)
      return std::unexpected("cannot load TLS certificate " +
                             st.settings.tls_cert_file + ": " + ec.message());
    st.tls->use_private_key_file(st.settings.tls_key_file, ssl::context::pem,
                                 ec);
    if (ec)
      return std::unexpected("cannot load TLS key " +
                             st.settings.tls_key_file + ": " + ec.message());
    if (SSL_CTX_check_private_key(st.tls->native_handle()) != 1)
      return std::unexpected("TLS key " + st.settings.tls_key_file +
                             " does not match the certificate");
  }
  raise_descriptor_limit(st.settings.max_connections);
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
  st.keep_running.emplace(st.ioc.get_executor());
  net::post(st.acceptor.get_executor(), [&st] { st.do_accept(); });
  for (std::size_t i = 0; i < st.settings.threads; ++i)
    st.threads.emplace_back([&st] {
      // Named, or it inherits whatever its creator was named (CAF renames
      // the thread that starts its middleman).
      pthread_setname_np(pthread_self(), "deployd.http");
      // The last line of defence: an exception out of a handler is a bug,
      // logged; it must not end the process (each session catches what
      // parsing and writing throw, so none is expected here).
      for (;;) {
        try {
          st.ioc.run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "deployd: I/O handler threw: %s\n", e.what());
        } catch (...) {
          std::fprintf(stderr, "deployd: I/O handler threw\n");
        }
      }
    });
  st.started = true;
  if (!st.settings.port_file.empty()) {
    const auto tmp = st.settings.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), st.settings.port_file.c_str());
  }
  return port;
}

void server::stop() {
  stop(impl_->settings.shutdown_drain_ms);
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
    st.accept_pause.cancel();
  });
  // Collected under the lock, stopped (and possibly destroyed, which takes
  // the lock again) outside it.
  std::vector<std::shared_ptr<session_base>> live;
  {
    std::lock_guard lock(st.sessions_mutex);
    live.reserve(st.sessions.size());
    for (auto& [id, weak] : st.sessions)
      if (auto s = weak.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->stop();
  live.clear();
  // Requests in flight finish and their responses go out; connections then
  // close after their response (keep-alive is off while stopping).
  const auto deadline =
    std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
  while ((st.in_flight > 0 || st.connections > 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  if (st.connections > 0)
    std::fprintf(stderr, "deployd: %zu connections still open at stop\n",
                 st.connections.load());
  if (st.in_flight > 0)
    std::fprintf(stderr, "deployd: %lld requests still in flight at stop\n",
                 static_cast<long long>(st.in_flight.load()));
  st.keep_running.reset();
  st.ioc.stop();
  for (auto& t : st.threads)
    t.join();
  st.threads.clear();
}

void server::handle(const request& req, responder reply) {
  impl_->dispatch(req, std::move(reply));
}

} // namespace deployd::http
