// The crash test: runs the real deployd under concurrent create / patch /
// upsert / pause / delete load, SIGKILLs it at a random moment, runs
// `deployd verify` on the data directory, restarts it and checks that
//
//  * every acknowledged write is there with its acknowledged content,
//  * a write whose answer never came (in flight at the kill) is either
//    wholly applied or not at all: the deployment equals its state before
//    or after that one write, by id and by name, and nothing else,
//  * the listing and the count hold exactly the deployments the journal
//    says exist (no phantoms, none missing),
//
// then loads it again, for N cycles. Each deployment name ("slot") belongs
// to one worker thread, so its writes are sequential and at most one is in
// doubt at a kill. Only 127.0.0.1, only the process this program started.
//
// Flow runs are in the mix too (4 writes in 10): each worker creates runs
// of a deployment of its own (create_flow_run) and moves them along
// Scheduled -> Pending -> Running -> Completed (set_state), with proposals
// that must change nothing among them (ABORT, 422). After each restart every
// acknowledged run must be there in its acknowledged state (the one write
// in doubt: before or after it), with no run the test did not create.
//
// With `--cluster N` the same runs against N deployd nodes on a 3-member
// etcd (tests/support/etcd_cluster): workers spread over the nodes, each
// cycle SIGKILLs one node (the leader every other cycle) while the others
// keep taking writes through the failover, a 503 is a write in doubt (its
// outcome is unknown), the killed replica must verify, and after its restart
// every node must pass the check; at the end every node's log is identical.
//
//   crash_test --binary build/deployd [--cycles N] [--workers W]
//              [--seed S] [--min-ms A] [--max-ms B] [--keep] [--cluster N]
// CRASH_CYCLES in the environment sets the default for --cycles (10).
#include "tests/crash/http_client.hpp"
#include "tests/support/etcd_cluster.hpp"

#include "events/json.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using deployd::events::json;
namespace raw = deployd::testing::raw;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct options {
  std::string binary;
  int cycles = 10;
  int workers = 8;
  int slots_per_worker = 12;
  std::uint64_t seed = 0;
  int min_ms = 50;
  int max_ms = 1500;
  bool keep = false;
  /// Nodes of a cluster; 0 = the embedded single node.
  int cluster = 0;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "crash_test: FAILED: %s\n", why.c_str());
  std::exit(1);
}

long long ms_since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                               t)
    .count();
}

// -- the process ---------------------------------------------------------------

class server_process {
public:
  server_process(std::string binary, fs::path data, fs::path log,
                 std::vector<std::string> extra = {})
    : binary_(std::move(binary)), data_(std::move(data)), log_(std::move(log)),
      extra_(std::move(extra)) {
  }
  ~server_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  std::uint16_t start() {
    const auto port_file = data_.string() + ".port";
    fs::remove(port_file);
    const int log_fd =
      ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
      die("cannot open " + log_.string());
    pid_ = ::fork();
    if (pid_ < 0)
      die("fork failed");
    if (pid_ == 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      std::vector<std::string> args = {binary_,     "serve",
                                       "--host",    "127.0.0.1",
                                       "--port",    "0",
                                       "--data-dir", data_.string(),
                                       "--port-file", port_file};
      args.insert(args.end(), extra_.begin(), extra_.end());
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary_.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    const auto deadline = steady::now() + 120s;
    while (steady::now() < deadline) {
      std::ifstream in(port_file);
      unsigned port = 0;
      if (in >> port && port != 0)
        return static_cast<std::uint16_t>(port);
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        die("deployd exited during start-up (see " + log_.string() + ")");
      }
      std::this_thread::sleep_for(5ms);
    }
    die("deployd did not listen within 120 s");
  }

  void kill(int signal) {
    if (pid_ > 0)
      ::kill(pid_, signal);
  }

  [[nodiscard]] bool running() const {
    return pid_ > 0;
  }
  [[nodiscard]] const fs::path& data() const {
    return data_;
  }

  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (WIFEXITED(status))
      return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  }

private:
  std::string binary_;
  fs::path data_;
  fs::path log_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

int run_tool(const std::string& binary, const char* command,
             const fs::path& data, const fs::path& log, std::string& out) {
  const auto out_file = data.string() + "." + command;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err =
      ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    const std::string d = data.string();
    ::execl(binary.c_str(), binary.c_str(), command, "--data-dir", d.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_verify(const std::string& binary, const fs::path& data,
               const fs::path& log, std::string& out) {
  return run_tool(binary, "verify", data, log, out);
}

// -- the journal ---------------------------------------------------------------

// What the test controls of a deployment, as the server must show it.
json fields_of(const json& d) {
  return json{{"name", d.at("name")},
              {"flow_id", d.at("flow_id")},
              {"description", d.at("description")},
              {"tags", d.at("tags")},
              {"parameters", d.at("parameters")},
              {"version", d.at("version")},
              {"paused", d.at("paused")}};
}

// The state of one deployment name: absent, or present with an id and
// fields. `id` is empty for a create in doubt (the server chose it).
struct state {
  bool exists = false;
  std::string id;
  json fields;
  bool scheduled = false;  ///< has a schedule (not compared by `matches`)

  bool matches(const std::optional<json>& seen) const {
    if (!exists)
      return !seen;
    if (!seen)
      return false;
    if (!id.empty() && seen->at("id") != id)
      return false;
    return fields_of(*seen) == fields;
  }
};

struct slot {
  std::string name;
  std::string flow_id;
  std::string flow_name;
  state acked;                  ///< after the last acknowledged write
  std::optional<state> doubt;   ///< after the write in doubt, if any
  std::string doubt_kind;
  std::set<std::string> ids;    ///< every id this name has had
};

enum op_kind {
  op_create,
  op_patch,
  op_upsert,
  op_pause,
  op_delete,
  // Flow runs: create_flow_run, set_state along the worker's path, and
  // proposals that must change nothing (ABORT, 422).
  op_run_create,
  op_run_pending,
  op_run_running,
  op_run_completed,
  op_run_abort,
  op_run_invalid,
  op_count
};
constexpr const char* op_names[op_count] = {
  "create",          "patch",         "upsert",        "pause",
  "delete",          "create_flow_run", "set_state:Pending",
  "set_state:Running", "set_state:Completed", "set_state:ABORT",
  "set_state:422"};

// A run's place on the worker's path; each step is one accepted set_state.
enum run_stage : int {
  stage_scheduled,
  stage_pending,
  stage_running,
  stage_completed
};
constexpr const char* stage_types[] = {"SCHEDULED", "PENDING", "RUNNING",
                                       "COMPLETED"};

std::optional<int> stage_of(const json& state_type) {
  for (int k = stage_scheduled; k <= stage_completed; ++k)
    if (state_type == stage_types[k])
      return k;
  return std::nullopt;
}

// One flow run as the test acknowledged it. Its name (unique, also its
// idempotency key) finds it when its creation is in doubt.
struct run_rec {
  std::string name;
  std::string id;       ///< empty while its creation is in doubt
  int acked = stage_scheduled;
  bool created = true;  ///< false: the create_flow_run is in doubt
  std::optional<int> doubt;  ///< the stage after the write in doubt
  bool touched = false;      ///< written to since the last check
};

// A worker's runs, all of one deployment that the deployment mix never
// touches (deleting a deployment deletes its scheduled runs).
struct run_lane {
  std::string deployment_name;
  std::string deployment_id;
  std::vector<run_rec> runs;
};

struct stats {
  std::atomic<std::uint64_t> acked[op_count] = {};
  /// The most scheduled runs the scheduler had made for the mix's active
  /// deployments at a check.
  std::uint64_t auto_runs = 0;
  std::uint64_t doubts = 0;
  std::uint64_t doubts_applied = 0;
};

// -- one worker's load ---------------------------------------------------------

struct worker {
  std::vector<slot*> slots;
  run_lane* lane = nullptr;
  std::mt19937_64 rng;
  std::uint64_t counter = 0;
  std::string error;  ///< a wrong answer (not an I/O failure)
};

std::string fresh_tag(worker& w) {
  return "t" + std::to_string(w.rng() % 5);
}

// Sends one random write for one random slot and applies its answer to the
// journal; returns false when the connection failed (the server is gone).
// The answer to one write, or nothing when it is in doubt: sent (maybe in
// part) and never answered, or (in a cluster) answered "unavailable" while
// its outcome was unknown.
std::optional<raw::reply> exchange(raw::connection& c,
                                   const std::string& request, bool clustered) {
  const bool sent = c.send(request, 10s);
  auto reply = sent ? c.read_reply(30s) : std::nullopt;
  if (!reply || (clustered && reply->status == 503)) {
    c.close();
    return std::nullopt;
  }
  return reply;
}

void keep_alive_or_close(raw::connection& c, const raw::reply& reply) {
  if (reply.headers.contains("connection") &&
      reply.headers.at("connection") == "close")
    c.close();
}

// One flow-run write of the worker's lane: a create_flow_run (a new run in
// Scheduled, its scheduled time long past), the next step of a run on
// Scheduled -> Pending -> Running -> Completed, or a proposal that must
// change nothing (Pending again: ABORT; Crashed after Completed: ABORT; a
// state with a `timestamp`: 422). Returns false as `step` does.
bool run_step(worker& w, raw::connection& c, stats& st,
              const std::string& worker_tag, bool clustered) {
  run_lane& lane = *w.lane;
  std::vector<std::size_t> active;
  std::vector<std::size_t> done;
  for (std::size_t i = 0; i < lane.runs.size(); ++i)
    (lane.runs[i].acked == stage_completed ? done : active).push_back(i);
  const auto roll = w.rng() % 100;
  op_kind kind = op_run_create;
  std::size_t index = lane.runs.size();
  if (active.size() >= 3 && (roll >= 20 || active.size() >= 12)) {
    index = active[w.rng() % active.size()];
    const int stage = lane.runs[index].acked;
    const auto twist = w.rng() % 100;
    if (twist < 6 && !done.empty()) {
      index = done[w.rng() % done.size()];
      kind = op_run_abort; // terminal -> Crashed
    } else if (twist < 12 && stage != stage_scheduled) {
      kind = op_run_abort; // Pending/Running -> Pending
    } else if (twist < 16) {
      kind = op_run_invalid;
    } else {
      kind = static_cast<op_kind>(op_run_pending + stage);
    }
  }
  std::string request;
  int after = stage_scheduled;
  unsigned ok_status = 201;
  if (kind == op_run_create) {
    run_rec r;
    r.name = "run-" + worker_tag + "-" + std::to_string(++w.counter);
    r.created = false;
    lane.runs.push_back(std::move(r));
    json body = {{"name", lane.runs.back().name},
                 {"idempotency_key", lane.runs.back().name},
                 {"tags", json::array({"crash"})},
                 {"parameters", {{"n", w.counter}}},
                 {"state",
                  {{"type", "SCHEDULED"},
                   {"state_details",
                    {{"scheduled_time", "2026-01-01T00:00:00Z"}}}}}};
    request = raw::format_request(
      "POST", "/api/deployments/" + lane.deployment_id + "/create_flow_run",
      body.dump());
  } else {
    run_rec& r = lane.runs[index];
    after = r.acked;
    json state;
    if (kind == op_run_abort) {
      state = {{"type", r.acked == stage_completed ? "CRASHED" : "PENDING"}};
      ok_status = 200;
    } else if (kind == op_run_invalid) {
      state = {{"type", stage_types[std::min(r.acked + 1, 3)]},
               {"timestamp", "2026-01-01T00:00:00Z"}};
      ok_status = 422;
    } else {
      after = r.acked + 1;
      state = {{"type", stage_types[after]}};
    }
    request = raw::format_request("POST", "/api/flow_runs/" + r.id + "/set_state",
                                  json{{"state", state}}.dump());
  }
  run_rec& r = kind == op_run_create ? lane.runs.back() : lane.runs[index];
  const auto reply = exchange(c, request, clustered);
  r.touched = true;
  if (!reply) {
    r.doubt = after;
    return false;
  }
  if (reply->status != ok_status) {
    w.error = "run " + r.name + ": " + op_names[kind] + " answered " +
              std::to_string(reply->status) + " " + reply->body;
    return false;
  }
  if (kind == op_run_invalid) {
    ++st.acked[kind];
    keep_alive_or_close(c, *reply);
    return true;
  }
  const auto body = json::parse(reply->body);
  if (kind == op_run_create) {
    if (body.at("name") != r.name || body.at("state_type") != "SCHEDULED" ||
        body.at("deployment_id") != lane.deployment_id) {
      w.error = "run " + r.name + ": create_flow_run acknowledged " +
                reply->body;
      return false;
    }
    r.id = body.at("id").get<std::string>();
    r.created = true;
  } else {
    const char* status = kind == op_run_abort ? "ABORT" : "ACCEPT";
    if (body.at("status") != status ||
        body.at("state").at("type") != stage_types[after]) {
      w.error = "run " + r.name + ": " + op_names[kind] + " from " +
                stage_types[r.acked] + " answered " + reply->body;
      return false;
    }
    r.acked = after;
  }
  ++st.acked[kind];
  keep_alive_or_close(c, *reply);
  return true;
}

bool step(worker& w, raw::connection& c, std::uint16_t port, stats& st,
          const std::string& worker_tag, bool clustered) {
  if (!c.is_open() && !c.open(port, 1s))
    return false;
  if (w.lane && w.rng() % 100 < 40)
    return run_step(w, c, st, worker_tag, clustered);
  slot& s = *w.slots[w.rng() % w.slots.size()];
  const auto n = worker_tag + "-" + std::to_string(++w.counter);
  op_kind kind = op_create;
  if (s.acked.exists) {
    const auto roll = w.rng() % 100;
    kind = roll < 45   ? op_patch
           : roll < 60 ? op_upsert
           : roll < 75 ? op_pause
                       : op_delete;
  }
  std::string request;
  state after = s.acked;
  unsigned ok_status = 0;
  switch (kind) {
    case op_create:
    case op_upsert: {
      json body = {{"name", s.name},
                   {"flow_id", s.flow_id},
                   {"description", "d-" + n},
                   {"tags", json::array({fresh_tag(w), "crash"})},
                   {"parameters", {{"n", n}, {"pad", std::string(w.rng() % 600, 'p')}}},
                   {"version", "v-" + n},
                   {"paused", w.rng() % 4 == 0}};
      // Half of them on an hourly-ish schedule for the scheduler; an
      // upsert replaces the schedules, which removes their runs.
      body["schedules"] = json::array();
      if (w.rng() % 2 == 0)
        body["schedules"].push_back(
          {{"schedule", {{"interval", 3600 + 60 * (w.rng() % 3)}}},
           {"active", true}});
      after.scheduled = !body["schedules"].empty();
      after.exists = true;
      after.fields = fields_of(body);
      if (kind == op_create)
        after.id.clear();
      request = raw::format_request("POST", "/api/deployments/", body.dump());
      ok_status = kind == op_create ? 201 : 200;
      break;
    }
    case op_patch: {
      json body = {{"description", "p-" + n},
                   {"tags", json::array({fresh_tag(w)})},
                   {"parameters", {{"n", n}}},
                   {"version", "pv-" + n}};
      for (const char* key : {"description", "tags", "parameters", "version"})
        after.fields[key] = body[key];
      request = raw::format_request("PATCH", "/api/deployments/" + s.acked.id,
                                    body.dump());
      ok_status = 204;
      break;
    }
    case op_pause: {
      const bool paused = s.acked.fields.at("paused").get<bool>();
      after.fields["paused"] = !paused;
      request = raw::format_request(
        "POST",
        "/api/deployments/" + s.acked.id +
          (paused ? "/resume_deployment" : "/pause_deployment"),
        std::string());
      ok_status = 200;
      break;
    }
    case op_delete:
      after = state{};
      request =
        raw::format_request("DELETE", "/api/deployments/" + s.acked.id);
      ok_status = 204;
      break;
    default: // flow runs: run_step
      break;
  }
  const auto reply = exchange(c, request, clustered);
  if (!reply) {
    // In doubt until the check.
    s.doubt = after;
    s.doubt_kind = op_names[kind];
    return false;
  }
  if (reply->status != ok_status) {
    w.error = "slot " + s.name + ": " + op_names[kind] + " answered " +
              std::to_string(reply->status) + " " + reply->body;
    return false;
  }
  if (kind == op_create || kind == op_upsert) {
    const auto body = json::parse(reply->body);
    if (fields_of(body) != after.fields) {
      w.error = "slot " + s.name + ": " + op_names[kind] +
                " acknowledged other fields: " + reply->body;
      return false;
    }
    if (kind == op_upsert && body.at("id") != s.acked.id) {
      w.error = "slot " + s.name + ": upsert changed the id";
      return false;
    }
    after.id = body.at("id").get<std::string>();
    s.ids.insert(after.id);
  }
  s.acked = std::move(after);
  ++st.acked[kind];
  keep_alive_or_close(c, *reply);
  return true;
}

// -- the check after a restart ---------------------------------------------------

std::optional<json> get_json(std::uint16_t port, const std::string& target,
                             unsigned* status_out = nullptr) {
  const auto r = raw::request(port, "GET", target);
  if (!r)
    die("no answer to GET " + target);
  if (status_out)
    *status_out = r->status;
  if (r->status == 404)
    return std::nullopt;
  if (r->status != 200)
    die("GET " + target + " answered " + std::to_string(r->status) + " " +
        r->body);
  return json::parse(r->body);
}

void check(std::uint16_t port, std::vector<slot>& slots,
           const std::vector<run_lane>& lanes, stats& st, int cycle) {
  std::set<std::string> expected_names;
  for (const auto& lane : lanes)
    expected_names.insert(lane.deployment_name);
  for (auto& s : slots) {
    const auto by_name =
      get_json(port, "/api/deployments/name/" + s.flow_name + "/" + s.name);
    const std::string where = "cycle " + std::to_string(cycle) + ", slot " +
                              s.name + ": ";
    if (s.doubt) {
      ++st.doubts;
      if (s.doubt->matches(by_name)) {
        ++st.doubts_applied;
        s.acked = *s.doubt;
        if (by_name)
          s.acked.id = by_name->at("id").get<std::string>();
      } else if (!s.acked.matches(by_name)) {
        die(where + "a " + s.doubt_kind +
            " in doubt left neither the state before nor after it: " +
            (by_name ? by_name->dump() : std::string("absent")) +
            "; before: " + s.acked.fields.dump() +
            "; after: " + s.doubt->fields.dump());
      }
      s.doubt.reset();
    } else if (!s.acked.matches(by_name)) {
      die(where + "acknowledged state lost: expected " +
          (s.acked.exists ? s.acked.id + " " + s.acked.fields.dump()
                          : std::string("absent")) +
          ", found " + (by_name ? by_name->dump() : std::string("absent")));
    }
    if (by_name)
      s.ids.insert(by_name->at("id").get<std::string>());
    if (s.acked.exists) {
      expected_names.insert(s.name);
      // Every projection agrees: the row by id is the row by name.
      const auto by_id = get_json(port, "/api/deployments/" + s.acked.id);
      if (!by_id || *by_id != *by_name)
        die(where + "by id and by name differ");
    }
  }
  // Pausing, deleting and replacing the schedules remove the scheduler's
  // runs in the same batch: no id of a slot that is paused, gone or left
  // without a schedule has a scheduled run (the scheduler never adds one to
  // those), whatever the kills interrupted. The active ones' runs show the
  // scheduler ran.
  std::vector<std::string> quiet, active;
  for (const auto& s : slots)
    for (const auto& id : s.ids)
      (s.acked.exists && s.acked.id == id && s.acked.scheduled &&
           !s.acked.fields.at("paused").get<bool>()
         ? active
         : quiet)
        .push_back(id);
  auto scheduled_runs = [&](const std::vector<std::string>& ids) {
    std::uint64_t n = 0;
    for (std::size_t at = 0; at < ids.size(); at += 200) {
      const std::vector<std::string> chunk(
        ids.begin() + static_cast<std::ptrdiff_t>(at),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), at + 200)));
      const auto r = raw::request(
        port, "POST", "/api/flow_runs/count",
        json{{"flow_runs",
              {{"deployment_id", {{"any_", chunk}}},
               {"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}}}}
          .dump());
      if (!r || r->status != 200)
        die("flow_runs/count failed: " + (r ? r->body : std::string("no answer")));
      n += std::stoull(r->body);
    }
    return n;
  };
  if (const auto left = scheduled_runs(quiet); left != 0)
    die("cycle " + std::to_string(cycle) + ": " + std::to_string(left) +
        " scheduled runs of paused or deleted deployments (or of replaced "
        "schedules' deployments ids) remain");
  st.auto_runs = std::max(st.auto_runs, scheduled_runs(active));

  // The listing holds exactly the deployments that exist.
  std::set<std::string> listed;
  for (int offset = 0;; offset += 200) {
    const auto r = raw::request(
      port, "POST", "/api/deployments/filter",
      json{{"limit", 200}, {"offset", offset}, {"sort", "NAME_ASC"}}.dump());
    if (!r || r->status != 200)
      die("filter failed");
    const auto page = json::parse(r->body);
    for (const auto& d : page)
      if (!listed.insert(d.at("name").get<std::string>()).second)
        die("deployment listed twice: " + d.at("name").get<std::string>());
    if (page.size() < 200)
      break;
  }
  if (listed != expected_names) {
    std::string diff;
    for (const auto& n : listed)
      if (!expected_names.contains(n))
        diff += " phantom:" + n;
    for (const auto& n : expected_names)
      if (!listed.contains(n))
        diff += " missing:" + n;
    die("cycle " + std::to_string(cycle) + ": listing differs:" + diff);
  }
  const auto count =
    raw::request(port, "POST", "/api/deployments/count", std::string("{}"));
  if (!count || count->body != std::to_string(expected_names.size()))
    die("count " + (count ? count->body : std::string("?")) + " != " +
        std::to_string(expected_names.size()));
}

// Every acknowledged run is there in its acknowledged state (or, for the one
// write of a worker in doubt, in the state before or after it); no run the
// test did not create; the count agrees; a run read by id agrees with the
// listing. Resolves what was in doubt, like `check`.
void check_runs(std::uint16_t port, std::vector<run_lane>& lanes, stats& st,
                int cycle) {
  for (auto& lane : lanes) {
    const json related = {{"id", {{"any_", json::array({lane.deployment_id})}}}};
    std::map<std::string, json> listed;
    for (int offset = 0;; offset += 200) {
      const auto r = raw::request(
        port, "POST", "/api/flow_runs/filter",
        json{{"deployments", related},
             {"limit", 200},
             {"offset", offset},
             {"sort", "NAME_ASC"}}
          .dump());
      if (!r || r->status != 200)
        die("flow_runs/filter failed: " + (r ? r->body : std::string("?")));
      const auto page = json::parse(r->body);
      for (const auto& run : page) {
        if (run.at("state").at("type") != run.at("state_type"))
          die("run " + run.dump() + ": state and state_type differ");
        if (!listed.emplace(run.at("name").get<std::string>(), run).second)
          die("run listed twice: " + run.at("name").get<std::string>());
      }
      if (page.size() < 200)
        break;
    }
    const std::string where = "cycle " + std::to_string(cycle) + ", run ";
    std::vector<run_rec> kept;
    kept.reserve(lane.runs.size());
    for (auto& r : lane.runs) {
      const auto it = listed.find(r.name);
      const json* seen = it == listed.end() ? nullptr : &it->second;
      std::optional<int> stage;
      if (seen)
        stage = stage_of(seen->at("state_type"));
      if (seen && !r.id.empty() && seen->at("id") != r.id)
        die(where + r.name + ": its id changed: " + seen->dump());
      if (r.doubt) {
        ++st.doubts;
        if (!r.created) {
          // A create_flow_run in doubt: there whole (Scheduled) or not at all.
          if (!seen) {
            listed.erase(r.name);
            continue; // never created
          }
          if (stage != stage_scheduled)
            die(where + r.name + ": a create in doubt left " + seen->dump());
          ++st.doubts_applied;
          r.id = seen->at("id").get<std::string>();
          r.created = true;
          r.acked = stage_scheduled;
        } else if (!seen) {
          die(where + r.name + ": a set_state in doubt lost the run");
        } else if (stage == *r.doubt) {
          if (*r.doubt != r.acked)
            ++st.doubts_applied;
          r.acked = *r.doubt;
        } else if (stage != r.acked) {
          die(where + r.name + ": a set_state in doubt left neither " +
              stage_types[r.acked] + " nor " + stage_types[*r.doubt] + ": " +
              seen->dump());
        }
        r.doubt.reset();
      } else if (!seen || stage != r.acked) {
        die(where + r.name + ": acknowledged " + stage_types[r.acked] +
            " lost: found " + (seen ? seen->dump() : std::string("absent")));
      }
      if (r.touched) {
        // The run by id is the run in the listing (its state's type: the
        // late-runs service may rename a Scheduled run Late in between).
        const auto by_id = get_json(port, "/api/flow_runs/" + r.id);
        if (!by_id || by_id->at("state_type") != seen->at("state_type") ||
            by_id->at("state").at("type") != seen->at("state_type") ||
            by_id->at("name") != r.name)
          die(where + r.name + ": by id and in the listing differ: " +
              (by_id ? by_id->dump() : std::string("absent")) + " vs " +
              seen->dump());
      }
      listed.erase(r.name);
      kept.push_back(std::move(r));
    }
    lane.runs = std::move(kept);
    if (!listed.empty())
      die("cycle " + std::to_string(cycle) + ": phantom run " +
          listed.begin()->second.dump());
    const auto count =
      raw::request(port, "POST", "/api/flow_runs/count",
                   json{{"deployments", related}}.dump());
    if (!count || count->body != std::to_string(lane.runs.size()))
      die("flow_runs/count " + (count ? count->body : std::string("?")) +
          " != " + std::to_string(lane.runs.size()));
  }
}

options parse_args(int argc, char** argv) {
  options o;
  if (const char* env = std::getenv("CRASH_CYCLES"))
    o.cycles = std::atoi(env);
  o.seed = static_cast<std::uint64_t>(
    std::chrono::system_clock::now().time_since_epoch().count());
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--binary")
      o.binary = value();
    else if (a == "--cycles")
      o.cycles = std::stoi(value());
    else if (a == "--workers")
      o.workers = std::stoi(value());
    else if (a == "--seed")
      o.seed = std::stoull(value());
    else if (a == "--min-ms")
      o.min_ms = std::stoi(value());
    else if (a == "--max-ms")
      o.max_ms = std::stoi(value());
    else if (a == "--keep")
      o.keep = true;
    else if (a == "--cluster")
      o.cluster = std::stoi(value());
    else
      die("unknown argument " + a);
  }
  if (o.binary.empty())
    die("--binary PATH is required");
  if (o.cycles < 1 || o.workers < 1 || o.min_ms < 0 || o.max_ms < o.min_ms ||
      o.cluster < 0 || o.cluster == 1)
    die("bad arguments");
  return o;
}

// -- the cluster's nodes ---------------------------------------------------------

std::optional<json> status_of(std::uint16_t port) {
  const auto r = raw::request(port, "GET", "/api/deployd/cluster");
  if (!r || r->status != 200)
    return std::nullopt;
  return json::parse(r->body);
}

void wait_ready(std::uint16_t port) {
  const auto deadline = steady::now() + 60s;
  while (steady::now() < deadline) {
    const auto r = raw::request(port, "GET", "/api/ready");
    if (r && r->status == 200)
      return;
    std::this_thread::sleep_for(20ms);
  }
  die("node on port " + std::to_string(port) + " not ready within 60 s");
}

// Index of the node that says it leads, if any.
std::optional<std::size_t> leader_of(const std::vector<std::uint16_t>& ports) {
  for (std::size_t i = 0; i < ports.size(); ++i)
    if (auto st = status_of(ports[i]); st && st->value("role", "") == "leader")
      return i;
  return std::nullopt;
}

// Waits until some node leads and every node has applied the whole log and
// nothing has been appended for a while (writes in doubt have settled).
void wait_settled(const std::vector<std::uint16_t>& ports) {
  const auto deadline = steady::now() + 60s;
  std::uint64_t last_head = 0;
  auto stable_since = steady::now();
  while (steady::now() < deadline) {
    std::uint64_t head = 0;
    bool caught_up = leader_of(ports).has_value();
    for (const auto port : ports) {
      const auto st = status_of(port);
      if (!st) {
        caught_up = false;
        continue;
      }
      head = std::max(head, st->at("log_head").get<std::uint64_t>());
      caught_up = caught_up &&
                  st->at("applied").get<std::uint64_t>() ==
                    st->at("log_head").get<std::uint64_t>();
    }
    if (head != last_head) {
      last_head = head;
      stable_since = steady::now();
    }
    if (caught_up && steady::now() - stable_since > 1500ms)
      return;
    std::this_thread::sleep_for(50ms);
  }
  die("the cluster did not settle within 60 s");
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  const auto o = parse_args(argc, argv);
  // The runs' scheduled time is long past: the late-runs service would
  // rename them Late on its own timer, also while the nodes stop one by one
  // at the end (the last leader's log would then hold records the others
  // never applied). Its own tests are in tests/cluster and integration/.
  ::setenv("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "false", 1);
  std::string pattern =
    (fs::temp_directory_path() / "deployd-crash-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    die("mkdtemp failed");
  const fs::path work = pattern;
  const fs::path log = work / "deployd.log";
  const bool clustered = o.cluster > 0;
  // A single node's scheduler runs every second and makes up to 3 runs for
  // each scheduled deployment of the mix, so kills also land on its writes
  // and on the removals by pause, delete and schedule changes. In a cluster
  // it is off, for the late-runs service's reason above.
  if (clustered) {
    ::setenv("PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED", "false", 1);
  } else {
    ::setenv("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "1", 1);
    ::setenv("PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS", "3", 1);
  }
  std::printf("crash_test: %d cycles, %d workers, seed %llu, %s, work dir %s\n",
              o.cycles, o.workers, static_cast<unsigned long long>(o.seed),
              clustered ? ("cluster of " + std::to_string(o.cluster) +
                           " nodes on 3 etcd members")
                            .c_str()
                        : "single node",
              work.c_str());
  std::fflush(stdout);

  std::mt19937_64 rng(o.seed);
  std::optional<deployd::testing::etcd_cluster> etcd;
  std::vector<std::unique_ptr<server_process>> nodes;
  if (clustered) {
    try {
      etcd.emplace();
    } catch (const std::exception& e) {
      die(std::string("cannot start etcd: ") + e.what());
    }
    for (int i = 0; i < o.cluster; ++i) {
      const auto name = "n" + std::to_string(i + 1);
      nodes.push_back(std::make_unique<server_process>(
        o.binary, work / name, work / (name + ".log"),
        std::vector<std::string>{"--etcd", etcd->endpoints_csv(), "--node",
                                 name, "--peer-port", "0"}));
    }
  } else {
    nodes.push_back(
      std::make_unique<server_process>(o.binary, work / "data", log));
  }
  std::vector<std::uint16_t> ports;
  for (auto& n : nodes)
    ports.push_back(n->start());
  if (clustered) {
    for (const auto port : ports)
      wait_ready(port);
    wait_settled(ports);
  }

  // One flow per worker, created before any kill, and the deployment its
  // runs belong to.
  std::vector<slot> slots;
  std::vector<run_lane> lanes;
  for (int w = 0; w < o.workers; ++w) {
    const auto flow_name = "crash-flow-" + std::to_string(w);
    const auto r = raw::request(ports[0], "POST", "/api/flows/",
                                json{{"name", flow_name}}.dump());
    if (!r || (r->status != 201 && r->status != 200))
      die("cannot create " + flow_name);
    const auto flow_id = json::parse(r->body).at("id").get<std::string>();
    const auto lane_name = "w" + std::to_string(w) + "-runs";
    const auto d = raw::request(
      ports[0], "POST", "/api/deployments/",
      json{{"name", lane_name}, {"flow_id", flow_id}}.dump());
    if (!d || d->status != 201)
      die("cannot create " + lane_name);
    lanes.push_back(run_lane{
      lane_name, json::parse(d->body).at("id").get<std::string>(), {}});
    for (int k = 0; k < o.slots_per_worker; ++k)
      slots.push_back(slot{"w" + std::to_string(w) + "-s" + std::to_string(k),
                           flow_id, flow_name, state{}, std::nullopt, {}, {}});
  }

  stats st;
  long long max_restart_ms = 0;
  const auto started = steady::now();
  for (int cycle = 1; cycle <= o.cycles; ++cycle) {
    if (clustered)
      wait_settled(ports);
    std::vector<worker> workers(static_cast<std::size_t>(o.workers));
    for (int w = 0; w < o.workers; ++w) {
      workers[w].rng.seed(rng());
      workers[w].lane = &lanes[static_cast<std::size_t>(w)];
      for (int k = 0; k < o.slots_per_worker; ++k)
        workers[w].slots.push_back(&slots[w * o.slots_per_worker + k]);
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    const std::uint64_t before = [&] {
      std::uint64_t sum = 0;
      for (auto& a : st.acked)
        sum += a;
      return sum;
    }();
    for (int w = 0; w < o.workers; ++w)
      threads.emplace_back([&, w] {
        raw::connection c;
        const auto tag = "c" + std::to_string(cycle) + "w" + std::to_string(w);
        const auto port = ports[static_cast<std::size_t>(w) % ports.size()];
        while (!stop && step(workers[w], c, port, st, tag, clustered)) {
        }
      });
    const int kill_after =
      o.min_ms + static_cast<int>(rng() % static_cast<std::uint64_t>(
                                            o.max_ms - o.min_ms + 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after));
    // In a cluster: the leader every other cycle, else any node.
    std::size_t victim = 0;
    if (clustered) {
      const auto leader = leader_of(ports);
      victim = (cycle % 2 == 0 && leader) ? *leader : rng() % nodes.size();
    }
    nodes[victim]->kill(SIGKILL);
    nodes[victim]->wait();
    if (clustered) {
      // The others go on taking writes through the failover.
      std::this_thread::sleep_for(1500ms);
    }
    stop = true;
    for (auto& t : threads)
      t.join();
    for (auto& w : workers)
      if (!w.error.empty())
        die("cycle " + std::to_string(cycle) + ": " + w.error);
    std::uint64_t after = 0;
    for (auto& a : st.acked)
      after += a;
    std::size_t in_doubt = 0;
    for (const auto& s : slots)
      in_doubt += s.doubt ? 1 : 0;
    for (const auto& lane : lanes)
      for (const auto& r : lane.runs)
        in_doubt += r.doubt ? 1 : 0;

    std::string out;
    const auto t_verify = steady::now();
    if (run_verify(o.binary, nodes[victim]->data(), log, out) != 0)
      die("cycle " + std::to_string(cycle) + ": deployd verify failed: " +
          out);
    const auto verify_ms = ms_since(t_verify);

    const auto t_restart = steady::now();
    ports[victim] = nodes[victim]->start();
    if (clustered) {
      wait_ready(ports[victim]);
      wait_settled(ports);
    }
    const auto restart_ms = ms_since(t_restart);
    max_restart_ms = std::max(max_restart_ms, restart_ms);
    // Every node answers the same: the check resolves what was in doubt on
    // the first and holds the others to it.
    for (const auto port : ports) {
      check(port, slots, lanes, st, cycle);
      check_runs(port, lanes, st, cycle);
    }
    std::size_t existing = 0;
    for (const auto& s : slots)
      existing += s.acked.exists ? 1 : 0;
    std::size_t runs = 0;
    for (auto& lane : lanes)
      for (auto& r : lane.runs) {
        r.touched = false;
        ++runs;
      }
    std::printf("cycle %d: SIGKILL of %s after %d ms, %llu writes "
                "acknowledged, %zu in doubt; verify ok (%lld ms); restart "
                "%lld ms; check ok (%zu deployments, %zu flow runs)\n",
                cycle,
                clustered ? ("n" + std::to_string(victim + 1)).c_str()
                          : "deployd",
                kill_after, static_cast<unsigned long long>(after - before),
                in_doubt, verify_ms, restart_ms, existing, runs);
    std::fflush(stdout);
  }
  // A last clean stop must exit 0 and leave logs that verify and, in a
  // cluster, are identical on every node.
  std::optional<std::string> first_log;
  std::string out;
  for (auto& n : nodes) {
    n->kill(SIGTERM);
    const int status = n->wait();
    if (status != 0)
      die("SIGTERM exit status " + std::to_string(status));
  }
  for (auto& n : nodes) {
    if (run_verify(o.binary, n->data(), log, out) != 0)
      die("final verify failed: " + out);
    std::string events;
    if (run_tool(o.binary, "events", n->data(), log, events) != 0)
      die("deployd events failed on " + n->data().string());
    if (!first_log)
      first_log = events;
    else if (events != *first_log)
      die("the logs of the nodes differ (" + n->data().string() + ")");
  }
  if (!clustered && st.auto_runs == 0)
    die("the scheduler made no runs: the mix did not exercise it");
  std::printf("crash_test: PASSED %d cycles in %lld s: acknowledged",
              o.cycles, ms_since(started) / 1000);
  for (int k = 0; k < op_count; ++k)
    std::printf(" %s %llu", op_names[k],
                static_cast<unsigned long long>(st.acked[k].load()));
  std::printf("; at most %llu scheduler-made runs at a check",
              static_cast<unsigned long long>(st.auto_runs));
  std::printf("; %llu writes in doubt at a kill (%llu applied, %llu not); "
              "slowest restart %lld ms; %s",
              static_cast<unsigned long long>(st.doubts),
              static_cast<unsigned long long>(st.doubts_applied),
              static_cast<unsigned long long>(st.doubts - st.doubts_applied),
              max_restart_ms, out.c_str());
  if (clustered)
    std::printf("crash_test: the %d nodes' logs are identical (%zu bytes of "
                "`deployd events`)\n",
                o.cluster, first_log->size());
  nodes.clear();
  etcd.reset();
  if (!o.keep) {
    std::error_code ignored;
    fs::remove_all(work, ignored);
  }
  return 0;
}
