#include "tests/integration/harness.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace deployd::testing {

namespace beast = boost::beast;
namespace net = boost::asio;

temp_dir::temp_dir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "deployd-test-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

json http_reply::json_body() const {
  if (body.empty())
    return nullptr;
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    FAIL("response is not JSON: " << body);
  }
  return nullptr;
}

namespace {

pid_t spawn(const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, int stdout_fd,
            const std::string& stderr_file = {}) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (const auto& [k, v] : env)
      setenv(k.c_str(), v.c_str(), 1);
    if (stdout_fd >= 0) {
      dup2(stdout_fd, STDOUT_FILENO);
      close(stdout_fd);
    }
    if (!stderr_file.empty()) {
      const int fd =
        open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
    }
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

} // namespace

deployd_process::deployd_process(process_options options) {
  if (options.data_dir.empty()) {
    owned_dir_.emplace();
    data_dir_ = (owned_dir_->path() / "data").string();
  } else {
    data_dir_ = options.data_dir;
  }
  port_file_ = data_dir_ + ".port";
  std::filesystem::remove(port_file_);
  std::vector<std::string> args = {
      DEPLOYD_BINARY, "serve",   "--host",      "127.0.0.1", "--port", "0",
      "--data-dir",   data_dir_, "--port-file", port_file_};
  if (!options.clock.empty()) {
    args.push_back("--clock");
    args.push_back(options.clock);
  }
  if (options.id_seed != 0) {
    args.push_back("--id-seed");
    args.push_back(std::to_string(options.id_seed));
  }
  for (const auto& a : options.extra_args)
    args.push_back(a);
  // The scheduler and late-runs services write on their own; a test that
  // wants them turns them on (`background_services`), so the others see
  // only the writes they make.
  if (!options.background_services)
    for (const char* name : {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED",
                             "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"})
      options.extra_env.try_emplace(name, "false");
  pid_ = spawn(args, options.extra_env, -1, options.stderr_file);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file_);
    unsigned port = 0;
    if (in >> port && port != 0) {
      port_ = static_cast<std::uint16_t>(port);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("deployd exited during start-up");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("deployd did not start listening within 30 s");
}

deployd_process::~deployd_process() {
  if (pid_ > 0)
    stop();
}

int deployd_process::stop() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  const int status = wait_for(pid_);
  pid_ = -1;
  return status;
}

void deployd_process::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  wait_for(pid_);
  pid_ = -1;
}

http_reply deployd_process::request(
    const std::string& method, const std::string& target,
    const std::optional<std::string>& body,
    const std::map<std::string, std::string>& headers) const {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  beast::http::request<beast::http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(beast::http::field::host, "127.0.0.1:" + std::to_string(port_));
  bool has_content_type = false;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
    if (beast::iequals(k, "content-type"))
      has_content_type = true;
  }
  if (body) {
    req.body() = *body;
    if (!has_content_type && !headers.contains("no-content-type"))
      req.set(beast::http::field::content_type, "application/json");
    req.erase("no-content-type");
  }
  req.prepare_payload();
  beast::http::write(stream, req);
  beast::flat_buffer buffer;
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(256u << 20);
  if (method == "HEAD")
    parser.skip(true);
  beast::http::read(stream, buffer, parser);
  const auto& res = parser.get();
  http_reply out;
  out.status = res.result_int();
  out.body = res.body();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return out;
}

http_reply deployd_process::get(const std::string& target) const {
  return request("GET", target);
}

http_reply deployd_process::post(const std::string& target,
                                 const json& body) const {
  return request("POST", target, body.dump());
}

json feed_events(const deployd_process& s, const std::string& prefix) {
  const auto r = s.post(
    "/api/events/filter",
    json{{"filter",
          {{"order", "ASC"},
           {"occurred",
            {{"since", "2000-01-01T00:00:00Z"},
             {"until", "2100-01-01T00:00:00Z"}}},
           {"event", {{"prefix", {prefix}}}}}},
         {"limit", 50}});
  REQUIRE(r.status == 200);
  return r.json_body().at("events");
}

tool_result run_tool(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {DEPLOYD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  char name[] = "/tmp/deployd-tool-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  const pid_t pid = spawn(argv, {}, fd);
  close(fd);
  tool_result r;
  r.status = wait_for(pid);
  std::ifstream in(name);
  std::stringstream ss;
  ss << in.rdbuf();
  r.out = ss.str();
  unlink(name);
  return r;
}

void check_verified(const std::string& data_dir) {
  const auto verified = run_tool({"verify", "--data-dir", data_dir});
  INFO(verified.out);
  CHECK(verified.status == 0);
  CHECK(verified.out.find(" 0 differences") != std::string::npos);
}

void verify_then_replay(const std::string& data_dir) {
  check_verified(data_dir);
  const auto replayed = run_tool({"replay", "--data-dir", data_dir});
  INFO(replayed.out);
  REQUIRE(replayed.status == 0);
}

tool_result run_tool_stderr(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {DEPLOYD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  char name[] = "/tmp/deployd-tool-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  const int null_fd = open("/dev/null", O_WRONLY);
  REQUIRE(null_fd >= 0);
  const pid_t pid = spawn(argv, env, null_fd, name);
  close(null_fd);
  tool_result r;
  r.status = wait_for(pid);
  std::ifstream in(name);
  std::stringstream ss;
  ss << in.rdbuf();
  r.out = ss.str();
  unlink(name);
  return r;
}

bool run_tool_killed(const std::vector<std::string>& args,
                     std::chrono::milliseconds after) {
  std::vector<std::string> argv = {DEPLOYD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const int null_fd = open("/dev/null", O_WRONLY);
  REQUIRE(null_fd >= 0);
  const pid_t pid = spawn(argv, {}, null_fd);
  close(null_fd);
  const auto deadline = std::chrono::steady_clock::now() + after;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, SIGKILL);
  wait_for(pid);
  return true;
}

tool_process::tool_process(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {DEPLOYD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_ = spawn(argv, {}, fds[1]);
  close(fds[1]);
  out_ = fds[0];
}

tool_process::~tool_process() {
  stop();
}

std::optional<std::string>
tool_process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
      auto line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_ < 0)
      return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[4096];
    const auto n = ::read(out_, buf, sizeof buf);
    if (n <= 0)
      return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

int tool_process::stop() {
  int status = 0;
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    status = wait_for(pid_);
    pid_ = -1;
  }
  if (out_ >= 0) {
    close(out_);
    out_ = -1;
  }
  return status;
}

json load_sample(const std::string& name) {
  std::ifstream in(std::string(DEPLOYD_SAMPLES_DIR) + "/" + name);
  REQUIRE(in.good());
  return json::parse(in);
}

process_options with_config(const temp_dir& dir, const std::string& ini) {
  const auto path = dir.path() / "deployd.ini";
  std::ofstream(path) << ini;
  process_options options;
  options.extra_args = {"--config", path.string()};
  return options;
}

// deployd is the only child this test process has while a test runs (the
// harness keeps its pid to itself).
pid_t deployd_pid() {
  std::vector<pid_t> found;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "children");
    pid_t pid = 0;
    while (in >> pid)
      found.push_back(pid);
  }
  REQUIRE(found.size() == 1);
  return found.front();
}

namespace {

long status_kib(pid_t pid, std::string_view key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(key))
      return std::stol(line.substr(key.size()));
  return -1;
}

} // namespace

long peak_rss_kib(pid_t pid) {
  return status_kib(pid, "VmHWM:");
}

long rss_kib(pid_t pid) {
  return status_kib(pid, "VmRSS:");
}

void raise_own_descriptor_limit(std::uint64_t wanted) {
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur >= wanted)
    return;
  limit.rlim_cur = std::min<rlim_t>(wanted, limit.rlim_max);
  REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE(limit.rlim_cur >= wanted);
}

double metric_value(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n')
      return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

std::string base64(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

} // namespace deployd::testing
