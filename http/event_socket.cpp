#include "http/event_socket.hpp"

#include "actors/event_feed.hpp"
#include "actors/event_queries.hpp"
#include "events/python/json_text.hpp"
#include "http/event_bodies.hpp"
#include "http/handlers/common.hpp"
#include "http/server.hpp"
#include "observe/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace deployd::http {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using events::json;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view in_path = "/api/events/in";
constexpr std::string_view out_path = "/api/events/out";

// Whether a comma-separated header value lists `token` (any case).
bool lists_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    auto item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (beast::iequals(item, token))
      return true;
    if (comma == std::string_view::npos)
      break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// A close reason fits a control frame: at most 123 bytes, cut where a
// UTF-8 character begins.
std::string fit_reason(std::string reason) {
  constexpr std::size_t max_reason = 123;
  if (reason.size() <= max_reason)
    return reason;
  auto n = max_reason;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
    --n;
  reason.resize(n);
  return reason;
}

socket_close close_with(std::uint16_t code, std::string reason) {
  return {code, fit_reason(std::move(reason))};
}

std::optional<json> parse_message(std::string_view text) {
  try {
    return events::parse_json(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Python's truthiness of a JSON value (`message.get("backfill", True)`).
bool truthy(const json& v) {
  if (v.is_null())
    return false;
  if (v.is_boolean())
    return v.get<bool>();
  if (v.is_number())
    return v.get<double>() != 0.0;
  if (v.is_string() || v.is_array() || v.is_object())
    return !v.empty();
  return true;
}

} // namespace

std::optional<event_socket_kind> event_socket_of(const request& req) {
  if (req.method != "GET" || !req.upgrade ||
      !lists_token(*req.upgrade, "websocket"))
    return std::nullopt;
  if (req.path == in_path)
    return event_socket_kind::in;
  if (req.path == out_path)
    return event_socket_kind::out;
  return std::nullopt;
}

bool offers_prefect(const request& req) {
  return lists_token(req.websocket_protocols, "prefect");
}

std::optional<socket_close> check_auth_message(std::string_view text,
                                               std::string_view auth_string) {
  const auto message = parse_message(text);
  if (!message || !message->is_object())
    return close_with(1008, "Expected 'auth' message");
  const auto type = message->find("type");
  if (type == message->end() || *type != "auth")
    return close_with(1008, "Expected 'auth' message");
  if (auth_string.empty())
    return std::nullopt;
  const auto token = message->find("token");
  if (token == message->end() || token->is_null() ||
      (token->is_string() && token->get_ref<const std::string&>().empty()))
    return close_with(1008, "Auth required but no token provided");
  if (!token->is_string() ||
      !constant_time_equal(token->get_ref<const std::string&>(), auth_string))
    return close_with(1008, "Invalid token");
  return std::nullopt;
}

std::expected<subscription_request, socket_close>
read_filter_message(std::string_view text, events::timestamp now,
                    double max_backfill_seconds) {
  const auto message = parse_message(text);
  if (!message || !message->is_object())
    return std::unexpected(close_with(1002, "Expected 'filter' message"));
  const auto type = message->find("type");
  if (type == message->end() || *type != "filter")
    return std::unexpected(close_with(1002, "Expected 'filter' message"));
  const auto given = message->find("filter");
  const json input = given == message->end() ? json(nullptr) : *given;
  events::validator v(json::array());
  auto validated = validate_event_filter(v, input);
  if (!validated || !v.ok())
    return std::unexpected(close_with(
        1002, "Invalid filter: " + validation_summary(v.errors(), "EventFilter")));
  subscription_request out;
  try {
    out.filter = events::parse_event_filter(*validated, now);
  } catch (const std::exception& e) {
    return std::unexpected(
        close_with(1002, std::string("Invalid filter: ") + e.what()));
  }
  // As the reference: at most `max_backfill` back, oldest first.
  const auto reach = static_cast<std::int64_t>(
      std::llround(max_backfill_seconds * 1'000'000.0));
  out.filter.since.micros = std::max(out.filter.since.micros,
                                     now.micros - reach);
  out.filter.ascending = true;
  const auto backfill = message->find("backfill");
  out.backfill = backfill == message->end() || truthy(*backfill);
  return out;
}

std::expected<events::prefect_event, socket_close>
read_event_message(std::string_view text) {
  const auto message = parse_message(text);
  if (!message)
    return std::unexpected(close_with(1011, "Invalid event: not JSON"));
  events::validator v(json::array());
  auto e = parse_client_event(v, *message);
  if (!e || !v.ok())
    return std::unexpected(close_with(
        1011, "Invalid event: " + validation_summary(v.errors(), "Event")));
  return std::move(*e);
}

std::string event_message(std::string_view event_json) {
  std::string out;
  out.reserve(event_json.size() + 26);
  out += R"({"type":"event","event":)";
  out += event_json;
  out += '}';
  return out;
}

namespace {

enum class stage : std::uint8_t {
  accepting,
  auth,      ///< waiting for the auth message
  filter,    ///< /out: waiting for the filter message
  joining,   ///< /out: joining the live feed
  backfill,  ///< /out: sending stored events up to the start
  live,      ///< /out: sending live events
  receiving, ///< /in: reading the next event
  recording, ///< /in: the last event is being recorded
  closing,
};

template <class Stream>
class event_socket final
    : public connection,
      public actors::event_sink,
      public std::enable_shared_from_this<event_socket<Stream>> {
public:
  event_socket(socket_host& host, Stream&& stream, request req,
               event_socket_kind kind)
      : host_(host), gate_(host.gate), ws_(std::move(stream)), req_(std::move(req)),
        kind_(kind), timer_(ws_.get_executor()),
        limit_(static_cast<std::size_t>(
            host.svc.event_streams.websocket_buffer_events)),
        page_size_(static_cast<std::size_t>(
            host.svc.event_streams.websocket_backfill_page_size)) {
    ++host_.connections;
    if (host_.svc.metrics != nullptr)
      host_.svc.metrics->connection_opened();
  }

  ~event_socket() override {
    // The last owner may be a pool thread after the server is gone (the
    // hub, a backfill read): then there is nothing left to tell.
    std::shared_lock lock(gate_->mutex);
    if (!gate_->open)
      return;
    if (enrolled_)
      host_.leave(id_);
    if (host_.svc.metrics != nullptr)
      host_.svc.metrics->connection_closed();
    --host_.connections;
  }

  void start() {
    id_ = host_.enroll(this->weak_from_this());
    enrolled_ = true;
    // The websocket's own timeouts replace the stream's.
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout{
        std::chrono::milliseconds(host_.handshake_timeout_ms), 40s, true});
    prefect_ = offers_prefect(req_);
    ws_.set_option(websocket::stream_base::decorator(
        [prefect = prefect_](websocket::response_type& res) {
          if (prefect)
            res.set(beast::http::field::sec_websocket_protocol, "prefect");
        }));
    ws_.read_message_max(events::max_event_size_bytes + (64u << 10));
    ws_.text(true);
    beast::http::request<beast::http::empty_body> up{
        beast::http::verb::get,
        req_.query.empty() ? req_.path : req_.path + "?" + req_.query, 11};
    up.set(beast::http::field::host, req_.host);
    if (req_.upgrade)
      up.set(beast::http::field::upgrade, *req_.upgrade);
    if (req_.connection)
      up.set(beast::http::field::connection, *req_.connection);
    if (req_.websocket_key)
      up.set(beast::http::field::sec_websocket_key, *req_.websocket_key);
    if (req_.websocket_version)
      up.set(beast::http::field::sec_websocket_version,
             *req_.websocket_version);
    auto upgrade =
        std::make_shared<beast::http::request<beast::http::empty_body>>(
            std::move(up));
    ws_.async_accept(*upgrade, [self = this->shared_from_this(),
                                upgrade](beast::error_code ec) {
      self->on_accept(ec);
    });
  }

  void stop() override {
    net::post(timer_.get_executor(), [self = this->shared_from_this()] {
      self->close({1001, "Server shutting down"});
    });
  }

  // -- event_sink (the hub's side; a read-pool thread) ----------------------

  [[nodiscard]] const events::event_filter& filter() const override {
    return filter_;
  }

  void deliver(std::shared_ptr<const actors::live_event> e) override {
    {
      std::lock_guard lock(inbox_mutex_);
      if (overflow_)
        return;
      if (inbox_.size() >= limit_)
        overflow_ = true;
      else
        inbox_.push_back(std::move(e));
      if (drain_posted_)
        return;
      drain_posted_ = true;
    }
    on_strand([self = this->shared_from_this()] { self->drain(); });
  }

private:
  // Runs `f` on the socket's strand, from any thread, while the server's
  // I/O context exists.
  template <class F>
  void on_strand(F&& f) {
    std::shared_lock lock(gate_->mutex);
    if (gate_->open)
      net::post(timer_.get_executor(), std::forward<F>(f));
  }

  void on_accept(beast::error_code ec) {
    if (ec)
      return; // Beast answered the bad upgrade; the socket goes
    if (prefect_) {
      stage_ = stage::auth;
      arm_handshake_timer();
    } else if (kind_ == event_socket_kind::out) {
      stage_ = stage::filter; // legacy mode: no auth message
      arm_handshake_timer();
    } else {
      stage_ = stage::receiving;
    }
    read();
  }

  // The handshake's messages must come in time.
  void arm_handshake_timer() {
    timer_.expires_after(std::chrono::milliseconds(host_.handshake_timeout_ms));
    timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      if (ec)
        return;
      if (auto self = weak.lock()) {
        if (self->stage_ == stage::auth)
          self->close({1008, "Expected 'auth' message"});
        else if (self->stage_ == stage::filter)
          self->close({1002, "Expected 'filter' message"});
      }
    });
  }

  void read() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](
                                beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return finish();
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    switch (stage_) {
      case stage::auth:
        return on_auth(text);
      case stage::filter:
        return on_filter(text);
      case stage::receiving:
        return on_event(text);
      case stage::closing:
        return read(); // until the close handshake ends the read
      default:
        return read(); // /out: what the client sends later is ignored
    }
  }

  void on_auth(std::string_view text) {
    if (auto refused = check_auth_message(text, host_.svc.api.auth_string))
      return close(std::move(*refused));
    send(R"({"type":"auth_success"})");
    if (kind_ == event_socket_kind::out) {
      stage_ = stage::filter;
      arm_handshake_timer();
    } else {
      timer_.cancel();
      stage_ = stage::receiving;
    }
    read();
  }

  void on_filter(std::string_view text) {
    timer_.cancel();
    auto sub = read_filter_message(
        text, handlers::request_time(),
        host_.svc.event_streams.websocket_backfill_seconds);
    if (!sub)
      return close(std::move(sub.error()));
    filter_ = std::move(sub->filter);
    backfill_ = sub->backfill;
    stage_ = stage::joining;
    if (host_.svc.event_hub == nullptr)
      return close({1011, "Event streaming is not available"});
    host_.svc.event_hub->subscribe(
        this->weak_from_this(),
        [weak = this->weak_from_this()](
            std::expected<std::string, storage::errc> start) {
          if (auto self = weak.lock())
            self->on_strand([self, start = std::move(start)]() mutable {
              self->on_joined(std::move(start));
            });
        });
    read();
  }

  void on_event(std::string_view text) {
    auto e = read_event_message(text);
    if (!e)
      return close(std::move(e.error()));
    stage_ = stage::recording;
    events::record_client_events cmd;
    cmd.events.push_back(std::move(*e));
    host_.svc.writer.submit(
        std::move(cmd), handlers::new_command_id(),
        // Held strongly: while the event is recorded nothing else (no read,
        // no write) keeps the socket alive.
        [self = this->shared_from_this()](actors::command_result r) {
          self->on_strand([self, r = std::move(r)] { self->on_recorded(r); });
        });
  }

  // The next event is read only now: a ping the client sent after its
  // events is answered (its confirmation) once they are durable.
  void on_recorded(const actors::command_result& r) {
    if (stage_ == stage::closing)
      return;
    if (r.result != actors::command_result::outcome::ok)
      return close({1011, "The event could not be recorded; send it again"});
    stage_ = stage::receiving;
    read();
  }

  void on_joined(std::expected<std::string, storage::errc> start) {
    if (stage_ == stage::closing)
      return;
    if (!start)
      return close({1011, "The event feed cannot be read"});
    start_ = std::move(*start);
    if (backfill_) {
      stage_ = stage::backfill;
      next_page();
    } else {
      stage_ = stage::live;
      drain();
    }
  }

  // Reads the next backfill page on the read pool: the stored events the
  // filter matches, oldest first, up to the start, after the last one sent.
  void next_page() {
    page_pending_ = true;
    auto f = filter_;
    if (!last_key_.empty())
      f.since.micros = std::max(f.since.micros,
                                actors::occurred_of(last_key_).micros);
    host_.svc.blocking_reads.post(
        [weak = this->weak_from_this(), f = std::move(f), last = last_key_,
         head = start_, size = page_size_,
         &log = host_.svc.reads.log()]() mutable {
          auto self = weak.lock();
          if (!self)
            return;
          storage::log_reader r(log, storage::read_tier::any);
          std::vector<std::string> page;
          std::string newest;
          auto walked = actors::for_each_event(
              r, f,
              [&](std::string_view key, std::string_view text) {
                if (!last.empty() && key <= last)
                  return true;
                page.push_back(event_message(text));
                newest.assign(key);
                return page.size() < size;
              },
              head);
          const bool ok = walked.has_value();
          self->on_strand([self, ok, page = std::move(page),
                           newest = std::move(newest)]() mutable {
            self->on_page(ok, std::move(page), std::move(newest));
          });
        });
  }

  void on_page(bool ok, std::vector<std::string> page, std::string newest) {
    page_pending_ = false;
    if (stage_ == stage::closing)
      return;
    if (!ok)
      return close({1011, "The event feed cannot be read"});
    if (page.size() < page_size_)
      backfill_done_ = true;
    if (!newest.empty())
      last_key_ = std::move(newest);
    for (auto& m : page)
      out_.push_back(std::move(m));
    write_next();
  }

  // Moves live events from the inbox to the socket's queue (once live).
  void drain() {
    std::deque<std::shared_ptr<const actors::live_event>> taken;
    bool overflow = false;
    {
      std::lock_guard lock(inbox_mutex_);
      drain_posted_ = false;
      overflow = overflow_;
      if (stage_ == stage::live)
        taken.swap(inbox_);
    }
    if (stage_ == stage::closing)
      return;
    if (overflow)
      return fell_behind();
    for (auto& e : taken) {
      if (out_.size() >= limit_)
        return fell_behind();
      out_.push_back(event_message(e->text));
    }
    write_next();
  }

  void fell_behind() {
    close({1013, "Subscriber fell behind; reconnect to resume with a "
                 "backfill"});
  }

  void send(std::string message) {
    out_.push_back(std::move(message));
    write_next();
  }

  void write_next() {
    if (writing_ || stage_ == stage::closing)
      return;
    if (out_.empty()) {
      if (stage_ == stage::backfill) {
        if (backfill_done_) {
          stage_ = stage::live;
          drain();
        } else if (!page_pending_) {
          next_page();
        }
      }
      return;
    }
    writing_ = true;
    ws_.async_write(net::buffer(out_.front()),
                    [self = this->shared_from_this()](beast::error_code ec,
                                                      std::size_t) {
                      self->on_write(ec);
                    });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (ec)
      return finish();
    out_.pop_front();
    write_next();
  }

  void close(socket_close why) {
    if (stage_ == stage::closing)
      return;
    if (stage_ == stage::accepting) { // the upgrade is still being answered
      stage_ = stage::closing;
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      return;
    }
    stage_ = stage::closing;
    // The message being written stays until its write ends.
    out_.erase(writing_ ? out_.begin() + 1 : out_.begin(), out_.end());
    {
      std::lock_guard lock(inbox_mutex_);
      inbox_.clear();
      overflow_ = true; // nothing more is queued
    }
    // A client that does not read its close frame loses the connection.
    timer_.expires_after(5s);
    timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      if (ec)
        return;
      if (auto self = weak.lock()) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
      }
    });
    ws_.async_close(
        websocket::close_reason(static_cast<websocket::close_code>(why.code),
                                why.reason),
        [self = this->shared_from_this()](beast::error_code) {
          self->timer_.cancel();
        });
  }

  // The connection ended (closed by the client, an error, a timeout).
  void finish() {
    stage_ = stage::closing;
    timer_.cancel();
    std::lock_guard lock(inbox_mutex_);
    inbox_.clear();
    overflow_ = true;
  }

  socket_host& host_;
  const std::shared_ptr<reply_gate> gate_;
  websocket::stream<Stream> ws_;
  request req_;
  event_socket_kind kind_;
  /// The handshake's deadline, then the close's.
  net::steady_timer timer_;
  std::uint64_t id_ = 0;
  bool enrolled_ = false;
  bool prefect_ = false;
  stage stage_ = stage::accepting;
  beast::flat_buffer buffer_;
  /// Messages waiting to be written (the front one is being written).
  std::deque<std::string> out_;
  bool writing_ = false;
  const std::size_t limit_;
  const std::size_t page_size_;
  // -- /out ----------------------------------------------------------------
  events::event_filter filter_;
  bool backfill_ = true;
  bool backfill_done_ = false;
  bool page_pending_ = false;
  /// The feed key the subscription started at; the event key of the last
  /// backfilled event.
  std::string start_;
  std::string last_key_;
  /// Live events handed over by the hub (its thread) for the strand.
  std::mutex inbox_mutex_;
  std::deque<std::shared_ptr<const actors::live_event>> inbox_;
  bool overflow_ = false;
  bool drain_posted_ = false;
};

template <class Stream>
void run(socket_host& host, Stream stream, request req,
         event_socket_kind kind) {
  auto s = std::make_shared<event_socket<Stream>>(host, std::move(stream),
                                                  std::move(req), kind);
  s->start();
}

} // namespace

void run_event_socket(socket_host& host, beast::tcp_stream stream,
                      request req, event_socket_kind kind) {
  run(host, std::move(stream), std::move(req), kind);
}

void run_event_socket(socket_host& host,
                      beast::ssl_stream<beast::tcp_stream> stream,
                      request req, event_socket_kind kind) {
  run(host, std::move(stream), std::move(req), kind);
}

} // namespace deployd::http
