// The events websockets against the real binary (events-api §8), with a
// real websocket client (Beast): the handshake and its close codes, the
// `/out` backfill then live events in log order without gap or duplicate,
// a subscriber that falls behind, and `/in` events recorded before the next
// message is read.
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <set>
#include <thread>

using namespace deployd::testing;

namespace {

json client_event(int n) {
  return {{"occurred", now_iso()},
          {"event", "test.thing.happened"},
          {"resource", {{"prefect.resource.id", "test.thing." +
                                                    std::to_string(n)}}},
          {"payload", {{"n", n}}},
          {"id", "00000000-0000-4000-8000-" + [&] {
             char b[13];
             std::snprintf(b, sizeof b, "%012d", n);
             return std::string(b);
           }()}};
}

process_options live_clock() {
  process_options o;
  o.clock = "system"; // events occur now, inside the backfill's reach
  return o;
}

std::string create_flow(const deployd_process& server,
                        const std::string& name) {
  const auto r = server.post("/api/flows/", json{{"name", name}});
  REQUIRE(r.status == 201);
  return r.json_body().at("id").get<std::string>();
}

} // namespace

TEST_CASE("events out: backfill, then live events in log order, once each",
          "[integration][events][websocket]") {
  deployd_process server(live_clock());
  create_flow(server, "before-1");
  create_flow(server, "before-2");

  ws_client sub(server.port(), "/api/events/out");
  REQUIRE_FALSE(sub.handshake_error());
  CHECK(sub.subprotocol() == "prefect");
  sub.authenticate();
  sub.send(subscribe_all());

  std::vector<std::string> names;
  std::set<std::string> ids;
  auto take = [&] {
    const auto m = sub.read_json();
    REQUIRE(m.at("type") == "event");
    const auto& e = m.at("event");
    CHECK(ids.insert(e.at("id").get<std::string>()).second);
    names.push_back(e.at("resource").at("prefect.resource.name"));
  };
  take();
  take();
  CHECK(names == std::vector<std::string>{"before-1", "before-2"});

  for (int i = 0; i < 20; ++i)
    create_flow(server, "after-" + std::to_string(i));
  for (int i = 0; i < 20; ++i)
    take();
  for (int i = 0; i < 20; ++i)
    CHECK(names[2 + i] == "after-" + std::to_string(i));

  // The same events, with the same ids, as the stored feed has them.
  const auto stored = server.post(
      "/api/events/filter",
      json{{"filter", {{"order", "ASC"}, {"occurred", {{"since", now_iso(-3600)}}}}},
           {"limit", 50}});
  REQUIRE(stored.status == 200);
  const auto stored_body = stored.json_body();
  std::set<std::string> stored_ids;
  for (const auto& e : stored_body.at("events"))
    stored_ids.insert(e.at("id").get<std::string>());
  CHECK(stored_ids == ids);
}

TEST_CASE("events out: without backfill only what comes later, the filter "
          "applies to live events",
          "[integration][events][websocket]") {
  deployd_process server(live_clock());
  create_flow(server, "old");
  ws_client sub(server.port(), "/api/events/out");
  sub.authenticate();
  json m = subscribe_all(false);
  m["filter"]["resource"] = {{"id_prefix", json::array({"prefect.flow."})}};
  m["filter"]["event"] = {{"name", json::array({"prefect.flow.created"})}};
  sub.send(m);
  // Give the subscription time to join before the next write (a write that
  // lands before it joined would be backfill, which is off).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto pool = server.post("/api/work_pools/",
                                json{{"name", "p"}, {"type", "process"}});
  REQUIRE(pool.status == 201); // a work-pool event: filtered out
  create_flow(server, "new");
  const auto got = sub.read_json();
  CHECK(got.at("event").at("event") == "prefect.flow.created");
  CHECK(got.at("event").at("resource").at("prefect.resource.name") == "new");
}

TEST_CASE("events out: subscribers filtered by resource ids get exactly "
          "their resources' events, once each, beside unfiltered ones",
          "[integration][events][websocket]") {
  deployd_process server(live_clock());
  // Event n about resource test.thing.<r>.
  const auto about = [](int n, int r) {
    auto e = client_event(n);
    e["resource"]["prefect.resource.id"] = "test.thing." + std::to_string(r);
    return e;
  };
  const auto subscriber = [&](json resource) {
    auto sub = std::make_unique<ws_client>(server.port(), "/api/events/out");
    sub->authenticate();
    json m = subscribe_all(false);
    m["filter"]["resource"] = std::move(resource);
    sub->send(m);
    return sub;
  };
  // One id named twice: still one delivery per event.
  auto twice = subscriber({{"id", json::array({"test.thing.1", "test.thing.1",
                                               "test.thing.2"})}});
  auto three = subscriber({{"id", json::array({"test.thing.3"})}});
  auto every = subscriber({{"id_prefix", json::array({"test.thing."})}});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(server.post("/api/events", json::array({about(1, 1), about(2, 2),
                                                  about(3, 3), about(4, 4),
                                                  about(5, 1)}))
              .status == 204);
  const auto n_of = [](ws_client& c) {
    return c.read_json().at("event").at("payload").at("n").get<int>();
  };
  CHECK(n_of(*twice) == 1);
  CHECK(n_of(*twice) == 2);
  CHECK(n_of(*twice) == 5);
  CHECK(n_of(*three) == 3);
  for (int n = 1; n <= 5; ++n)
    CHECK(n_of(*every) == n);
  // A subscriber that leaves is dropped from the index: the others go on.
  twice.reset();
  REQUIRE(server.post("/api/events", json::array({about(6, 3)})).status == 204);
  CHECK(n_of(*three) == 6);
  CHECK(n_of(*every) == 6);
}

TEST_CASE("events websockets: the handshake's refusals and close codes",
          "[integration][events][websocket]") {
  temp_dir dir;
  auto options = with_config(dir, "[api]\nauth_string = admin:pass\n");
  options.clock = "system";
  deployd_process server(options);

  SECTION("a first message that is not auth") {
    ws_client c(server.port(), "/api/events/out");
    REQUIRE_FALSE(c.handshake_error());
    c.send(json{{"type", "filter"}});
    const auto why = c.closed();
    CHECK(why.code == 1008);
    CHECK(reason_of(why) == "Expected 'auth' message");
  }
  SECTION("not JSON at all") {
    ws_client c(server.port(), "/api/events/in");
    c.send(std::string("hello"));
    CHECK(reason_of(c.closed()) == "Expected 'auth' message");
  }
  SECTION("no token") {
    ws_client c(server.port(), "/api/events/out");
    c.send(json{{"type", "auth"}, {"token", nullptr}});
    const auto why = c.closed();
    CHECK(why.code == 1008);
    CHECK(reason_of(why) == "Auth required but no token provided");
  }
  SECTION("a wrong token") {
    ws_client c(server.port(), "/api/events/out");
    c.send(json{{"type", "auth"}, {"token", "admin:nope"}});
    const auto why = c.closed();
    CHECK(why.code == 1008);
    CHECK(reason_of(why) == "Invalid token");
  }
  SECTION("the raw auth string is the token; then a bad filter message") {
    ws_client c(server.port(), "/api/events/out");
    c.authenticate("admin:pass");
    c.send(json{{"type", "subscribe"}});
    const auto why = c.closed();
    CHECK(why.code == 1002);
    CHECK(reason_of(why) == "Expected 'filter' message");
  }
  SECTION("an invalid filter") {
    ws_client c(server.port(), "/api/events/out");
    c.authenticate("admin:pass");
    c.send(json{{"type", "filter"}, {"filter", {{"occurred", 5}}}});
    const auto why = c.closed();
    CHECK(why.code == 1002);
    CHECK(reason_of(why).rfind("Invalid filter: 1 validation error",
                                        0) == 0);
  }
  SECTION("no prefect subprotocol while auth is on: refused before the "
          "upgrade") {
    ws_client c(server.port(), "/api/events/out", false);
    CHECK(c.handshake_error() == websocket::error::upgrade_declined);
    CHECK(c.handshake_status() == 403);
  }
}

TEST_CASE("events in: events are recorded before the next one is read, "
          "deduplicated by id, a bad one closes the socket",
          "[integration][events][websocket]") {
  deployd_process server(live_clock());
  {
    ws_client in(server.port(), "/api/events/in");
    REQUIRE_FALSE(in.handshake_error());
    in.authenticate();
    for (int i = 0; i < 30; ++i)
      in.send(client_event(i));
    in.send(client_event(7)); // a resend after a reconnect: stored once
    in.close(); // answered once everything before it is recorded
  }
  const auto stored = server.post(
      "/api/events/filter",
      json{{"filter",
            {{"event", {{"name", json::array({"test.thing.happened"})}}},
             {"occurred", {{"since", now_iso(-3600)}}}}},
           {"limit", 50}});
  REQUIRE(stored.status == 200);
  CHECK(stored.json_body().at("total") == 30);

  SECTION("legacy mode (no subprotocol, no auth string): no auth message") {
    ws_client in(server.port(), "/api/events/in", false);
    REQUIRE_FALSE(in.handshake_error());
    in.send(client_event(100));
    in.close();
    const auto r = server.post(
        "/api/events/filter",
        json{{"filter", {{"id", {{"id", json::array({client_event(100).at("id")})}}},
                         {"occurred", {{"since", now_iso(-3600)}}}}}});
    CHECK(r.json_body().at("total") == 1);
  }
  SECTION("an invalid event") {
    ws_client in(server.port(), "/api/events/in");
    in.authenticate();
    in.send(json{{"event", "x"}});
    const auto why = in.closed();
    CHECK(why.code == 1011);
    CHECK(reason_of(why).rfind("Invalid event: ", 0) == 0);
  }
}

TEST_CASE("events out: a subscriber that falls behind is closed with 1013 and "
          "resumes with a backfill",
          "[integration][events][websocket]") {
  temp_dir dir;
  auto options = with_config(dir, "[events]\nwebsocket_buffer_events = 4\n");
  options.clock = "system";
  deployd_process server(options);
  ws_client sub(server.port(), "/api/events/out");
  sub.authenticate();
  sub.send(subscribe_all(false));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // One commit of 50 events reaches the subscriber in one go: more than its
  // buffer holds.
  json batch = json::array();
  for (int i = 0; i < 50; ++i)
    batch.push_back(client_event(i));
  REQUIRE(server.post("/api/events", batch).status == 204);
  const auto why = sub.closed();
  CHECK(why.code == 1013);
  CHECK(reason_of(why).find("fell behind") != std::string::npos);
  CHECK(sub.messages() < 50);
  ws_client again(server.port(), "/api/events/out");
  again.authenticate();
  again.send(subscribe_all(true));
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i)
    ids.insert(again.read_json().at("event").at("id").get<std::string>());
  CHECK(ids.size() == 50);
}

TEST_CASE("events out: a subscriber joining during writes misses nothing and "
          "gets nothing twice",
          "[integration][events][websocket]") {
  deployd_process server(live_clock());
  constexpr int total = 150;
  std::atomic<int> created{0};
  std::thread writer([&] {
    for (int i = 0; i < total; ++i) {
      create_flow(server, "f" + std::to_string(i));
      ++created;
    }
  });
  while (created < total / 3)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ws_client sub(server.port(), "/api/events/out");
  sub.authenticate();
  sub.send(subscribe_all());
  std::vector<std::string> names;
  std::set<std::string> ids;
  for (int i = 0; i < total; ++i) {
    const auto e = sub.read_json().at("event");
    CHECK(ids.insert(e.at("id").get<std::string>()).second);
    names.push_back(e.at("resource").at("prefect.resource.name"));
  }
  writer.join();
  // Every flow's event, each once, in the order the flows were created.
  for (int i = 0; i < total; ++i)
    CHECK(names[static_cast<std::size_t>(i)] == "f" + std::to_string(i));
}
