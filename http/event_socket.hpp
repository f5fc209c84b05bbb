// The events websockets (events-api §8): `/api/events/in`, where clients
// send events, and `/api/events/out`, where they subscribe to the feed.
//
// The HTTP session reads the upgrade request like any other and hands its
// stream over; the socket then runs on the same strand. Prefect's handshake
// (`prefect` subprotocol, an `auth` message, a `filter` message on `/out`)
// is checked by the pure functions below, which the tests call directly.
//
// `/in`: each text message is one Event, recorded like `POST /api/events`
// (durable in the writer's batch); the next message is read only once the
// last one is recorded, so a pong the client waits for (its delivery
// confirmation) follows the events it sent.
// `/out`: the subscriber joins the live feed first (actors/event_hub.hpp),
// then backfills in pages up to the feed key it joined at, then sends the
// live events after it: log order, no gap, no duplicate. What waits to be
// sent is bounded (`events.websocket_buffer_events`); a subscriber that
// falls behind is closed with 1013 and resumes with a backfill.
// Beast appears here and in server.cpp.
#pragma once

#include "events/event_filter.hpp"
#include "events/prefect_event.hpp"
#include "http/message.hpp"
#include "http/services.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace deployd::http {

/// A live connection the server closes when it stops.
class connection {
public:
  virtual ~connection() = default;
  /// From any thread: close at once if idle, else as soon as it may.
  virtual void stop() = 0;
};

/// Lets a late reply (from the writer's or a pool thread, possibly after the
/// server is gone) reach a connection only while the I/O context exists:
/// posts happen under the shared lock while `open`.
struct reply_gate {
  std::shared_mutex mutex;
  bool open = true;
};

/// What the server lends an event socket.
struct socket_host {
  services& svc;
  /// Time allowed for the handshake's messages (auth, filter), ms.
  std::uint32_t handshake_timeout_ms = 10'000;
  /// Registers a connection the server's stop must reach; returns its id.
  std::function<std::uint64_t(std::weak_ptr<connection>)> enroll;
  /// Forgets one.
  std::function<void(std::uint64_t)> leave;
  /// The server's count of live connections (an event socket is one).
  std::atomic<std::size_t>& connections;
  std::shared_ptr<reply_gate> gate;
};

enum class event_socket_kind : std::uint8_t { in, out };

/// Which events websocket `req` opens: a GET of `/api/events/in` or
/// `/api/events/out` with `Upgrade: websocket`.
[[nodiscard]] std::optional<event_socket_kind>
event_socket_of(const request& req);

/// Whether the client offered the `prefect` subprotocol.
[[nodiscard]] bool offers_prefect(const request& req);

/// Why a socket is closed: a websocket close code and its reason (cut to
/// the 123 bytes a close frame holds, at a character boundary).
struct socket_close {
  std::uint16_t code = 1000;
  std::string reason;
};

/// The first message on a `prefect` socket: nothing when it is an `auth`
/// message whose token passes (any token when `auth_string` is empty),
/// else the close (1008) the reference sends.
[[nodiscard]] std::optional<socket_close>
check_auth_message(std::string_view text, std::string_view auth_string);

/// What `/out`'s filter message asks for.
struct subscription_request {
  events::event_filter filter; ///< `since` clamped, ascending
  bool backfill = true;
};

/// Reads `/out`'s filter message: `{"type":"filter","filter":{...},
/// "backfill":...}`; the filter's `since` is clamped to `now` minus
/// `max_backfill_seconds` and its order forced ascending. Else the close
/// (1002) the reference sends.
[[nodiscard]] std::expected<subscription_request, socket_close>
read_filter_message(std::string_view text, events::timestamp now,
                    double max_backfill_seconds);

/// Reads one `/in` message: an Event, validated like `POST /api/events`;
/// else the close (1011: the reference fails on it).
[[nodiscard]] std::expected<events::prefect_event, socket_close>
read_event_message(std::string_view text);

/// `{"type":"event","event":<ReceivedEvent JSON>}`.
[[nodiscard]] std::string event_message(std::string_view event_json);

/// Takes over a connection whose last request, `req`, was read in full
/// with nothing buffered after it, and runs the websocket on the stream's
/// strand until either side closes it.
void run_event_socket(socket_host& host, boost::beast::tcp_stream stream,
                      request req, event_socket_kind kind);
void run_event_socket(
    socket_host& host,
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream, request req,
    event_socket_kind kind);

} // namespace deployd::http
