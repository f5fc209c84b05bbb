#include "tests/support/etcd_cluster.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace deployd::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct etcd_cluster::member {
  std::string name;
  std::uint16_t client_port = 0;
  std::uint16_t peer_port = 0;
  pid_t pid = -1;
  bool paused = false;
  std::vector<std::string> args;
};

/// Forks the members from one thread that lives as long as the fixture, so
/// PR_SET_PDEATHSIG (tied to the forking thread) fires only when the
/// fixture or the whole test process is gone, whichever thread calls
/// restart().
class etcd_cluster::spawner {
public:
  spawner() : thread_([this] { run(); }) {
  }
  ~spawner() {
    {
      std::lock_guard lock{mutex_};
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  spawner(const spawner&) = delete;
  spawner& operator=(const spawner&) = delete;

  pid_t spawn(std::function<pid_t()> job) {
    std::packaged_task<pid_t()> task{std::move(job)};
    auto result = task.get_future();
    {
      std::lock_guard lock{mutex_};
      jobs_.push_back(std::move(task));
    }
    wake_.notify_all();
    return result.get();
  }

private:
  void run() {
    for (;;) {
      std::packaged_task<pid_t()> task;
      {
        std::unique_lock lock{mutex_};
        wake_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) {
          return;
        }
        task = std::move(jobs_.front());
        jobs_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<pid_t()>> jobs_;
  bool stop_ = false;
  std::thread thread_; ///< last: starts after the members above exist
};

namespace {

std::string find_etcd() {
  if (const char* given = std::getenv("DEPLOYD_ETCD_BINARY")) {
    return given;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs{path != nullptr ? path : "/usr/bin:/bin"};
  std::string d;
  while (std::getline(dirs, d, ':')) {
    const auto candidate = fs::path(d) / "etcd";
    if (!d.empty() && access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  throw std::runtime_error(
      "etcd_cluster: no `etcd` on PATH (Debian package etcd-server; or set "
      "DEPLOYD_ETCD_BINARY)");
}

/// 2n distinct free ports: all bound at once to port 0, then released.
std::vector<std::uint16_t> free_ports(std::size_t n) {
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (const int fd : fds) {
    close(fd);
  }
  if (ports.size() != n) {
    throw std::runtime_error("etcd_cluster: cannot find free ports");
  }
  return ports;
}

std::string url(std::uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

/// SIGKILL-safe wait: reaps `pid`, or returns false when it still runs
/// after `grace`.
bool reap_within(pid_t pid, std::chrono::milliseconds grace) {
  const auto until = steady::now() + grace;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      return true;
    }
    if (steady::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
}

} // namespace

etcd_cluster::etcd_cluster(etcd_cluster_options options)
    : options_(std::move(options)), binary_(find_etcd()),
      spawner_(std::make_unique<spawner>()) {
  if (options_.members == 0) {
    throw std::invalid_argument("etcd_cluster: at least one member");
  }
  std::string pattern =
      (fs::temp_directory_path() / "deployd-etcd-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("etcd_cluster: mkdtemp failed");
  }
  dir_ = pattern;
  token_ = "deployd-test-" + std::to_string(getpid()) + "-" +
           dir_.filename().string().substr(13);
  members_.resize(options_.members);

  // A port found free can be taken before etcd binds it: start again on
  // fresh ports when a member says so.
  constexpr int attempts = 3;
  for (int attempt = 1;; ++attempt) {
    const auto ports = free_ports(2 * members_.size());
    std::string initial_cluster;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      auto& m = members_[i];
      m.name = "e" + std::to_string(i);
      m.client_port = ports[2 * i];
      m.peer_port = ports[2 * i + 1];
      initial_cluster += (i == 0 ? "" : ",") + m.name + "=" + url(m.peer_port);
    }
    for (std::size_t i = 0; i < members_.size(); ++i) {
      auto& m = members_[i];
      m.args = {binary_,
                "--name=" + m.name,
                "--data-dir=" + data_dir(i).string(),
                "--listen-client-urls=" + url(m.client_port),
                "--advertise-client-urls=" + url(m.client_port),
                "--listen-peer-urls=" + url(m.peer_port),
                "--initial-advertise-peer-urls=" + url(m.peer_port),
                "--initial-cluster=" + initial_cluster,
                "--initial-cluster-token=" + token_,
                "--initial-cluster-state=new",
                "--logger=zap",
                "--log-outputs=stderr"};
      m.args.insert(m.args.end(), options_.extra_flags.begin(),
                    options_.extra_flags.end());
    }
    auto c = storage::etcd::client::connect(endpoints());
    if (!c) {
      throw std::runtime_error("etcd_cluster: client: " + c.error().message);
    }
    client_ = std::move(*c);
    for (std::size_t i = 0; i < members_.size(); ++i) {
      start_member(i);
    }
    std::string why;
    if (wait_ready(options_.ready_timeout, std::nullopt, why)) {
      return;
    }
    const auto logs = all_log_tails();
    const bool port_taken =
        logs.find("address already in use") != std::string::npos;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      reap(i, SIGKILL, 0ms);
      std::error_code ignored;
      fs::remove_all(data_dir(i), ignored);
      fs::remove(log_file(i), ignored);
    }
    client_.reset();
    if (!port_taken || attempt == attempts) {
      spawner_.reset();
      fs::remove_all(dir_);
      throw std::runtime_error("etcd_cluster: no leader within " +
                               std::to_string(options_.ready_timeout.count()) +
                               " ms (" + why + ")\n" + logs);
    }
  }
}

etcd_cluster::etcd_cluster(std::size_t members,
                           std::vector<std::string> extra_flags)
    : etcd_cluster(etcd_cluster_options{members, std::move(extra_flags),
                                        etcd_cluster_options{}.ready_timeout}) {
}

etcd_cluster::~etcd_cluster() {
  client_.reset();
  for (std::size_t i = 0; i < members_.size(); ++i) {
    reap(i, SIGKILL, 0ms);
  }
  spawner_.reset();
  if (std::getenv("DEPLOYD_KEEP_ETCD_DIRS") == nullptr) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

// -- accessors ----------------------------------------------------------------

std::size_t etcd_cluster::size() const {
  return members_.size();
}

std::vector<std::string> etcd_cluster::endpoints() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    out.push_back(endpoint(i));
  }
  return out;
}

std::string etcd_cluster::endpoint(std::size_t i) const {
  return url(members_.at(i).client_port);
}

std::string etcd_cluster::endpoints_csv() const {
  std::string out;
  for (const auto& e : endpoints()) {
    out += (out.empty() ? "" : ",") + e;
  }
  return out;
}

std::uint16_t etcd_cluster::client_port(std::size_t i) const {
  return members_.at(i).client_port;
}

std::uint16_t etcd_cluster::peer_port(std::size_t i) const {
  return members_.at(i).peer_port;
}

fs::path etcd_cluster::dir() const {
  return dir_;
}

fs::path etcd_cluster::data_dir(std::size_t i) const {
  return dir_ / ("e" + std::to_string(i));
}

fs::path etcd_cluster::log_file(std::size_t i) const {
  return dir_ / ("e" + std::to_string(i) + ".log");
}

std::vector<std::string> etcd_cluster::command_line(std::size_t i) const {
  return members_.at(i).args;
}

bool etcd_cluster::running(std::size_t i) const {
  return members_.at(i).pid > 0;
}

bool etcd_cluster::paused(std::size_t i) const {
  return members_.at(i).paused;
}

pid_t etcd_cluster::pid(std::size_t i) const {
  return members_.at(i).pid;
}

// -- processes ----------------------------------------------------------------

void etcd_cluster::start_member(std::size_t i) {
  auto& m = members_.at(i);
  // Everything the child needs is built before fork(): the test process has
  // other threads (gRPC's), so the child only calls async-signal-safe
  // functions before execve.
  std::vector<char*> argv;
  for (auto& a : m.args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  // ETCD_* variables would override (or conflict with) our flags.
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "ETCD_", 5) != 0) {
      envp.push_back(*e);
    }
  }
  envp.push_back(nullptr);
  const std::string log = log_file(i).string();
  const pid_t parent = getpid();
  m.pid = spawner_->spawn([&]() -> pid_t {
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) {
        _exit(126);
      }
      const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int in = open("/dev/null", O_RDONLY);
      if (out < 0 || in < 0) {
        _exit(125);
      }
      dup2(in, STDIN_FILENO);
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    return pid;
  });
  m.paused = false;
  if (m.pid < 0) {
    throw std::runtime_error("etcd_cluster: fork failed");
  }
}

void etcd_cluster::reap(std::size_t i, int signal,
                        std::chrono::milliseconds grace) {
  auto& m = members_.at(i);
  if (m.pid <= 0) {
    return;
  }
  if (m.paused && signal != SIGKILL) {
    ::kill(m.pid, SIGCONT);
  }
  ::kill(m.pid, signal);
  if (!reap_within(m.pid, grace)) {
    ::kill(m.pid, SIGKILL);
    reap_within(m.pid, 60s);
  }
  m.pid = -1;
  m.paused = false;
}

void etcd_cluster::kill(std::size_t i) {
  reap(i, SIGKILL, 0ms);
}

void etcd_cluster::stop(std::size_t i) {
  reap(i, SIGTERM, 10s);
}

void etcd_cluster::restart(std::size_t i) {
  if (running(i)) {
    stop(i);
  }
  start_member(i);
  std::string why;
  if (!wait_ready(options_.ready_timeout, i, why)) {
    throw std::runtime_error("etcd_cluster: member " + std::to_string(i) +
                             " not ready after restart (" + why + ")\n" +
                             log_tail(i));
  }
}

void etcd_cluster::restart_stopped() {
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (!running(i))
      start_member(i);
  wait_for_leader(options_.ready_timeout);
}

void etcd_cluster::pause(std::size_t i) {
  auto& m = members_.at(i);
  if (m.pid > 0 && !m.paused) {
    ::kill(m.pid, SIGSTOP);
    m.paused = true;
  }
}

void etcd_cluster::resume(std::size_t i) {
  auto& m = members_.at(i);
  if (m.pid > 0 && m.paused) {
    ::kill(m.pid, SIGCONT);
    m.paused = false;
  }
}

// -- readiness ----------------------------------------------------------------

std::vector<storage::etcd::member_status> etcd_cluster::statuses() {
  auto s = client_->status(1000ms);
  if (!s) {
    return {};
  }
  return std::move(*s);
}

std::optional<std::size_t> etcd_cluster::leader() {
  const auto all = statuses();
  std::optional<std::uint64_t> agreed;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!running(i) || paused(i)) {
      continue;
    }
    if (!all[i].error.empty() || all[i].leader_id == 0 ||
        (agreed && *agreed != all[i].leader_id)) {
      return std::nullopt;
    }
    agreed = all[i].leader_id;
  }
  for (std::size_t i = 0; agreed && i < all.size(); ++i) {
    if (all[i].member_id == *agreed) {
      return i;
    }
  }
  return std::nullopt;
}

std::size_t etcd_cluster::wait_for_leader(std::chrono::milliseconds timeout) {
  const auto until = steady::now() + timeout;
  for (;;) {
    if (auto l = leader()) {
      return *l;
    }
    if (steady::now() >= until) {
      throw std::runtime_error("etcd_cluster: no leader within " +
                               std::to_string(timeout.count()) + " ms\n" +
                               all_log_tails());
    }
    std::this_thread::sleep_for(50ms);
  }
}

bool etcd_cluster::wait_ready(std::chrono::milliseconds timeout,
                              std::optional<std::size_t> only,
                              std::string& why) {
  const auto until = steady::now() + timeout;
  for (;;) {
    for (std::size_t i = 0; i < members_.size(); ++i) {
      auto& m = members_[i];
      if (m.pid > 0 && reap_within(m.pid, 0ms)) {
        m.pid = -1;
        why = "member " + std::to_string(i) + " exited";
        return false;
      }
    }
    if (only) {
      const auto all = statuses();
      if (all.size() > *only && all[*only].error.empty() &&
          all[*only].leader_id != 0) {
        return true;
      }
      why = "the member knows no leader";
    } else {
      if (leader()) {
        return true;
      }
      why = "the members do not agree on a leader";
    }
    if (steady::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
}

etcd_cluster::etcdctl_result
etcd_cluster::etcdctl(const std::vector<std::string>& args,
                      std::optional<std::size_t> only) const {
  std::vector<std::string> all = {
      "etcdctl", "--endpoints=" + (only ? endpoint(*only) : endpoints_csv()),
      "--command-timeout=5s"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("etcdctl: pipe failed");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  etcdctl_result result;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = read(fds[0], buffer.data(), buffer.size());
    if (n > 0) {
      result.output.append(buffer.data(), std::size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return result;
}

std::string etcd_cluster::log_tail(std::size_t i, std::size_t bytes) const {
  std::ifstream in{log_file(i), std::ios::binary};
  std::string text{std::istreambuf_iterator<char>(in), {}};
  if (text.size() > bytes) {
    text.erase(0, text.size() - bytes);
  }
  return text;
}

std::string etcd_cluster::all_log_tails() const {
  std::string out;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    out += "--- " + log_file(i).string() + " (tail)\n" + log_tail(i) + "\n";
  }
  return out;
}

} // namespace deployd::testing
