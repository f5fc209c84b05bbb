#include "http/server.hpp"

#include "http/base64.hpp"
#include "http/cors.hpp"
#include "http/answer_cache.hpp"
#include "http/event_socket.hpp"
#include "http/request_reader.hpp"
#include "http/responses.hpp"
#include "observe/log.hpp"

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
#include <random>
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

// The answer cache compares with the writer's clock, the system clock.
std::int64_t unix_micros_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
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

// A client's X-Request-ID is echoed and logged only when it is short and
// printable without quoting (no spaces, quotes or backslashes); anything
// else gets a generated id instead.
bool usable_request_id(const std::optional<std::string>& id) {
  if (!id || id->empty() || id->size() > 128)
    return false;
  return std::all_of(id->begin(), id->end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
}

bool version_exempt(std::string_view path) {
  return path == "/api/health" || path == "/api/version" ||
         path == "/api/ready";
}

bool python_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f' || (c >= '\x1c' && c <= '\x1f');
}

} // namespace

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
  const auto decoded = base64_decode_lenient(words[1]);
  return decoded && constant_time_equal(*decoded, auth_string);
}

// -- impl ----------------------------------------------------------------------

namespace {

/// What the server needs of a session to stop it: from any thread, close at
/// once if no request is under way, else after its response (an event
/// socket: with a close frame).
using session_base = connection;

/// One single-threaded context per I/O thread (at least one).
std::vector<std::unique_ptr<net::io_context>> make_contexts(std::size_t n) {
  std::vector<std::unique_ptr<net::io_context>> out;
  for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i)
    out.push_back(std::make_unique<net::io_context>(1));
  return out;
}

} // namespace

struct server::impl {
  impl(const config::http_settings& settings_in, services& s, router r)
    : settings(settings_in),
      limits{settings_in.header_limit_bytes, settings_in.target_limit_bytes,
             settings_in.body_limit_bytes, settings_in.chunk_line_limit_bytes},
      svc(s),
      cors(s.api.cors_allowed_origins, s.api.cors_allowed_methods,
           s.api.cors_allowed_headers),
      routes(std::move(r)),
      gate(std::make_shared<reply_gate>()),
      contexts(make_contexts(settings_in.threads)),
      acceptor(net::make_strand(*contexts.front())),
      accept_pause(acceptor.get_executor()) {
    for (auto& e : routes.entries())
      route_patterns.push_back(std::move(e.pattern));
    char prefix[9];
    std::snprintf(prefix, sizeof prefix, "%08x", std::random_device{}());
    request_id_prefix = prefix;
    sockets.emplace(socket_host{
        svc, settings.header_timeout_ms,
        [this](std::weak_ptr<connection> c) {
          std::lock_guard lock(sessions_mutex);
          const auto id = ++next_session;
          sessions.emplace(id, std::move(c));
          return id;
        },
        [this](std::uint64_t id) { forget(id); }, connections, gate});
  }

  /// Answers `req` through `reply`; returns the index of the route that
  /// matched, or `observe::metrics::unmatched`.
  std::size_t dispatch(const request& req, responder reply);
  /// One answered request, as metrics and the request log see it.
  struct answered {
    std::size_t route = observe::metrics::unmatched; ///< from `dispatch`
    std::string_view method;
    std::string_view path;
    unsigned status = 0;
    /// From the request read in full (a refused one: its first byte) to
    /// its response written.
    double seconds = 0;
    std::string_view request_id;
    std::size_t bytes_in = 0;  ///< request body
    std::size_t bytes_out = 0; ///< response body
    std::string_view cause;    ///< status >= 400: why
  };
  /// Reports an answered request to metrics and the request log (one line;
  /// warn for a rejected write, error for a 5xx, info otherwise and only
  /// when request lines are on). On the session's strand; never blocks.
  void finished(const answered& a);
  /// Sets `out` to the id of a request that came without a usable
  /// X-Request-ID (reusing `out`'s storage).
  void new_request_id(std::string& out);
  /// Whether `req` may pass auth (always when no auth string is set).
  [[nodiscard]] bool authorized(const request& req) const;
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void reject_overload(tcp::socket socket);
  void forget(std::uint64_t id);

  config::http_settings settings;
  /// Route templates by index (the request log's `route`).
  std::vector<std::string> route_patterns;
  /// Generated request ids: a random per-process prefix and a counter.
  std::string request_id_prefix;
  std::atomic<std::uint64_t> next_request_id{1};
  /// The request reader's limits, from `settings`.
  reader_limits limits;
  services& svc;
  cors_policy cors;
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
  /// Connections handed to the I/O threads' contexts in turn (read and
  /// written only by the acceptor's strand).
  std::size_t next_context = 0;
  // Declared last: destroying a context destroys the handlers still
  // queued, and with them sessions, which use the members above.
  /// One context per I/O thread, each run by its thread alone: a
  /// connection lives on one thread, so its socket's reactor state is never
  /// contended. With one shared context the two threads took turns on the
  /// same sockets' mutex, and a holder preempted while it held it (by the
  /// writer, RocksDB's threads or the load generator) stalled the other
  /// thread for a whole time slice: the GET p99 during the scheduler fill.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  /// Keeps the I/O threads running while no operation is under way (a
  /// moment with none, e.g. after the listener closes, must not end them
  /// while `stop` still posts to sessions); released by `stop`.
  std::vector<net::executor_work_guard<net::io_context::executor_type>>
    keep_running;
  tcp::acceptor acceptor;
  net::steady_timer accept_pause;
  /// What event sockets borrow (set in the constructor).
  std::optional<socket_host> sockets;
};

std::size_t server::impl::dispatch(const request& req, responder reply) {
  constexpr auto unmatched = observe::metrics::unmatched;
  // CORS preflights are answered by the outermost layer, before auth.
  if (cors_policy::is_preflight(req)) {
    reply(cors.preflight(req));
    return unmatched;
  }
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
  // A retried keyed write whose first answer is at hand: given again here,
  // before its body is parsed (http/answer_cache.hpp).
  if (svc.answers != nullptr && req.idempotency_key && req.method != "GET" &&
      req.method != "HEAD")
    if (auto again = svc.answers->find(req, unix_micros_now())) {
      stamped(std::move(*again));
      return m.route;
    }
  (*m.target)(svc, req, std::move(m.params), std::move(stamped));
  return m.route;
}

void server::impl::finished(const answered& a) {
  if (svc.metrics != nullptr)
    svc.metrics->request_done(a.route, a.method, a.status, a.seconds);
  const bool write = a.method != "GET" && a.method != "HEAD";
  const auto lv = a.status >= 500                ? observe::level::error
                  : a.status >= 400 && write ? observe::level::warn
                                               : observe::level::info;
  if ((lv == observe::level::info && !svc.log_requests) ||
      !observe::enabled(lv))
    return;
  const bool matched = a.route < route_patterns.size();
  // An unmatched path is client text: only its start is logged.
  const auto path = matched ? std::string_view(route_patterns[a.route])
                            : a.path.substr(0, 200);
  const double ms = a.seconds * 1000.0;
  if (a.status >= 400)
    observe::log(lv, "request",
                 {{"method", a.method.substr(0, 16)},
                  {matched ? "route" : "path", path},
                  {"status", a.status},
                  {"duration_ms", ms},
                  {"request_id", a.request_id},
                  {"bytes_in", std::uint64_t{a.bytes_in}},
                  {"bytes_out", std::uint64_t{a.bytes_out}},
                  {"cause", a.cause}});
  else
    observe::log(lv, "request",
                 {{"method", a.method.substr(0, 16)},
                  {matched ? "route" : "path", path},
                  {"status", a.status},
                  {"duration_ms", ms},
                  {"request_id", a.request_id},
                  {"bytes_in", std::uint64_t{a.bytes_in}},
                  {"bytes_out", std::uint64_t{a.bytes_out}}});
}

void server::impl::new_request_id(std::string& out) {
  char counter[17];
  std::snprintf(counter, sizeof counter, "%016llx",
                static_cast<unsigned long long>(
                  next_request_id.fetch_add(1, std::memory_order_relaxed)));
  out.assign(request_id_prefix);
  out.append(counter);
}

bool server::impl::authorized(const request& req) const {
  return svc.api.auth_string.empty() || cors_policy::is_preflight(req) ||
         !auth_required(req.method, req.path) ||
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
    // The timer's executor is the stream's strand (and outlives a stream
    // handed over to an event socket).
    net::post(timer_.get_executor(), [self = this->shared_from_this()] {
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
    request req = reader_.take();
    if constexpr (is_tls)
      req.scheme = "https";
    started_ = clock::now();
    method_ = req.method;
    take_request_id(req);
    take_origin(req);
    bytes_in_ = req.body.size();
    if (const auto kind = event_socket_of(req);
        kind && owner_.svc.event_hub != nullptr)
      return open_event_socket(std::move(req), *kind);

    const auto generation = ++generation_;
    counted_ = true;
    ++owner_.in_flight;
    // The reply holds the session weakly: the timer keeps it alive while
    // the answer is awaited, and a reply after the timeout (or after the
    // server is gone) must not be what destroys it. dispatch runs the
    // reply inline when it comes from this strand (a synchronous handler)
    // and posts it otherwise.
    std::weak_ptr<session> weak = this->shared_from_this();
    path_.clear();
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
    // The response is written asynchronously, so this is set before
    // `on_write` reads it.
    if (route_ == observe::metrics::unmatched)
      path_ = std::string_view(req.path).substr(0, 200);
    // A handler that answered inline (from the cache) needs no deadline;
    // a reply from another thread is posted to this strand, so it comes
    // after the timer is armed here.
    if (answered_ != generation) {
      timer_armed_ = true;
      timer_.expires_after(
        std::chrono::milliseconds(owner_.settings.request_timeout_ms));
      timer_.async_wait([self = this->shared_from_this(), generation](
                          beast::error_code wait_ec) {
        if (!wait_ec)
          self->on_response(generation,
                            exception_message(503, "Service Unavailable"));
      });
    }
  }

  // `/api/events/in|out`: the connection becomes an event socket, unless
  // it must be refused first.
  void open_event_socket(request req, event_socket_kind kind) {
    path_ = std::string_view(req.path).substr(0, 200);
    route_ = observe::metrics::unmatched;
    keep_alive_ = false;
    if (owner_.stopping)
      return write(exception_message(503, "Service Unavailable"), true);
    // Prefect refuses a socket without its subprotocol before accepting
    // it when auth is on (uvicorn then answers 403).
    if (!owner_.svc.api.auth_string.empty() && !offers_prefect(req))
      return write(detail(403, "Forbidden"), true);
    // Nothing may follow the upgrade request before the 101.
    if (reader_.buffered() > 0)
      return write(detail(400, "Bad Request"), true);
    phase_ = phase::closing;
    deadline_.cancel();
    timer_.cancel();
    server::impl::answered a;
    a.method = method_;
    a.path = path_;
    a.status = 101;
    a.seconds = std::chrono::duration<double>(clock::now() - started_).count();
    a.request_id = request_id_;
    owner_.finished(a);
    owner_.forget(id_);
    run_event_socket(*owner_.sockets, std::move(stream_), std::move(req),
                     kind);
  }

  void take_origin(const request& req) {
    cors_origin_.clear();
    cors_cookie_ = req.cookie;
    if (req.origin && !cors_policy::is_preflight(req))
      cors_origin_ = *req.origin;
  }

  void take_request_id(const request& req) {
    if (usable_request_id(req.request_id))
      request_id_ = *req.request_id;
    else
      owner_.new_request_id(request_id_);
  }

  // -- writing -------------------------------------------------------------

  // Exactly one response per request: a late reply after the timeout (or a
  // timeout after the reply) is dropped by the generation check.
  void on_response(std::uint64_t generation, response r) {
    if (generation != generation_ || answered_ == generation)
      return;
    answered_ = generation;
    if (timer_armed_) {
      timer_armed_ = false;
      timer_.cancel();
    }
    write(std::move(r), false);
  }

  // Answers and closes: the request could not be read (or may not be).
  void refuse(response r) {
    route_ = observe::metrics::unmatched;
    method_ = reader_.current().method;
    path_ = std::string_view(reader_.current().path).substr(0, 200);
    take_request_id(reader_.current());
    take_origin(reader_.current());
    bytes_in_ = 0;
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
    cause_.clear();
    if (r.status >= 400)
      cause_ = r.cause.empty()
                 ? std::string_view(r.body).substr(0, 200)
                 : std::string_view(r.cause);
    if (!cors_origin_.empty())
      owner_.cors.simple(cors_origin_, cors_cookie_, r);
    bytes_out_ = has_body ? r.body.size() : 0;
    if (has_body && plain_head(r))
      return write_plain(std::move(r), rejected);
    std::shared_ptr<beast_response> res;
    try {
      res = std::make_shared<beast_response>(
        static_cast<beast::http::status>(r.status), version_);
      if (!r.content_type.empty())
        res->set(beast::http::field::content_type, r.content_type);
      for (auto& [name, value] : r.headers)
        res->set(name, value);
      res->set("X-Request-ID", request_id_);
      res->keep_alive(keep_alive_);
      if (r.status != 204 && r.status != 304)
        res->body() = std::move(r.body);
      res->prepare_payload();
      if (head_)
        res->body().clear();
    } catch (const std::exception& e) {
      // A header Beast cannot hold (a value over 64 KiB): nothing sensible
      // can be sent.
observe::log(observe::level::error, "cannot write a response",
                   {{"detail", e.what()}});
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

  // Whether `r` may be written by `write_plain`: what Beast would send for
  // it is then exactly its fields in order (HTTP/1.1, a body, no header
  // that Beast would merge, replace, trim or refuse).
  bool plain_head(const response& r) const {
    if (version_ != 11 || r.status < 200 || r.status > 999)
      return false;
    constexpr std::size_t longest_value = 60000;
    if (r.content_type.size() > longest_value || !untrimmed(r.content_type))
      return false;
    for (std::size_t i = 0; i < r.headers.size(); ++i) {
      const auto& [name, value] = r.headers[i];
      if (name.empty() || value.size() > longest_value || !untrimmed(value) ||
          special_field(beast::http::string_to_field(name)))
        return false;
      for (std::size_t j = 0; j < i; ++j)
        if (beast::iequals(r.headers[j].first, name))
          return false;
      if (beast::iequals(name, "X-Request-ID"))
        return false;
    }
    return true;
  }

  static bool special_field(beast::http::field f) {
    using beast::http::field;
    return f == field::content_type || f == field::content_length ||
           f == field::connection || f == field::transfer_encoding;
  }

  static bool untrimmed(std::string_view v) {
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    return v.empty() || (!blank(v.front()) && !blank(v.back()));
  }

  // Writes what `write` would have Beast serialise, byte for byte (the
  // status line, Content-Type, the headers in order, X-Request-ID,
  // `Connection: close` when not keeping alive, Content-Length), from one
  // buffer reused by the connection, with the body as a second buffer.
  void write_plain(response r, bool rejected) {
    auto& h = head_text_;
    h.clear();
    const unsigned code = r.status;
    const char status[] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ',
                           static_cast<char>('0' + code / 100),
                           static_cast<char>('0' + code / 10 % 10),
                           static_cast<char>('0' + code % 10), ' '};
    h.append(status, sizeof status);
    h.append(beast::http::obsolete_reason(
      static_cast<beast::http::status>(code)));
    h.append("\r\n");
    const auto field = [&h](std::string_view name, std::string_view value) {
      h.append(name);
      h.append(": ");
      h.append(value);
      h.append("\r\n");
    };
    if (!r.content_type.empty())
      field("Content-Type", r.content_type);
    for (const auto& [name, value] : r.headers)
      field(name, value);
    field("X-Request-ID", request_id_);
    if (!keep_alive_)
      field("Connection", "close");
    char length[24];
    const auto end =
      std::to_chars(length, length + sizeof length, r.body.size()).ptr;
    field("Content-Length", std::string_view(length, end - length));
    h.append("\r\n");
    body_text_ = std::move(r.body);
    lowest().expires_after(
      std::chrono::milliseconds(owner_.settings.write_timeout_ms));
    const std::array<net::const_buffer, 2> out{net::buffer(head_text_),
                                               net::buffer(body_text_)};
    net::async_write(stream_, out,
                     [self = this->shared_from_this(),
                      rejected](beast::error_code ec, std::size_t) {
                       self->on_write(ec, rejected);
                     });
  }

  void on_write(beast::error_code ec, bool rejected) {
    release_queue();
    server::impl::answered a;
    a.route = route_;
    a.method = method_;
    a.path = path_;
    a.status = status_;
    a.seconds = std::chrono::duration<double>(clock::now() - started_).count();
    a.request_id = request_id_;
    a.bytes_in = bytes_in_;
    a.bytes_out = bytes_out_;
    a.cause = cause_;
    owner_.finished(a);
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
  /// For the request log: the path of an unmatched request, the request
  /// id (the client's X-Request-ID or a generated one, echoed), body
  /// sizes, and why a request failed. Reused across the connection's
  /// requests.
  std::string path_;
  std::string request_id_;
  std::size_t bytes_in_ = 0;
  std::size_t bytes_out_ = 0;
  std::string cause_;
  /// CORS: the Origin of the request being answered (empty: none, or a
  /// preflight, which is answered whole), and whether it sent a Cookie.
  std::string cors_origin_;
  bool cors_cookie_ = false;
  /// Bytes of the response being written counted in `owner_.queued_bytes`.
  std::size_t queued_ = 0;
  /// The response `write_plain` is writing: its head (the storage reused
  /// by the connection's responses) and body.
  std::string head_text_;
  std::string body_text_;
  /// `timer_` waits for the answer to the request under way.
  bool timer_armed_ = false;
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
  // The socket takes the context's own executor, not a strand over it: one
  // thread runs the context, so the session's handlers are serialised
  // already, and a strand's lock and queue per handler cost ~5% of a GET.
  auto& context = *contexts[next_context++ % contexts.size()];
  acceptor.async_accept(
    context, [this](beast::error_code ec, tcp::socket socket) {
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
observe::log(observe::level::error, "accept failed, pausing accepts",
                     {{"detail", ec.message()}});
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
observe::log(observe::level::warn, "open-file limit is low for http.max_connections",
                 {{"limit", std::uint64_t{limit.rlim_cur}},
                  {"max_connections", std::uint64_t{connections}}});
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
  for (auto& context : st.contexts)
    st.keep_running.push_back(net::make_work_guard(*context));
  net::post(st.acceptor.get_executor(), [&st] { st.do_accept(); });
  for (auto& context : st.contexts)
    st.threads.emplace_back([&st, &ioc = *context] {
      // Named, or it inherits whatever its creator was named (CAF renames
      // the thread that starts its middleman).
      pthread_setname_np(pthread_self(), "deployd.http");
      // The last line of defence: an exception out of a handler is a bug,
      // logged; it must not end the process (each session catches what
      // parsing and writing throw, so none is expected here).
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
observe::log(observe::level::error, "I/O handler threw", {{"detail", e.what()}});
        } catch (...) {
observe::log(observe::level::error, "I/O handler threw");
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
observe::log(observe::level::warn, "connections still open at stop",
                 {{"connections", std::uint64_t{st.connections.load()}}});
  if (st.in_flight > 0)
observe::log(observe::level::warn, "requests still in flight at stop",
                 {{"requests", std::int64_t{st.in_flight.load()}}});
  st.keep_running.clear();
  for (auto& context : st.contexts)
    context->stop();
  for (auto& t : st.threads)
    t.join();
  st.threads.clear();
}

void server::handle(const request& req, responder reply) {
  impl_->dispatch(req, std::move(reply));
}

} // namespace deployd::http
