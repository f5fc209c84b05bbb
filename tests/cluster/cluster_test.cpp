// The cluster end to end: real etcd members (tests/support/etcd_cluster) and
// real deployd nodes (tests/integration/harness) on free 127.0.0.1 ports,
// over real HTTP. Every test ends by stopping the nodes and comparing their
// logs byte for byte (`deployd events`) and running `deployd verify` on each
// replica.
#include "storage/etcd/replicated_log.hpp"
#include "storage/log_entry.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"
#include "tests/support/etcd_cluster.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

using namespace deployd;
using namespace deployd::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// One deployd node of the cluster: a data dir that survives restarts.
class node {
public:
  node(std::string name, const etcd_cluster& etcd, const temp_dir& root,
       std::vector<std::string> extra = {})
      : name_(std::move(name)), endpoints_(etcd.endpoints_csv()),
        data_dir_((root.path() / name_).string()), extra_(std::move(extra)) {
    start();
  }

  void start() {
    process_options o;
    o.data_dir = data_dir_;
    // A real clock and random ids: several nodes lead in turn, and ids
    // drawn from one seed would repeat.
    o.clock.clear();
    o.id_seed = 0;
    o.extra_args = {"--etcd", endpoints_, "--node", name_, "--peer-port", "0"};
    o.extra_args.insert(o.extra_args.end(), extra_.begin(), extra_.end());
    process_.emplace(o);
  }
  void restart() {
    process_.reset();
    start();
  }
  [[nodiscard]] deployd_process& http() {
    return *process_;
  }
  [[nodiscard]] bool running() const {
    return process_.has_value();
  }
  void kill() {
    process_->kill();
    process_.reset();
  }
  void stop() {
    if (process_)
      CHECK(process_->stop() == 0);
    process_.reset();
  }
  void signal(int sig) {
    ::kill(process_->pid(), sig);
  }
  [[nodiscard]] const std::string& name() const {
    return name_;
  }
  [[nodiscard]] const std::string& data_dir() const {
    return data_dir_;
  }

  // GET /api/deployd/cluster, or null when the node does not answer.
  json status() {
    try {
      auto r = http().get("/api/deployd/cluster");
      return r.status == 200 ? r.json_body() : json();
    } catch (const std::exception&) {
      return json();
    }
  }
  bool ready() {
    try {
      return http().get("/api/ready").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }

private:
  std::string name_;
  std::string endpoints_;
  std::string data_dir_;
  std::vector<std::string> extra_;
  std::optional<deployd_process> process_;
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// Index of the node every running node names as leader, once they agree.
std::optional<std::size_t> agreed_leader(std::vector<std::unique_ptr<node>>& nodes) {
  std::optional<std::string> leader;
  for (auto& n : nodes) {
    if (!n->running())
      continue;
    auto s = n->status();
    if (s.is_null() || !s["leader"].is_string())
      return std::nullopt;
    if (leader && *leader != s["leader"].get<std::string>())
      return std::nullopt;
    leader = s["leader"].get<std::string>();
  }
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (leader && nodes[i]->running() && nodes[i]->name() == *leader &&
        nodes[i]->status().value("role", "") == "leader")
      return i;
  return std::nullopt;
}

std::size_t wait_leader(std::vector<std::unique_ptr<node>>& nodes,
                        std::chrono::milliseconds timeout = 20s) {
  std::optional<std::size_t> found;
  REQUIRE(eventually([&] { return (found = agreed_leader(nodes)).has_value(); },
                     timeout));
  return *found;
}

std::vector<std::unique_ptr<node>> start_nodes(const etcd_cluster& etcd,
                                               const temp_dir& root,
                                               std::size_t count,
                                               std::vector<std::string> extra = {}) {
  std::vector<std::unique_ptr<node>> nodes;
  for (std::size_t i = 0; i < count; ++i)
    nodes.push_back(
      std::make_unique<node>("n" + std::to_string(i + 1), etcd, root, extra));
  for (auto& n : nodes)
    REQUIRE(eventually([&] { return n->ready(); }, 30s));
  return nodes;
}

std::uint64_t position_of(const http_reply& r) {
  REQUIRE(r.headers.contains("x-deployd-position"));
  return std::stoull(r.headers.at("x-deployd-position"));
}

// Stops every node, then checks that their logs are identical and that a
// replay of each matches its read model.
void check_replicas(std::vector<std::unique_ptr<node>>& nodes) {
  for (auto& n : nodes)
    n->stop();
  std::optional<std::string> first;
  for (auto& n : nodes) {
    auto events = run_tool({"events", "--data-dir", n->data_dir()});
    REQUIRE(events.status == 0);
    if (!first)
      first = events.out;
    else
      CHECK(events.out == *first);
    auto verified = run_tool({"verify", "--data-dir", n->data_dir()});
    INFO(n->name() << ": " << verified.out);
    CHECK(verified.status == 0);
  }
  REQUIRE(first);
  CHECK_FALSE(first->empty());
}

struct acked_flow {
  std::string name;
  std::uint64_t position = 0;
};

// Writers creating flows with unique names through every live node in turn,
// until told to stop. Records what was acknowledged and when.
class load {
public:
  load(std::vector<std::unique_ptr<node>>& nodes, std::size_t threads,
       std::string prefix)
      : nodes_(nodes), prefix_(std::move(prefix)) {
    for (std::size_t t = 0; t < threads; ++t)
      threads_.emplace_back([this, t] { run(t); });
  }
  ~load() {
    stop();
  }
  void stop() {
    stopping_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  // Nodes listed here are not sent to (killed, paused).
  void avoid(std::size_t i) {
    std::lock_guard g{mutex_};
    avoided_.insert(i);
  }
  void allow(std::size_t i) {
    std::lock_guard g{mutex_};
    avoided_.erase(i);
  }
  std::vector<acked_flow> acked() {
    std::lock_guard g{mutex_};
    return acked_;
  }
  std::vector<steady::time_point> ack_times() {
    std::lock_guard g{mutex_};
    return ack_times_;
  }
  std::size_t failures() const {
    return failures_;
  }

private:
  void run(std::size_t t) {
    std::size_t n = 0;
    while (!stopping_) {
      const auto target = (t + n) % nodes_.size();
      {
        std::lock_guard g{mutex_};
        if (avoided_.contains(target) || !nodes_[target]->running()) {
          ++n;
          continue;
        }
      }
      const auto name = prefix_ + "-" + std::to_string(t) + "-" + std::to_string(n++);
      try {
        auto r = nodes_[target]->http().post("/api/flows/", json{{"name", name}});
        std::lock_guard g{mutex_};
        if (r.status == 201) {
          acked_.push_back({name, position_of(r)});
          ack_times_.push_back(steady::now());
        } else {
          ++failures_;
        }
      } catch (const std::exception&) {
        ++failures_; // a node that died under us
      }
    }
  }

  std::vector<std::unique_ptr<node>>& nodes_;
  std::string prefix_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> failures_{0};
  std::mutex mutex_;
  std::set<std::size_t> avoided_;
  std::vector<acked_flow> acked_;
  std::vector<steady::time_point> ack_times_;
  std::vector<std::thread> threads_;
};

// Every acknowledged flow is on every running node, with its name.
void check_acked_everywhere(std::vector<std::unique_ptr<node>>& nodes,
                            const std::vector<acked_flow>& acked) {
  std::uint64_t newest = 0;
  for (const auto& a : acked)
    newest = std::max(newest, a.position);
  for (auto& n : nodes) {
    if (!n->running())
      continue;
    std::size_t missing = 0;
    for (const auto& a : acked) {
      auto r = n->http().request(
        "GET", "/api/flows/name/" + a.name, std::nullopt,
        {{"X-Deployd-Min-Position", std::to_string(newest)}});
      if (r.status != 200 || r.json_body().value("name", "") != a.name)
        ++missing;
    }
    INFO(n->name() << " misses acknowledged flows");
    CHECK(missing == 0);
  }
}

// Time from `event` to the first acknowledgement after it; -1 when none.
// (Answers already on their way at `event` count only after 50 ms.)
std::chrono::milliseconds first_ack_after(std::vector<steady::time_point> times,
                                          steady::time_point event) {
  std::sort(times.begin(), times.end());
  for (const auto& t : times)
    if (t > event + 50ms)
      return std::chrono::duration_cast<std::chrono::milliseconds>(t - event);
  return std::chrono::milliseconds{-1};
}

} // namespace

TEST_CASE("a cluster of three nodes serves writes through any node and keeps "
          "identical replicas",
          "[cluster][integration]") {
  etcd_cluster etcd;
  temp_dir root;
  auto nodes = start_nodes(etcd, root, 3);
  const auto leader = wait_leader(nodes);
  const auto follower = (leader + 1) % nodes.size();
  auto& f = nodes[follower]->http();

  // A write through a follower: answered once that follower has it.
  auto flow = f.post("/api/flows/", json{{"name", "etl"}});
  REQUIRE(flow.status == 201);
  const auto flow_id = flow.json_body()["id"].get<std::string>();
  const auto at = position_of(flow);
  CHECK(at >= 1);
  auto read = f.get("/api/flows/" + flow_id);
  CHECK(read.status == 200);
  CHECK(position_of(read) >= at);
  auto deployment = f.post("/api/deployments/",
                           json{{"name", "d1"}, {"flow_id", flow_id},
                                {"tags", {"x"}}, {"parameters", {{"n", 1}}}});
  REQUIRE(deployment.status == 201);
  const auto deployment_id = deployment.json_body()["id"].get<std::string>();
  // Rejections and no-ops come back through the forwarder too (an unknown
  // flow is the reference's 409).
  auto orphan = f.post("/api/deployments/",
                       json{{"name", "d2"},
                            {"flow_id", "00000000-0000-4000-8000-000000000000"}});
  CHECK(orphan.status == 409);
  CHECK(orphan.json_body().contains("detail"));
  CHECK(f.post("/api/flows/", json{{"name", "etl"}}).status == 200);
  auto paused = f.request("POST", "/api/deployments/" + deployment_id +
                                    "/pause_deployment");
  CHECK(paused.status == 200);

  // Another node sees it once it has applied the position.
  const auto newest = position_of(paused);
  auto& other = nodes[(follower + 1) % nodes.size()]->http();
  auto seen = other.request("GET", "/api/deployments/" + deployment_id,
                            std::nullopt,
                            {{"X-Deployd-Min-Position", std::to_string(newest)}});
  REQUIRE(seen.status == 200);
  CHECK(seen.json_body()["paused"] == true);
  CHECK(other.request("GET", "/api/health", std::nullopt,
                      {{"X-Deployd-Min-Position", "x"}})
          .status == 400);

  // The status route, from a follower and from the leader.
  auto fs = nodes[follower]->status();
  CHECK(fs["node"] == nodes[follower]->name());
  CHECK(fs["role"] == "follower");
  CHECK(fs["leader"] == nodes[leader]->name());
  CHECK(fs["applied"].get<std::uint64_t>() >= newest);
  CHECK(eventually([&] { return nodes[leader]->status()["members"].size() == 3; },
                   5s));
  CHECK(nodes[leader]->status()["role"] == "leader");
  // The same view in the metrics: role, applied position, head and lag.
  const auto fm = f.get("/metrics").body;
  CHECK(metric_value(fm, R"m(deployd_cluster_role{role="follower"})m") == 1);
  CHECK(metric_value(fm, R"m(deployd_cluster_role{role="leader"})m") == 0);
  CHECK(metric_value(fm, "deployd_cluster_applied_position") >=
        static_cast<double>(newest));
  CHECK(metric_value(fm, "deployd_cluster_log_head") >=
        metric_value(fm, "deployd_cluster_applied_position"));
  CHECK(metric_value(fm, "deployd_cluster_replication_lag") >= 0);
  CHECK(metric_value(fm, "deployd_cluster_ready") == 1);
  const auto lm = nodes[leader]->http().get("/metrics").body;
  CHECK(metric_value(lm, R"m(deployd_cluster_role{role="leader"})m") == 1);
  CHECK(metric_value(lm, "deployd_cluster_etcd_reachable") == 1);
  auto cs = run_tool({"cluster", "status", "--etcd", etcd.endpoints_csv()});
  REQUIRE(cs.status == 0);
  const auto cluster = json::parse(cs.out);
  CHECK(cluster["leader"]["node"] == nodes[leader]->name());
  CHECK(cluster["log_head"].get<std::uint64_t>() >= newest);
  CHECK(cluster["etcd"].size() == 3);

  // An empty node joins later and catches up before it is ready.
  nodes.push_back(std::make_unique<node>("n4", etcd, root));
  REQUIRE(eventually([&] { return nodes.back()->ready(); }, 30s));
  auto late = nodes.back()->http().get("/api/deployments/" + deployment_id);
  REQUIRE(late.status == 200);
  CHECK(late.json_body() == seen.json_body());

  // The Prefect events each node derives from its replica: the same events
  // with the same ids everywhere (issue 16).
  std::optional<json> feed;
  for (auto& n : nodes) {
    auto events = n->http().request(
      "POST", "/api/events/filter", R"({"limit":50})",
      {{"Content-Type", "application/json"},
       {"X-Deployd-Min-Position", std::to_string(newest)}});
    REQUIRE(events.status == 200);
    auto body = events.json_body();
    body.erase("next_page"); // absolute: names the node's own address
    CHECK(body["total"] == 2); // flow and deployment created; pause: none
    if (!feed)
      feed = body;
    else
      CHECK(body == *feed);
  }

  check_replicas(nodes);
}

TEST_CASE("SIGKILL of the leading node under load: another node leads and no "
          "acknowledged write is lost",
          "[cluster][integration][failover]") {
  etcd_cluster etcd;
  temp_dir root;
  auto nodes = start_nodes(etcd, root, 3);
  const auto leader = wait_leader(nodes);
  load writers(nodes, 6, "kill");
  std::this_thread::sleep_for(2s);
  const auto before = writers.acked().size();
  REQUIRE(before > 0);
  writers.avoid(leader);
  nodes[leader]->kill();
  const auto killed_at = steady::now();
  // Writes resume through the others.
  REQUIRE(eventually([&] { return writers.acked().size() > before + 20; }, 15s));
  std::this_thread::sleep_for(1s);
  writers.stop();
  const auto resumed = first_ack_after(writers.ack_times(), killed_at);
  INFO("first acknowledgement " << resumed.count() << " ms after the kill; "
       << writers.failures() << " requests failed");
  std::fprintf(stderr, "cluster_test: leader SIGKILL: writes resumed after %lld ms, "
               "%zu acknowledged, %zu failed\n",
               static_cast<long long>(resumed.count()), writers.acked().size(),
               writers.failures());
  CHECK(resumed.count() >= 0);
  CHECK(resumed <= 5s);
  CHECK(agreed_leader(nodes) != leader);

  // The killed node comes back with its data dir and catches up.
  nodes[leader]->start();
  REQUIRE(eventually([&] { return nodes[leader]->ready(); }, 30s));
  check_acked_everywhere(nodes, writers.acked());
  check_replicas(nodes);
}

TEST_CASE("a leader paused past its lease is deposed and appends nothing "
          "after it resumes",
          "[cluster][integration][failover]") {
  etcd_cluster etcd;
  temp_dir root;
  auto nodes = start_nodes(etcd, root, 3);
  const auto old = wait_leader(nodes);
  load writers(nodes, 4, "pause");
  std::this_thread::sleep_for(1s);
  // What the paused leader wrote so far, and its commit id prefix.
  const auto old_name = nodes[old]->name();
  writers.avoid(old);
  nodes[old]->signal(SIGSTOP);
  // Its in-flight requests now hang; the others go on once a new leader
  // holds the lease.
  std::this_thread::sleep_for(4s);
  auto client = storage::etcd::client::connect(etcd.endpoints());
  REQUIRE(client);
  storage::etcd::replicated_log rlog(**client, "/deployd");
  auto head_at_resume = rlog.read_head(2s);
  REQUIRE(head_at_resume);
  // Which commit ids the old leader used (its lease) before the pause.
  std::set<std::string> old_prefixes;
  {
    auto page = rlog.read(1, 0, 0, 5s);
    REQUIRE(page);
    for (const auto& e : page->entries) {
      auto entry = storage::decode_log_entry(e.value);
      REQUIRE(entry);
      std::string id(entry->commit_id);
      if (id.starts_with(old_name + "/"))
        old_prefixes.insert(id.substr(0, id.rfind('/') + 1));
    }
  }
  REQUIRE_FALSE(old_prefixes.empty());
  nodes[old]->signal(SIGCONT);
  writers.allow(old);
  std::this_thread::sleep_for(3s);
  writers.stop();
  // Nothing after the pause carries the old lease's commit ids.
  auto page = rlog.read(head_at_resume->next_seq, 0, 0, 5s);
  REQUIRE(page);
  for (const auto& e : page->entries) {
    auto entry = storage::decode_log_entry(e.value);
    REQUIRE(entry);
    std::string id(entry->commit_id);
    for (const auto& p : old_prefixes) {
      INFO("entry " << e.seq << " (head when the old leader resumed: "
                    << head_at_resume->next_seq << ") has commit id " << id);
      CHECK_FALSE(id.starts_with(p));
    }
  }
  REQUIRE(eventually([&] { return agreed_leader(nodes).has_value(); }, 10s));
  check_acked_everywhere(nodes, writers.acked());
  check_replicas(nodes);
}

TEST_CASE("SIGKILL of the etcd leader under load: writes resume and nothing "
          "acknowledged is lost",
          "[cluster][integration][failover]") {
  etcd_cluster etcd;
  temp_dir root;
  auto nodes = start_nodes(etcd, root, 3);
  wait_leader(nodes);
  load writers(nodes, 6, "etcdkill");
  std::this_thread::sleep_for(2s);
  const auto before = writers.acked().size();
  const auto member = etcd.wait_for_leader();
  etcd.kill(member);
  const auto killed_at = steady::now();
  REQUIRE(eventually([&] { return writers.acked().size() > before + 20; }, 15s));
  std::this_thread::sleep_for(1s);
  writers.stop();
  const auto resumed = first_ack_after(writers.ack_times(), killed_at);
  INFO("first acknowledgement " << resumed.count() << " ms after the kill");
  std::fprintf(stderr, "cluster_test: etcd leader SIGKILL: writes resumed after "
               "%lld ms, %zu acknowledged, %zu failed\n",
               static_cast<long long>(resumed.count()), writers.acked().size(),
               writers.failures());
  CHECK(resumed.count() >= 0);
  CHECK(resumed <= 5s);
  etcd.restart(member);
  check_acked_everywhere(nodes, writers.acked());
  check_replicas(nodes);
}

TEST_CASE("with etcd down writes answer 503 within the request timeout and "
          "reads go on; writes come back with etcd",
          "[cluster][integration][failover]") {
  etcd_cluster etcd;
  temp_dir root;
  const auto config = root.path() / "timeouts.ini";
  std::ofstream(config) << "[http]\nrequest_timeout_ms = 3000\n";
  auto nodes = start_nodes(etcd, root, 2, {"--config", config.string()});
  const auto leader = wait_leader(nodes);
  auto made = nodes[0]->http().post("/api/flows/", json{{"name", "before"}});
  REQUIRE(made.status == 201);
  const auto id = made.json_body()["id"].get<std::string>();
  REQUIRE(nodes[1]
            ->http()
            .request("GET", "/api/flows/" + id, std::nullopt,
                     {{"X-Deployd-Min-Position", std::to_string(position_of(made))}})
            .status == 200);
  for (std::size_t i = 0; i < etcd.size(); ++i)
    etcd.kill(i);
  for (std::size_t i : {leader, (leader + 1) % nodes.size()}) {
    const auto t0 = steady::now();
    auto w = nodes[i]->http().post("/api/flows/", json{{"name", "during"}});
    const auto took = steady::now() - t0;
    CHECK(w.status == 503);
    CHECK(took < 4500ms);
    auto r = nodes[i]->http().get("/api/flows/" + id);
    CHECK(r.status == 200);
  }
  etcd.restart_stopped();
  CHECK(eventually(
    [&] {
      return nodes[1]->http().post("/api/flows/", json{{"name", "after"}})
               .status == 201;
    },
    30s));
  wait_leader(nodes);
  check_replicas(nodes);
}

TEST_CASE("etcd out of space: writes answer 503 and change nothing, reads go "
          "on, and writes come back once space is freed",
          "[cluster][integration][nospace]") {
  constexpr std::size_t quota = 4 * 1024 * 1024;
  etcd_cluster etcd{3, {"--quota-backend-bytes=" + std::to_string(quota)}};
  // Someone else's keys take most of the quota; deleting them frees it later.
  const std::string filler(100 * 1024, 'f');
  for (int i = 0; i < 18; ++i)
    REQUIRE(etcd.etcdctl({"put", "/filler/" + std::to_string(i), filler}).exit_code == 0);
  temp_dir root;
  auto nodes = start_nodes(etcd, root, 2);
  wait_leader(nodes);
  auto flow = nodes[0]->http().post("/api/flows/", json{{"name", "big"}});
  REQUIRE(flow.status == 201);
  const auto flow_id = flow.json_body()["id"].get<std::string>();

  const std::string description(20 * 1024, 'd');
  std::vector<std::pair<std::string, std::string>> acked; // id, name
  std::optional<std::size_t> refused_on;
  std::uint64_t newest = position_of(flow);
  for (int i = 0; i < 400 && !refused_on; ++i) {
    const auto via = static_cast<std::size_t>(i) % nodes.size();
    const auto name = "d" + std::to_string(i);
    auto r = nodes[via]->http().post(
      "/api/deployments/",
      json{{"name", name}, {"flow_id", flow_id}, {"description", description}});
    if (r.status == 201) {
      acked.emplace_back(r.json_body()["id"].get<std::string>(), name);
      newest = std::max(newest, position_of(r));
    } else {
      INFO(r.body);
      REQUIRE(r.status == 503);
      refused_on = via;
    }
  }
  REQUIRE(refused_on);
  CHECK_FALSE(acked.empty());
  auto alarms = etcd.etcdctl({"alarm", "list"});
  CHECK(alarms.output.find("NOSPACE") != std::string::npos);

  // Every node: writes refused (nothing appended), reads served.
  for (auto& n : nodes) {
    auto w = n->http().post("/api/flows/", json{{"name", "refused"}});
    CHECK(w.status == 503);
    CHECK(n->http().get("/api/flows/name/refused").status == 404);
    for (const auto& [id, name] : acked) {
      auto r = n->http().request("GET", "/api/deployments/" + id, std::nullopt,
                                 {{"X-Deployd-Min-Position", std::to_string(newest)}});
      CHECK(r.status == 200);
    }
  }

  // The operator frees space: the filler goes, etcd compacts, defragments and
  // is disarmed. Writes resume without restarting any node.
  REQUIRE(etcd.etcdctl({"del", "--prefix", "/filler/"}).exit_code == 0);
  auto status = etcd.etcdctl({"endpoint", "status", "-w", "json"}, 0);
  REQUIRE(status.exit_code == 0);
  const auto revision =
    json::parse(status.output)[0]["Status"]["header"]["revision"].get<std::int64_t>();
  REQUIRE(etcd.etcdctl({"compact", std::to_string(revision)}).exit_code == 0);
  REQUIRE(etcd.etcdctl({"defrag"}).exit_code == 0);
  REQUIRE(etcd.etcdctl({"alarm", "disarm"}).exit_code == 0);
  for (auto& n : nodes) {
    CHECK(eventually(
      [&] {
        return n->http().post("/api/flows/", json{{"name", "after-" + n->name()}})
                 .status == 201;
      },
      30s));
  }
  check_replicas(nodes);
}

TEST_CASE("every node streams the events it applies to its websocket "
          "subscribers (issue 16)",
          "[cluster][integration][websocket]") {
  etcd_cluster etcd;
  temp_dir root;
  auto nodes = start_nodes(etcd, root, 3);
  const auto leader = wait_leader(nodes);
  const auto follower = (leader + 1) % nodes.size();
  auto& l = nodes[leader]->http();
  REQUIRE(l.post("/api/flows/", json{{"name", "before"}}).status == 201);

  // A follower's subscriber: a backfill from its replica, then live events
  // as the follower applies them.
  ws_client sub(nodes[follower]->http().port(), "/api/events/out");
  REQUIRE_FALSE(sub.handshake_error());
  sub.authenticate();
  sub.send(subscribe_all());
  const auto first = sub.read_json().at("event");
  CHECK(first.at("resource").at("prefect.resource.name") == "before");
  std::vector<std::string> ids{first.at("id").get<std::string>()};
  for (int i = 0; i < 5; ++i)
    REQUIRE(l.post("/api/flows/", json{{"name", "f" + std::to_string(i)}})
                .status == 201);
  for (int i = 0; i < 5; ++i) {
    const auto e = sub.read_json().at("event");
    CHECK(e.at("resource").at("prefect.resource.name") ==
          "f" + std::to_string(i));
    ids.push_back(e.at("id").get<std::string>());
  }
  // The leader's feed has the same events with the same ids.
  auto feed = l.request("POST", "/api/events/filter",
                        R"({"filter":{"order":"ASC"},"limit":50})",
                        {{"Content-Type", "application/json"}});
  REQUIRE(feed.status == 200);
  const auto body = feed.json_body();
  std::vector<std::string> leader_ids;
  for (const auto& e : body.at("events"))
    leader_ids.push_back(e.at("id").get<std::string>());
  CHECK(leader_ids == ids);
}

namespace {

// Now, as the events API writes times (the nodes run on the real clock).
std::string utc_now() {
  const auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

json client_event(int n, const std::string& occurred = utc_now()) {
  char id[40];
  std::snprintf(id, sizeof id, "0192f5e0-0000-7000-8000-%012d", n);
  return {{"occurred", occurred},
          {"event", "my.client.event." + std::to_string(n)},
          {"resource", {{"prefect.resource.id", "my.thing." + std::to_string(n)}}},
          {"id", id}};
}

// The client events a node serves (oldest first), whole.
std::vector<json> client_events_of(node& n) {
  auto r = n.http().post(
    "/api/events/filter",
    json{{"filter",
          {{"order", "ASC"},
           {"occurred",
            {{"since", "2000-01-01T00:00:00Z"}, {"until", "2100-01-01T00:00:00Z"}}},
           {"event", {{"prefix", {"my.client."}}}}}},
         {"limit", 50}});
  if (r.status != 200)
    return {};
  return r.json_body().at("events").get<std::vector<json>>();
}

} // namespace

TEST_CASE("client events and Idempotency-Key answers are the same on every "
          "node, through a failover (issue 16)",
          "[cluster][integration][events]") {
  etcd_cluster etcd;
  temp_dir root;
  const auto ini = root.path() / "deployd.ini";
  std::ofstream(ini) << "[events]\nretention_seconds = 86400\n"
                        "retention_sweep_seconds = 0.2\n";
  auto nodes = start_nodes(etcd, root, 3, {"--config", ini.string()});
  const auto leader = wait_leader(nodes);
  const auto a = (leader + 1) % nodes.size();
  const auto b = (leader + 2) % nodes.size();

  // Sent to a follower, then again (a client unsure it arrived) with one
  // more to the other follower: stored once, in the order decided.
  json first = json::array({client_event(1), client_event(2), client_event(3)});
  REQUIRE(nodes[a]->http().post("/api/events", first).status == 204);
  json again = first;
  again.push_back(client_event(4));
  REQUIRE(nodes[b]->http().post("/api/events", again).status == 204);

  // A keyed write answered by the leader.
  const std::map<std::string, std::string> keyed = {
    {"Content-Type", "application/json"}, {"Idempotency-Key", "retry-me-1"}};
  const auto made = nodes[leader]->http().request(
    "POST", "/api/flows/", R"({"name":"keyed"})", keyed);
  REQUIRE(made.status == 201);

  std::vector<json> seen;
  for (auto& n : nodes) {
    INFO(n->name() << " serves the client events");
    REQUIRE(eventually([&] { return client_events_of(*n).size() == 4; }, 10s));
    const auto mine = client_events_of(*n);
    if (seen.empty())
      seen = mine;
    else
      CHECK(mine == seen); // ids, order and `received`: one decision
  }
  REQUIRE(seen.size() == 4);
  for (int i = 0; i < 4; ++i)
    CHECK(seen[static_cast<std::size_t>(i)].at("event") ==
          "my.client.event." + std::to_string(i + 1));

  // The leader dies; the retry of the keyed write on another node answers
  // the first response, and appends nothing.
  nodes[leader]->kill();
  const auto next = wait_leader(nodes);
  const auto retried =
    nodes[a]->http().request("POST", "/api/flows/", R"({"name":"keyed"})", keyed);
  CHECK(retried.status == made.status);
  CHECK(retried.json_body() == made.json_body());
  // The new leader stores client events everyone serves, after the others;
  // one that is past the retention is swept on every node.
  REQUIRE(nodes[next]->http()
            .post("/api/events",
                  json::array({client_event(5), client_event(1),
                               client_event(6, "2020-01-01T00:00:00Z")}))
            .status == 204);
  nodes[leader]->start();
  REQUIRE(eventually([&] { return nodes[leader]->ready(); }, 30s));
  std::vector<json> after;
  for (auto& n : nodes) {
    INFO(n->name() << " serves the new leader's client event");
    REQUIRE(eventually([&] { return client_events_of(*n).size() == 5; }, 10s));
    const auto mine = client_events_of(*n);
    if (after.empty())
      after = mine;
    else
      CHECK(mine == after);
  }
  CHECK(std::vector<json>(after.begin(), after.begin() + 4) == seen);
  CHECK(after.back().at("event") == "my.client.event.5");
  check_replicas(nodes);
}
