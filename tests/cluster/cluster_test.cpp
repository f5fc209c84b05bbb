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
       std::vector<std::string> extra = {},
       std::map<std::string, std::string> env = {})
      : name_(std::move(name)), endpoints_(etcd.endpoints_csv()),
        data_dir_((root.path() / name_).string()), extra_(std::move(extra)),
        env_(std::move(env)) {
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
    // Settings in the environment turn the background services on; the
    // node's log then goes to <data dir>.log.
    o.extra_env = env_;
    o.background_services = !env_.empty();
    if (!env_.empty())
      o.stderr_file = data_dir_ + ".log";
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
  std::map<std::string, std::string> env_;
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

std::vector<std::unique_ptr<node>> start_nodes(
  const etcd_cluster& etcd, const temp_dir& root, std::size_t count,
  std::vector<std::string> extra = {},
  std::map<std::string, std::string> env = {}) {
  std::vector<std::unique_ptr<node>> nodes;
  for (std::size_t i = 0; i < count; ++i)
    nodes.push_back(std::make_unique<node>("n" + std::to_string(i + 1), etcd,
                                           root, extra, env));
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
          "reads go on, and writes come back with etcd",
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

namespace {

// The flow runs of deployment `id` that `n` has once it applied `position`.
std::int64_t runs_of(node& n, const std::string& id, std::uint64_t position) {
  auto r = n.http().request(
    "POST", "/api/flow_runs/count",
    json{{"deployments", {{"id", {{"any_", {id}}}}}}}.dump(),
    {{"X-Deployd-Min-Position", std::to_string(position)}});
  REQUIRE(r.status == 200);
  return r.json_body().get<std::int64_t>();
}

// The size of the largest entry in etcd's log, and how many there are.
std::pair<std::size_t, std::size_t> entry_sizes(const etcd_cluster& etcd) {
  auto client = storage::etcd::client::connect(etcd.endpoints());
  REQUIRE(client);
  storage::etcd::replicated_log rlog(**client, "/deployd");
  auto page = rlog.read(1, 0, 0, 10s);
  REQUIRE(page);
  std::size_t largest = 0;
  for (const auto& e : page->entries)
    largest = std::max(largest, e.value.size());
  return {largest, page->entries.size()};
}

std::string write_ini(const temp_dir& root, const std::string& text) {
  const auto path = (root.path() / "cluster.ini").string();
  std::ofstream(path) << text;
  return path;
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

  // A key first used through a follower (forwarded to the leader's
  // writer), retried on the other follower: the first answer, once.
  const std::map<std::string, std::string> keyed2 = {
    {"Content-Type", "application/json"}, {"Idempotency-Key", "retry-me-2"}};
  const auto via_follower = nodes[a]->http().request(
    "POST", "/api/variables/", R"({"name":"keyed_var","value":1})", keyed2);
  REQUIRE(via_follower.status == 201);
  const auto on_other = nodes[b]->http().request(
    "POST", "/api/variables/", R"({"name":"keyed_var","value":1})", keyed2);
  CHECK(on_other.status == 201);
  CHECK(on_other.json_body() == via_follower.json_body());
  CHECK(on_other.headers.count("idempotent-replayed") == 1);

  // One key sent at once to all three nodes: one write, three equal
  // answers, two of them replays.
  const std::map<std::string, std::string> keyed3 = {
    {"Content-Type", "application/json"}, {"Idempotency-Key", "retry-me-3"}};
  std::vector<http_reply> racing(nodes.size());
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      threads.emplace_back([&, i] {
        racing[i] = nodes[i]->http().request(
          "POST", "/api/flows/", R"({"name":"raced"})", keyed3);
      });
    for (auto& t : threads)
      t.join();
  }
  int replays = 0;
  for (const auto& r : racing) {
    CHECK(r.status == 201);
    CHECK(r.json_body() == racing[0].json_body());
    replays += r.headers.count("idempotent-replayed") ? 1 : 0;
  }
  CHECK(replays == static_cast<int>(nodes.size()) - 1);

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
  // The new leader holds the key to its request: another body is a 422,
  // and the variable's key still answers its first response there.
  const auto other_body = nodes[next]->http().request(
    "POST", "/api/flows/", R"({"name":"not-keyed"})", keyed);
  CHECK(other_body.status == 422);
  const auto var_again = nodes[next]->http().request(
    "POST", "/api/variables/", R"({"name":"keyed_var","value":1})", keyed2);
  CHECK(var_again.status == 201);
  CHECK(var_again.json_body() == via_follower.json_body());
  const auto flows = nodes[next]->http().post("/api/flows/count", json::object());
  REQUIRE(flows.status == 200);
  CHECK(flows.body == "2"); // keyed and raced, each once
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

TEST_CASE("POST /deployments/{id}/schedule with more runs than one entry "
          "holds: split into several fenced appends at run boundaries, and a run "
          "alone larger than an entry is a 413 that writes nothing",
          "[cluster][integration][schedule]") {
  etcd_cluster etcd;
  temp_dir root;
  // A small entry, so that a few thousand runs take several; a request
  // timeout that the rounds of 3,000 runs fit in under ASan too (they took
  // more than the default 10 s there, and the call answered 503).
  constexpr std::size_t entry_limit = 400'000;
  const auto ini = write_ini(
    root, "[cluster]\nmax_entry_bytes = " + std::to_string(entry_limit) +
              "\n[http]\nrequest_timeout_ms = 120000\n");
  auto nodes = start_nodes(etcd, root, 3, {"--config", ini});
  const auto leader = wait_leader(nodes);
  auto& follower = *nodes[(leader + 1) % nodes.size()];
  auto& s = follower.http();
  auto flow = s.post("/api/flows/", json{{"name", "many"}});
  REQUIRE(flow.status == 201);
  const auto flow_id = flow.json_body()["id"].get<std::string>();
  // Paused: the scheduler would not touch it anyway; /schedule does not
  // check it (flow-runs.md §3.3).
  auto dep = s.post("/api/deployments/",
                    json{{"name", "minutely"},
                         {"flow_id", flow_id},
                         {"paused", true},
                         {"schedules", {{{"schedule", {{"interval", 60}}}}}}});
  REQUIRE(dep.status == 201);
  const auto id = dep.json_body()["id"].get<std::string>();
  const auto before = entry_sizes(etcd);

  const json window = {{"start_time", "2030-01-01T00:00:00Z"},
                       {"end_time", "2031-01-01T00:00:00Z"},
                       {"min_runs", 3000},
                       {"max_runs", 3000}};
  auto r = s.post("/api/deployments/" + id + "/schedule", window);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body == "null");
  const auto at = position_of(r);
  for (auto& n : nodes)
    CHECK(runs_of(*n, id, at) == 3000);
  const auto [largest, entries] = entry_sizes(etcd);
  // Several entries, none above the limit (the commit id and the record
  // framing are the only bytes besides the records).
  CHECK(entries - before.second >= 3000 * 1000 / entry_limit);
  CHECK(largest <= entry_limit + 1024);
  WARN("schedule of 3000 runs: " << entries - before.second
                                 << " entries, the largest " << largest
                                 << " bytes (max_entry_bytes " << entry_limit
                                 << ")");
  // Every date once: the runs' expected start times are 3000 minutes (of
  // the schedule's anchor, the deployment's creation) from the start on.
  std::set<std::string> dates;
  for (int offset = 0; offset < 3000; offset += 200) {
    auto page = s.post("/api/flow_runs/filter",
                       json{{"deployments", {{"id", {{"any_", {id}}}}}},
                            {"limit", 200},
                            {"offset", offset}});
    REQUIRE(page.status == 200);
    for (const auto& run : page.json_body())
      dates.insert(run["expected_start_time"].get<std::string>());
  }
  CHECK(dates.size() == 3000);
  CHECK(dates.begin()->starts_with("2030-01-01T00:00:"));
  CHECK(dates.rbegin()->starts_with("2030-01-03T01:59:"));
  // Again: nothing new (idempotent by key), through another node.
  auto again = nodes[leader]->http().post("/api/deployments/" + id + "/schedule",
                                          window);
  REQUIRE(again.status == 200);
  for (auto& n : nodes)
    CHECK(runs_of(*n, id, position_of(again)) == 3000);

  // A run alone larger than an entry (the deployment's parameters and its
  // schedule's, each written by a change that fits): 413 with a clear
  // detail, no run.
  auto big = s.post("/api/deployments/",
                    json{{"name", "big"},
                         {"flow_id", flow_id},
                         {"paused", true},
                         {"parameters", {{"a", std::string(250'000, 'a')}}}});
  REQUIRE(big.status == 201);
  const auto big_id = big.json_body()["id"].get<std::string>();
  auto added = s.post("/api/deployments/" + big_id + "/schedules",
                      json::array({{{"schedule", {{"interval", 3600}}},
                                    {"parameters",
                                     {{"b", std::string(200'000, 'b')}}}}}));
  INFO(added.body);
  REQUIRE(added.status == 201);
  r = s.post("/api/deployments/" + big_id + "/schedule", json::object());
  CHECK(r.status == 413);
  CHECK(r.json_body() ==
        json{{"detail", "The change is larger than the replicated log accepts "
                        "in one entry (cluster.max_entry_bytes)."}});
  // The leader goes on committing.
  auto after = s.post("/api/flows/", json{{"name", "after"}});
  REQUIRE(after.status == 201);
  for (auto& n : nodes)
    CHECK(runs_of(*n, big_id, position_of(after)) == 0);
  check_replicas(nodes);
}

TEST_CASE("an entry etcd refuses as too large (its --max-request-bytes below "
          "cluster.max_entry_bytes) is a 413 that writes nothing, and the "
          "leader goes on committing",
          "[cluster][integration][schedule]") {
  etcd_cluster etcd{3, {"--max-request-bytes=262144"}};
  temp_dir root;
  auto nodes = start_nodes(etcd, root, 2);
  const auto leader = wait_leader(nodes);
  auto& s = nodes[(leader + 1) % nodes.size()]->http();
  auto flow = s.post("/api/flows/", json{{"name", "f"}});
  REQUIRE(flow.status == 201);
  auto dep = s.post(
    "/api/deployments/",
    json{{"name", "minutely"},
         {"flow_id", flow.json_body()["id"]},
         {"paused", true},
         {"schedules", {{{"schedule", {{"interval", 60}}}}}}});
  REQUIRE(dep.status == 201);
  const auto id = dep.json_body()["id"].get<std::string>();
  // About 1.3 MB of runs: one entry by deployd's limit, too large for etcd.
  auto r = s.post("/api/deployments/" + id + "/schedule",
                  json{{"start_time", "2030-01-01T00:00:00Z"},
                       {"end_time", "2031-01-01T00:00:00Z"},
                       {"min_runs", 900},
                       {"max_runs", 900}});
  INFO(r.body);
  CHECK(r.status == 413);
  auto after = s.post("/api/flows/", json{{"name", "after"}});
  REQUIRE(after.status == 201);
  for (auto& n : nodes)
    CHECK(runs_of(*n, id, position_of(after)) == 0);
  CHECK(agreed_leader(nodes) == leader);
  check_replicas(nodes);
}

namespace {

// The runs of deployment `id` on `n` (at `position`): how many share each
// expected start time.
std::map<std::string, int> runs_by_time(node& n, const std::string& id,
                                        std::uint64_t position) {
  std::map<std::string, int> out;
  for (int offset = 0;; offset += 200) {
    auto r = n.http().request(
      "POST", "/api/flow_runs/filter",
      json{{"deployments", {{"id", {{"any_", {id}}}}}},
           {"limit", 200},
           {"offset", offset}}
        .dump(),
      {{"X-Deployd-Min-Position", std::to_string(position)}});
    REQUIRE(r.status == 200);
    const auto page = r.json_body();
    for (const auto& run : page)
      ++out[run["expected_start_time"].get<std::string>()];
    if (page.size() < 200)
      return out;
  }
}

// Lines of `service`'s passes in a node's log (logfmt: a value is quoted
// only when it has a space).
std::size_t passes_in(const std::string& log, const std::string& service) {
  const auto field = service.find(' ') == std::string::npos
                       ? "service=" + service
                       : "service=\"" + service + "\"";
  std::ifstream in(log);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find("msg=\"service pass\"") != std::string::npos &&
        (line.ends_with(field) || line.find(field + " ") != std::string::npos))
      ++n;
  return n;
}

std::uint64_t head_of(node& n) {
  return n.status().value("log_head", std::uint64_t{0});
}

} // namespace

TEST_CASE("the scheduler and late-runs services run on the leader only, and after "
          "the leader is killed the new leader's scheduler makes no run twice",
          "[cluster][integration][scheduler]") {
  etcd_cluster etcd;
  temp_dir root;
  // Entries of 400 kB, so that a deployment with large parameters takes
  // more than one of the scheduler's commands.
  const auto ini = write_ini(root, "[cluster]\nmax_entry_bytes = 400000\n");
  const std::map<std::string, std::string> services = {
    {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED", "true"},
    {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "1"},
    {"PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS", "1"},
    {"PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "true"},
    {"PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS", "1"}};
  auto nodes = start_nodes(etcd, root, 3,
                           {"--config", ini, "--log-level", "debug"}, services);
  const auto leader = wait_leader(nodes);
  const auto via = (leader + 1) % nodes.size();
  auto& s = *nodes[via];
  auto flow = s.http().post("/api/flows/", json{{"name", "scheduled"}});
  REQUIRE(flow.status == 201);
  const auto flow_id = flow.json_body()["id"].get<std::string>();

  // Hourly schedules: the rule (at least 3 runs, the last at least an hour
  // ahead) gives exactly 3 runs each, whoever makes them and however often.
  std::vector<std::string> deployments;
  std::uint64_t newest = 0;
  auto create = [&](node& n, const std::string& name, json parameters) {
    auto r = n.http().post(
      "/api/deployments/",
      json{{"name", name},
           {"flow_id", flow_id},
           {"parameters", std::move(parameters)},
           {"schedules", {{{"schedule", {{"interval", 3600}}}}}}});
    REQUIRE(r.status == 201);
    newest = std::max(newest, position_of(r));
    deployments.push_back(r.json_body()["id"].get<std::string>());
  };
  for (int i = 0; i < 8; ++i)
    create(*nodes[static_cast<std::size_t>(i) % nodes.size()],
           "d" + std::to_string(i), json::object());
  // Three runs of 150 kB parameters: more than one command's share.
  create(s, "large", json{{"blob", std::string(150'000, 'x')}});
  // A run 20 minutes late: the late-runs service marks it Late.
  auto late = s.http().post("/api/deployments/" + deployments[0] + "/create_flow_run",
                     json{{"state",
                           {{"type", "SCHEDULED"},
                            {"state_details",
                             {{"scheduled_time", "2026-01-01T00:00:00Z"}}}}}});
  REQUIRE(late.status == 201);
  const auto late_id = late.json_body()["id"].get<std::string>();

  auto all_scheduled = [&](node& n) {
    const auto at = std::max(newest, head_of(n));
    for (std::size_t i = 0; i < deployments.size(); ++i) {
      auto runs = runs_by_time(n, deployments[i], at);
      runs.erase("2026-01-01T00:00:00Z"); // the late ones
      if (runs.size() < 3)
        return false;
    }
    return true;
  };
  REQUIRE(eventually([&] { return all_scheduled(s); }, 30s));
  REQUIRE(eventually(
    [&] {
      return s.http().get("/api/flow_runs/" + late_id).json_body().value(
               "state_name", "") == "Late";
    },
    30s));

  // Every node: each deployment has its 3 dates, each once.
  auto check_once = [&](node& n) {
    const auto at = std::max(newest, head_of(n));
    for (std::size_t i = 0; i < deployments.size(); ++i) {
      auto runs = runs_by_time(n, deployments[i], at);
      runs.erase("2026-01-01T00:00:00Z"); // the late ones
      INFO(n.name() << ", deployment " << i);
      CHECK(runs.size() == 3);
      for (const auto& [time, count] : runs) {
        INFO(time);
        CHECK(count == 1);
      }
    }
  };
  for (auto& n : nodes)
    check_once(*n);

  // Only the leader ran passes; each follower skipped every one of its own.
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto log = nodes[i]->data_dir() + ".log";
    INFO(nodes[i]->name() << (i == leader ? " (leader)" : " (follower)"));
    for (const char* service :
         {"scheduler", "recent deployments scheduler", "late runs"}) {
      INFO(service);
      if (i == leader)
        CHECK(passes_in(log, service) > 0);
      else
        CHECK(passes_in(log, service) == 0);
    }
  }

  // New deployments, and at once the leader is killed: their runs are made
  // by the old leader, the new one, or partly by each, never twice.
  for (int i = 0; i < 6; ++i)
    create(*nodes[via], "after" + std::to_string(i), json::object());
  nodes[leader]->kill();
  std::optional<std::size_t> next;
  REQUIRE(eventually(
    [&] {
      next = agreed_leader(nodes);
      return next && *next != leader;
    },
    20s));
  auto& now_leading = *nodes[*next];
  REQUIRE(eventually([&] { return all_scheduled(now_leading); }, 30s));
  // A second late run: the new leader's late-runs service marks it.
  auto late2 = now_leading.http().post(
    "/api/deployments/" + deployments[1] + "/create_flow_run",
    json{{"state",
          {{"type", "SCHEDULED"},
           {"state_details", {{"scheduled_time", "2026-01-01T00:00:00Z"}}}}}});
  REQUIRE(late2.status == 201);
  const auto late2_id = late2.json_body()["id"].get<std::string>();
  REQUIRE(eventually(
    [&] {
      return now_leading.http()
               .get("/api/flow_runs/" + late2_id)
               .json_body()
               .value("state_name", "") == "Late";
    },
    30s));
  // A few more passes of the new leader over deployments that have their
  // runs: none made twice.
  const auto passes_before = passes_in(now_leading.data_dir() + ".log", "scheduler");
  REQUIRE(eventually(
    [&] {
      return passes_in(now_leading.data_dir() + ".log", "scheduler") >=
             passes_before + 3;
    },
    30s));
  for (auto& n : nodes)
    if (n->running()) {
      INFO("after the failover");
      check_once(*n);
    }
  // The node that did not lead still ran no pass.
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (i != leader && i != *next) {
      INFO(nodes[i]->name() << " never led");
      CHECK(passes_in(nodes[i]->data_dir() + ".log", "scheduler") == 0);
      CHECK(passes_in(nodes[i]->data_dir() + ".log", "late runs") == 0);
    }
  CHECK(passes_in(now_leading.data_dir() + ".log", "late runs") > 0);
  // The old leader comes back as a follower and agrees.
  nodes[leader]->start();
  REQUIRE(eventually([&] { return nodes[leader]->ready(); }, 30s));
  check_once(*nodes[leader]);
  check_replicas(nodes);
}
