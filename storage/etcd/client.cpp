#include "storage/etcd/client.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cassert>
#include <etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h>
#include <functional>
#include <grpcpp/grpcpp.h>
#include <mutex>
#include <netdb.h>
#include <optional>
#include <sys/socket.h>
#include <utility>

namespace deployd::storage::etcd {

namespace pb = etcdserverpb;
using clock = std::chrono::system_clock;

// -- errors -----------------------------------------------------------------

const char* to_string(errc e) {
  switch (e) {
  case errc::unavailable:
    return "unavailable";
  case errc::deadline:
    return "deadline";
  case errc::no_space:
    return "no_space";
  case errc::too_large:
    return "too_large";
  case errc::compacted:
    return "compacted";
  case errc::lease_not_found:
    return "lease_not_found";
  case errc::invalid:
    return "invalid";
  case errc::other:
    return "other";
  }
  return "unknown";
}

bool outcome_unknown(const error& e) {
  // no_space: etcd's quota check before proposing refuses a write, but the
  // one at apply time (etcdserver/apply.go, quotaApplierV3) applies it and
  // then answers "database space exceeded" (seen in etcd_tests).
  return e.code == errc::unavailable || e.code == errc::deadline ||
         e.code == errc::no_space || e.code == errc::other;
}

std::string prefix_end(std::string_view prefix) {
  std::string end{prefix};
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

/// The one place a gRPC status becomes an errc (etcd's texts are in
/// etcdserver/api/v3rpc/rpctypes/error.go; the client's own limits in gRPC).
error map_status(const grpc::Status& status) {
  const std::string& text = status.error_message();
  auto code = errc::other;
  switch (status.error_code()) {
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    code = errc::deadline;
    break;
  case grpc::StatusCode::UNAVAILABLE:
  case grpc::StatusCode::CANCELLED:
  case grpc::StatusCode::ABORTED:
    code = errc::unavailable;
    break;
  case grpc::StatusCode::RESOURCE_EXHAUSTED:
    if (contains(text, "space exceeded")) {
      code = errc::no_space;
    } else if (contains(text, "larger than max")) {
      code = errc::too_large; // a gRPC message limit, either side
    } else if (contains(text, "too many requests")) {
      code = errc::unavailable; // etcd's apply backlog: retry later
    }
    break;
  case grpc::StatusCode::INVALID_ARGUMENT:
    code = contains(text, "too large") ? errc::too_large : errc::invalid;
    break;
  case grpc::StatusCode::OUT_OF_RANGE:
    code = contains(text, "compacted") ? errc::compacted : errc::invalid;
    break;
  case grpc::StatusCode::NOT_FOUND:
    code = contains(text, "lease not found") ? errc::lease_not_found
                                             : errc::invalid;
    break;
  case grpc::StatusCode::FAILED_PRECONDITION:
    code = errc::invalid;
    break;
  default:
    break;
  }
  std::string message = std::to_string(int(status.error_code()));
  message += ' ';
  message += text;
  return {code, std::move(message)};
}

std::unexpected<error> fail(const grpc::Status& status) {
  return std::unexpected(map_status(status));
}

std::unexpected<error> fail(errc code, std::string message) {
  return std::unexpected(error{code, std::move(message)});
}

clock::time_point deadline_from_now(std::chrono::milliseconds d) {
  return clock::now() + d;
}

/// Every call waits for a connection until its deadline rather than failing
/// at once while the channel is in TRANSIENT_FAILURE: a waiting call is also
/// what drives the reconnection (with the sync API and fail-fast calls,
/// gRPC 1.51 only polls a connecting socket from its 5 s backup poller, so
/// a channel that saw every member down stayed down for seconds after they
/// came back).
void prepare(grpc::ClientContext& context, clock::time_point deadline) {
  context.set_wait_for_ready(true);
  context.set_deadline(deadline);
}

/// One unary call of `method` on `stub`, bounded by `deadline`: the
/// response, or the mapped error.
template <class Stub, class Request, class Response>
std::expected<Response, error>
unary(Stub& stub,
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   Response*),
      const Request& request, clock::time_point deadline) {
  grpc::ClientContext context;
  prepare(context, deadline);
  Response response;
  if (auto s = (stub.*method)(&context, request, &response); !s.ok()) {
    return std::unexpected(map_status(s));
  }
  return response;
}

// -- conversions ------------------------------------------------------------

key_value from_pb(const mvccpb::KeyValue& kv) {
  return {kv.key(),          kv.value(),   kv.create_revision(),
          kv.mod_revision(), kv.version(), kv.lease()};
}

std::vector<key_value>
from_pb(const google::protobuf::RepeatedPtrField<mvccpb::KeyValue>& kvs) {
  std::vector<key_value> out;
  out.reserve(std::size_t(kvs.size()));
  for (const auto& kv : kvs) {
    out.push_back(from_pb(kv));
  }
  return out;
}

void to_pb(const compare& c, pb::Compare& out) {
  out.set_result(pb::Compare::EQUAL);
  out.set_key(c.key);
  switch (c.what) {
  case compare::target::value:
    out.set_target(pb::Compare::VALUE);
    out.set_value(c.value);
    break;
  case compare::target::create_revision:
    out.set_target(pb::Compare::CREATE);
    out.set_create_revision(c.number);
    break;
  case compare::target::mod_revision:
    out.set_target(pb::Compare::MOD);
    out.set_mod_revision(c.number);
    break;
  case compare::target::version:
    out.set_target(pb::Compare::VERSION);
    out.set_version(c.number);
    break;
  }
}

void to_pb(const put_op& op, pb::PutRequest& out) {
  out.set_key(op.key);
  out.set_value(op.value);
  out.set_lease(op.lease);
}

void to_pb(const delete_op& op, pb::DeleteRangeRequest& out) {
  out.set_key(op.key);
  out.set_range_end(op.range_end);
}

void to_pb(const txn_op& op, pb::RequestOp& out) {
  std::visit(
      [&](const auto& o) {
        using op_type = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<op_type, put_op>) {
          to_pb(o, *out.mutable_request_put());
        } else if constexpr (std::is_same_v<op_type, range_op>) {
          auto& r = *out.mutable_request_range();
          r.set_key(o.key);
          r.set_range_end(o.range_end);
          r.set_limit(o.limit);
        } else {
          to_pb(o, *out.mutable_request_delete_range());
        }
      },
      op);
}

// -- endpoints --------------------------------------------------------------

struct resolved_endpoint {
  std::string given;   ///< as passed to connect
  std::string address; ///< "1.2.3.4:2379" or "[::1]:2379"
  int family = AF_INET;
};

std::expected<resolved_endpoint, error> resolve(const std::string& given) {
  std::string_view rest = given;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return fail(errc::invalid, "etcd endpoint " + given +
                                   ": only http:// (no TLS) is supported");
  }
  while (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  std::string host;
  std::string port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() ||
        rest[close + 1] != ':') {
      return fail(errc::invalid, "etcd endpoint " + given + ": bad address");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(errc::invalid, "etcd endpoint " + given + ": no port");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty()) {
    return fail(errc::invalid, "etcd endpoint " + given + ": bad address");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return fail(errc::invalid,
                "etcd endpoint " + given + ": " + gai_strerror(rc));
  }
  resolved_endpoint out{given, {}, AF_INET};
  std::array<char, INET6_ADDRSTRLEN> text{};
  // Prefer IPv4: one channel target holds one address family.
  const addrinfo* pick = found;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  if (pick->ai_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(pick->ai_addr);
    inet_ntop(AF_INET, &in->sin_addr, text.data(), text.size());
    out.address = std::string(text.data()) + ":" + port;
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(pick->ai_addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text.data(), text.size());
    out.address = "[" + std::string(text.data()) + "]:" + port;
    out.family = AF_INET6;
  }
  freeaddrinfo(found);
  return out;
}

std::string target_of(const std::vector<resolved_endpoint>& endpoints) {
  std::string target = endpoints.front().family == AF_INET ? "ipv4:" : "ipv6:";
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    target += (i == 0 ? "" : ",") + endpoints[i].address;
  }
  return target;
}

std::shared_ptr<grpc::Channel> make_channel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("pick_first");
  // etcd's own limit (--max-request-bytes) decides, not the client's 4 MiB
  // default; replies (watch batches, range pages) are bounded by the caller.
  args.SetMaxSendMessageSize(16 << 20);
  args.SetMaxReceiveMessageSize(-1);
  // Reconnect quickly after members return (the defaults back off to 120 s);
  // the minimum is also the connect timeout.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Detect a member that stopped answering (paused, partitioned) while
  // calls are open, so pick_first moves on; etcd refuses pings more often
  // than every 5 s (--grpc-keepalive-min-time) and without calls.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 6000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

// -- bidirectional streams on their own completion queue --------------------

/// One bidirectional call driven through its own completion queue, so a
/// read or write can wait with a timeout. Used by one thread at a time,
/// except cancel().
template <class Request, class Response>
class stream {
public:
  enum class op : std::uintptr_t { start = 0, write = 1, read = 2, finish = 3 };
  enum class outcome : std::uint8_t { ok, failed, timeout };

  using factory = std::function<
      std::unique_ptr<grpc::ClientAsyncReaderWriter<Request, Response>>(
          grpc::ClientContext*, grpc::CompletionQueue*)>;

  explicit stream(const factory& open) {
    // Ask the member to end the stream when it loses its leader (etcd's
    // "require leader"), rather than stall silently.
    context_.AddMetadata("hasleader", "true");
    context_.set_wait_for_ready(true);
    call_ = open(&context_, &queue_);
    call_->StartCall(tag(op::start));
    pending_[std::size_t(op::start)] = true;
  }

  ~stream() {
    close();
    queue_.Shutdown();
    void* ignored_tag = nullptr;
    bool ignored_ok = false;
    while (queue_.Next(&ignored_tag, &ignored_ok)) {
    }
  }

  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  void write(const Request& request) {
    assert(!pending(op::start) && !pending(op::write));
    call_->Write(request, tag(op::write));
    pending_[std::size_t(op::write)] = true;
  }

  void read(Response* response) {
    assert(!pending(op::read));
    call_->Read(response, tag(op::read));
    pending_[std::size_t(op::read)] = true;
  }

  [[nodiscard]] bool pending(op o) const {
    return pending_[std::size_t(o)];
  }

  /// Waits until `o` completes or `deadline` passes.
  outcome wait(op o, clock::time_point deadline) {
    while (pending(o)) {
      void* got = nullptr;
      bool ok = false;
      const auto s = queue_.AsyncNext(&got, &ok, deadline);
      if (s == grpc::CompletionQueue::TIMEOUT) {
        return outcome::timeout;
      }
      if (s == grpc::CompletionQueue::SHUTDOWN) {
        return outcome::failed;
      }
      const auto index = reinterpret_cast<std::uintptr_t>(got);
      pending_[index] = false;
      ok_[index] = ok;
    }
    return ok_[std::size_t(o)] ? outcome::ok : outcome::failed;
  }

  /// Waits for `o`; on failure the error is the call's final status (the
  /// call is then over); on timeout a deadline error (the caller drops the
  /// stream, which cancels it).
  std::expected<void, error> complete(op o, clock::time_point deadline,
                                      const char* what) {
    switch (wait(o, deadline)) {
    case outcome::ok:
      return {};
    case outcome::timeout:
      return fail(errc::deadline,
                  std::string("4 ") + what + ": deadline exceeded");
    case outcome::failed:
      break;
    }
    const auto status = finish();
    if (status.ok()) {
      return fail(errc::unavailable,
                  std::string("14 ") + what + " stream closed by the server");
    }
    return fail(status);
  }

  /// From any thread: makes pending operations fail soon.
  void cancel() {
    context_.TryCancel();
  }

  /// The call's final status, after a failed read or write (the call is
  /// over), or after cancel(). Waits for the operations still pending.
  grpc::Status finish() {
    if (!finished_) {
      drain();
      call_->Finish(&status_, tag(op::finish));
      pending_[std::size_t(op::finish)] = true;
      wait(op::finish, clock::time_point::max());
      finished_ = true;
    }
    return status_;
  }

  /// Cancels the call and collects its status.
  void close() {
    if (!finished_) {
      cancel();
      finish();
    }
  }

private:
  static void* tag(op o) {
    return reinterpret_cast<void*>(static_cast<std::uintptr_t>(o));
  }

  void drain() {
    for (const auto o : {op::start, op::write, op::read}) {
      if (pending(o)) {
        // Once the call is over (or canceled) gRPC completes every
        // outstanding operation promptly.
        cancel();
        wait(o, clock::time_point::max());
      }
    }
  }

  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<Request, Response>> call_;
  std::array<bool, 4> pending_{};
  std::array<bool, 4> ok_{};
  grpc::Status status_;
  bool finished_ = false;
};

using watch_stream = stream<pb::WatchRequest, pb::WatchResponse>;
using keep_alive_stream =
    stream<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse>;

// -- watch ------------------------------------------------------------------

watch::batch canceled_batch() {
  watch::batch b;
  b.canceled = true;
  return b;
}

class grpc_watch final : public watch {
public:
  explicit grpc_watch(std::unique_ptr<watch_stream> s) : stream_(std::move(s)) {
  }

  ~grpc_watch() override = default;

  /// Waits for the "created" answer to the create request.
  std::expected<void, error> await_created(clock::time_point deadline) {
    for (;;) {
      auto got = read_one(deadline);
      if (!got) {
        return std::unexpected(got.error());
      }
      if (!*got) {
        stream_->close();
        return fail(errc::deadline, "4 watch not confirmed before deadline");
      }
      if (response_.canceled()) {
        // Refused at creation (or canceled at once): next() reports it.
        queued_ = to_batch();
        return {};
      }
      if (response_.created()) {
        if (response_.events_size() > 0) {
          queued_ = to_batch();
        }
        return {};
      }
    }
  }

  std::expected<batch, error> next(std::chrono::milliseconds timeout) override {
    if (queued_) {
      auto b = std::move(*queued_);
      queued_.reset();
      return b;
    }
    if (over_ || canceled_.load()) {
      return canceled_batch();
    }
    const auto deadline = deadline_from_now(timeout);
    for (;;) {
      auto got = read_one(deadline);
      if (!got) {
        if (canceled_.load()) {
          return canceled_batch();
        }
        return std::unexpected(got.error());
      }
      if (!*got) {
        return batch{};
      }
      // Without progress_notify or fragment requested, only "created" or a
      // progress answer can carry no events: wait on.
      if (response_.canceled() || response_.compact_revision() != 0 ||
          response_.events_size() > 0) {
        return to_batch();
      }
    }
  }

  void cancel() override {
    canceled_.store(true);
    stream_->cancel();
  }

private:
  /// One response into response_: true; false on timeout (the read stays
  /// pending for the next call); an error when the stream is over.
  std::expected<bool, error> read_one(clock::time_point deadline) {
    if (!stream_->pending(watch_stream::op::read)) {
      stream_->read(&response_);
    }
    switch (stream_->wait(watch_stream::op::read, deadline)) {
    case watch_stream::outcome::timeout:
      return false;
    case watch_stream::outcome::failed: {
      over_ = true;
      const auto status = stream_->finish();
      if (status.ok()) {
        return fail(errc::unavailable, "14 watch stream closed by the server");
      }
      return fail(status);
    }
    case watch_stream::outcome::ok:
      return true;
    }
    return false;
  }

  batch to_batch() {
    batch b;
    b.revision = response_.header().revision();
    b.compact_revision = response_.compact_revision();
    b.canceled = response_.canceled() || b.compact_revision != 0;
    b.events.reserve(std::size_t(response_.events_size()));
    for (const auto& e : response_.events()) {
      b.events.push_back({e.type() == mvccpb::Event::DELETE ? event::kind::del
                                                            : event::kind::put,
                          from_pb(e.kv())});
    }
    if (b.canceled) {
      over_ = true;
      stream_->close();
    }
    return b;
  }

  std::unique_ptr<watch_stream> stream_;
  pb::WatchResponse response_;
  std::optional<batch> queued_;
  std::atomic<bool> canceled_{false};
  bool over_ = false;
};

} // namespace

// -- client -----------------------------------------------------------------

struct client::impl {
  std::vector<std::string> given;
  std::vector<resolved_endpoint> endpoints;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
  /// One Maintenance stub per endpoint, in connect()'s order.
  std::vector<std::unique_ptr<pb::Maintenance::Stub>> members;

  std::mutex keep_alive_mutex;
  std::unique_ptr<keep_alive_stream> keep_alive; ///< under keep_alive_mutex
};

std::expected<std::unique_ptr<client>, error>
client::connect(const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) {
    return fail(errc::invalid, "no etcd endpoint given");
  }
  auto state = std::make_unique<impl>();
  state->given = endpoints;
  for (const auto& e : endpoints) {
    auto r = resolve(e);
    if (!r) {
      return std::unexpected(r.error());
    }
    if (!state->endpoints.empty() &&
        r->family != state->endpoints.front().family) {
      return fail(errc::invalid,
                  "etcd endpoints mix IPv4 and IPv6 addresses: " + e);
    }
    state->endpoints.push_back(std::move(*r));
  }
  state->channel = make_channel(target_of(state->endpoints));
  state->kv = pb::KV::NewStub(state->channel);
  state->lease = pb::Lease::NewStub(state->channel);
  state->watch = pb::Watch::NewStub(state->channel);
  state->maintenance = pb::Maintenance::NewStub(state->channel);
  for (const auto& e : state->endpoints) {
    state->members.push_back(
        pb::Maintenance::NewStub(make_channel(target_of({e}))));
  }
  return std::make_unique<client>(std::move(state));
}

client::client(std::unique_ptr<impl> state) : impl_(std::move(state)) {
}

client::~client() = default;

const std::vector<std::string>& client::endpoints() const {
  return impl_->given;
}

std::expected<txn_response, error>
client::txn(const txn_request& request, std::chrono::milliseconds deadline) {
  pb::TxnRequest req;
  for (const auto& c : request.compares) {
    to_pb(c, *req.add_compare());
  }
  for (const auto& op : request.success) {
    to_pb(op, *req.add_success());
  }
  for (const auto& op : request.failure) {
    to_pb(op, *req.add_failure());
  }
  auto resp =
      unary(*impl_->kv, &pb::KV::Stub::Txn, req, deadline_from_now(deadline));
  if (!resp) {
    return std::unexpected(resp.error());
  }
  txn_response out;
  out.succeeded = resp->succeeded();
  out.revision = resp->header().revision();
  for (const auto& r : resp->responses()) {
    if (r.has_response_range()) {
      out.ranges.push_back(from_pb(r.response_range().kvs()));
    }
  }
  return out;
}

std::expected<range_response, error>
client::range(const range_request& request,
              std::chrono::milliseconds deadline) {
  pb::RangeRequest req;
  req.set_key(request.key);
  req.set_range_end(request.range_end);
  req.set_limit(request.limit);
  req.set_revision(request.revision);
  req.set_serializable(request.serializable);
  req.set_keys_only(request.keys_only);
  req.set_count_only(request.count_only);
  auto resp =
      unary(*impl_->kv, &pb::KV::Stub::Range, req, deadline_from_now(deadline));
  if (!resp) {
    return std::unexpected(resp.error());
  }
  range_response out;
  out.kvs = from_pb(resp->kvs());
  out.more = resp->more();
  out.count = resp->count();
  out.revision = resp->header().revision();
  return out;
}

std::expected<std::int64_t, error>
client::put(const put_op& op, std::chrono::milliseconds deadline) {
  pb::PutRequest req;
  to_pb(op, req);
  auto resp =
      unary(*impl_->kv, &pb::KV::Stub::Put, req, deadline_from_now(deadline));
  if (!resp) {
    return std::unexpected(resp.error());
  }
  return resp->header().revision();
}

std::expected<std::int64_t, error>
client::del(const delete_op& op, std::chrono::milliseconds deadline) {
  pb::DeleteRangeRequest req;
  to_pb(op, req);
  auto resp = unary(*impl_->kv, &pb::KV::Stub::DeleteRange, req,
                    deadline_from_now(deadline));
  if (!resp) {
    return std::unexpected(resp.error());
  }
  return resp->deleted();
}

std::expected<lease, error>
client::lease_grant(std::int64_t ttl_seconds,
                    std::chrono::milliseconds deadline) {
  pb::LeaseGrantRequest req;
  req.set_ttl(ttl_seconds);
  auto resp = unary(*impl_->lease, &pb::Lease::Stub::LeaseGrant, req,
                    deadline_from_now(deadline));
  if (!resp) {
    return std::unexpected(resp.error());
  }
  if (!resp->error().empty()) {
    return fail(errc::other, resp->error());
  }
  return lease{resp->id(), resp->ttl()};
}

std::expected<void, error>
client::lease_revoke(std::int64_t id, std::chrono::milliseconds deadline) {
  pb::LeaseRevokeRequest req;
  req.set_id(id);
  auto resp = unary(*impl_->lease, &pb::Lease::Stub::LeaseRevoke, req,
                    deadline_from_now(deadline));
  if (!resp) {
    return std::unexpected(resp.error());
  }
  return {};
}

std::expected<std::int64_t, error>
client::lease_keep_alive(std::int64_t id, std::chrono::milliseconds deadline) {
  const auto until = deadline_from_now(deadline);
  std::lock_guard lock{impl_->keep_alive_mutex};
  auto& s = impl_->keep_alive;
  if (!s) {
    s = std::make_unique<keep_alive_stream>(
        [&](grpc::ClientContext* c, grpc::CompletionQueue* q) {
          return impl_->lease->PrepareAsyncLeaseKeepAlive(c, q);
        });
  }
  pb::LeaseKeepAliveRequest req;
  req.set_id(id);
  pb::LeaseKeepAliveResponse resp;
  // The start (of a new stream) completes before the first write: gRPC
  // 1.51 sends the initial metadata with the write ops. The response matches
  // the request: calls are serialised here, etcd answers in order, and a
  // stream that timed out or broke is dropped.
  for (const auto o :
       {keep_alive_stream::op::start, keep_alive_stream::op::write,
        keep_alive_stream::op::read}) {
    if (o == keep_alive_stream::op::write) {
      s->write(req);
      s->read(&resp);
    }
    if (auto done = s->complete(o, until, "lease keep-alive"); !done) {
      s.reset();
      return std::unexpected(done.error());
    }
  }
  if (resp.id() != id) {
    s.reset();
    return fail(errc::other, "lease keep-alive: answer for another lease");
  }
  return resp.ttl() > 0 ? resp.ttl() : 0;
}

std::expected<std::unique_ptr<watch>, error>
client::watch_range(std::string key, std::string range_end,
                    std::int64_t start_revision,
                    std::chrono::milliseconds deadline) {
  const auto until = deadline_from_now(deadline);
  auto s = std::make_unique<watch_stream>(
      [&](grpc::ClientContext* c, grpc::CompletionQueue* q) {
        return impl_->watch->PrepareAsyncWatch(c, q);
      });
  pb::WatchRequest req;
  auto& create = *req.mutable_create_request();
  create.set_key(std::move(key));
  create.set_range_end(std::move(range_end));
  create.set_start_revision(start_revision);
  for (const auto o : {watch_stream::op::start, watch_stream::op::write}) {
    if (o == watch_stream::op::write) {
      s->write(req);
    }
    if (auto done = s->complete(o, until, "watch"); !done) {
      return std::unexpected(done.error());
    }
  }
  auto w = std::make_unique<grpc_watch>(std::move(s));
  if (auto created = w->await_created(until); !created) {
    return std::unexpected(created.error());
  }
  return w;
}

std::expected<std::vector<member_status>, error>
client::status(std::chrono::milliseconds deadline) {
  const auto n = impl_->members.size();
  struct call {
    grpc::ClientContext context;
    pb::StatusResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<pb::StatusResponse>> rpc;
  };
  std::vector<call> calls(n);
  grpc::CompletionQueue queue;
  const pb::StatusRequest req;
  const auto until = deadline_from_now(deadline);
  for (std::size_t i = 0; i < n; ++i) {
    prepare(calls[i].context, until);
    calls[i].rpc =
        impl_->members[i]->AsyncStatus(&calls[i].context, req, &queue);
    calls[i].rpc->Finish(&calls[i].response, &calls[i].status,
                         reinterpret_cast<void*>(i));
  }
  // Every call ends by its deadline, so this loop does too.
  for (std::size_t done = 0; done < n; ++done) {
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok)) {
      break;
    }
  }
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }

  std::vector<member_status> out(n);
  std::size_t answered = 0;
  std::string first_error;
  for (std::size_t i = 0; i < n; ++i) {
    auto& m = out[i];
    m.endpoint = impl_->given[i];
    const auto& c = calls[i];
    if (!c.status.ok()) {
      m.error = map_status(c.status).message;
      if (first_error.empty()) {
        first_error = m.endpoint + ": " + m.error;
      }
      continue;
    }
    ++answered;
    const auto& r = c.response;
    m.member_id = r.header().member_id();
    m.leader_id = r.leader();
    m.db_size = r.dbsize();
    m.raft_term = std::int64_t(r.raftterm());
    m.raft_index = std::int64_t(r.raftindex());
    m.version = r.version();
    // Alarms come as "memberID:<id> alarm:<NAME> " (AlarmMember's text).
    for (const auto& e : r.errors()) {
      const auto at = e.find("alarm:");
      if (at == std::string::npos) {
        continue;
      }
      auto name = e.substr(at + 6);
      name = name.substr(0, name.find_first_of(" \n"));
      if (std::find(m.alarms.begin(), m.alarms.end(), name) == m.alarms.end()) {
        m.alarms.push_back(std::move(name));
      }
    }
  }
  if (answered == 0) {
    return fail(errc::unavailable, "no etcd endpoint answered: " + first_error);
  }
  return out;
}

std::expected<void, error>
client::alarm_disarm_all(std::chrono::milliseconds deadline) {
  const auto until = deadline_from_now(deadline);
  pb::AlarmRequest list;
  list.set_action(pb::AlarmRequest::GET);
  list.set_alarm(pb::NONE);
  auto alarms =
      unary(*impl_->maintenance, &pb::Maintenance::Stub::Alarm, list, until);
  if (!alarms) {
    return std::unexpected(alarms.error());
  }
  for (const auto& a : alarms->alarms()) {
    pb::AlarmRequest off;
    off.set_action(pb::AlarmRequest::DEACTIVATE);
    off.set_memberid(a.memberid());
    off.set_alarm(a.alarm());
    if (auto r = unary(*impl_->maintenance, &pb::Maintenance::Stub::Alarm, off,
                       until);
        !r) {
      return std::unexpected(r.error());
    }
  }
  return {};
}

std::expected<void, error> client::compact(std::int64_t revision, bool physical,
                                           std::chrono::milliseconds deadline) {
  pb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(physical);
  if (auto r = unary(*impl_->kv, &pb::KV::Stub::Compact, req,
                     deadline_from_now(deadline));
      !r) {
    return std::unexpected(r.error());
  }
  return {};
}

std::expected<void, error>
client::defragment(std::chrono::milliseconds deadline) {
  for (std::size_t i = 0; i < impl_->members.size(); ++i) {
    auto r = unary(*impl_->members[i], &pb::Maintenance::Stub::Defragment,
                   pb::DefragmentRequest{}, deadline_from_now(deadline));
    if (!r) {
      auto e = r.error();
      e.message = impl_->given[i] + ": " + e.message;
      return std::unexpected(std::move(e));
    }
  }
  return {};
}

} // namespace deployd::storage::etcd
