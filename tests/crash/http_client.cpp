#include "tests/crash/http_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace deployd::testing::raw {

namespace {

using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - steady::now())
                      .count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// A chunked body starting at `from`: the decoded body and the end offset.
std::optional<std::pair<std::string, std::size_t>>
parse_chunked(std::string_view buffer, std::size_t from) {
  std::string body;
  std::size_t at = from;
  while (true) {
    const auto eol = buffer.find("\r\n", at);
    if (eol == std::string_view::npos)
      return std::nullopt;
    std::size_t size = 0;
    const auto line = buffer.substr(at, eol - at);
    std::from_chars(line.data(), line.data() + line.size(), size, 16);
    at = eol + 2;
    if (size == 0) {
      const auto end = buffer.find("\r\n", at);  // no trailers expected
      if (end == std::string_view::npos)
        return std::nullopt;
      return std::pair{std::move(body), end + 2};
    }
    if (buffer.size() < at + size + 2)
      return std::nullopt;
    body.append(buffer.substr(at, size));
    at += size + 2;
  }
}

} // namespace

std::optional<std::pair<reply, std::size_t>>
parse_response(std::string_view buffer, bool head) {
  const auto end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return std::nullopt;
  reply r;
  const auto status_end = buffer.find("\r\n");
  const auto status_line = buffer.substr(0, status_end);
  const auto space = status_line.find(' ');
  if (space == std::string_view::npos)
    return std::pair{r, end + 4};
  std::from_chars(status_line.data() + space + 1,
                  status_line.data() + status_line.size(), r.status);
  std::size_t at = status_end + 2;
  while (at < end) {
    const auto eol = buffer.find("\r\n", at);
    const auto line = buffer.substr(at, eol - at);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos)
      r.headers[lower(line.substr(0, colon))] =
        std::string(trim(line.substr(colon + 1)));
    at = eol + 2;
  }
  const std::size_t body_start = end + 4;
  if (head || r.status < 200 || r.status == 204 || r.status == 304)
    return std::pair{std::move(r), body_start};
  if (const auto te = r.headers.find("transfer-encoding");
      te != r.headers.end() && lower(te->second).find("chunked") !=
                                 std::string::npos) {
    auto chunked = parse_chunked(buffer, body_start);
    if (!chunked)
      return std::nullopt;
    r.body = std::move(chunked->first);
    return std::pair{std::move(r), chunked->second};
  }
  std::size_t length = 0;
  if (const auto cl = r.headers.find("content-length"); cl != r.headers.end())
    std::from_chars(cl->second.data(), cl->second.data() + cl->second.size(),
                    length);
  if (buffer.size() < body_start + length)
    return std::nullopt;
  r.body = std::string(buffer.substr(body_start, length));
  return std::pair{std::move(r), body_start + length};
}

std::string
format_request(std::string_view method, std::string_view target,
               const std::optional<std::string>& body,
               const std::vector<std::pair<std::string, std::string>>& extra,
               bool keep_alive) {
  std::string out;
  out.reserve(256 + (body ? body->size() : 0));
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  out.append("Host: 127.0.0.1\r\n");
  bool has_type = false;
  for (const auto& [name, value] : extra) {
    out.append(name).append(": ").append(value).append("\r\n");
    if (lower(name) == "content-type")
      has_type = true;
  }
  if (body) {
    if (!has_type)
      out.append("Content-Type: application/json\r\n");
    out.append("Content-Length: ")
      .append(std::to_string(body->size()))
      .append("\r\n");
  }
  if (!keep_alive)
    out.append("Connection: close\r\n");
  out.append("\r\n");
  if (body)
    out.append(*body);
  return out;
}

connection::~connection() {
  close();
}

connection::connection(connection&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {
}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void connection::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool connection::open(std::uint16_t port, std::chrono::milliseconds timeout) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    return false;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) ==
      0)
    return true;
  if (errno != EINPROGRESS) {
    close();
    return false;
  }
  pollfd p{fd_, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    close();
    return false;
  }
  int error = 0;
  socklen_t len = sizeof error;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) {
    close();
    return false;
  }
  return true;
}

bool connection::send(std::string_view bytes,
                      std::chrono::milliseconds timeout) {
  if (fd_ < 0)
    return false;
  const auto deadline = steady::now() + timeout;
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      const int left = remaining_ms(deadline);
      if (left == 0 || ::poll(&p, 1, left) <= 0)
        return false;
      continue;
    }
    return false;
  }
  return true;
}

bool connection::fill(steady::time_point deadline) {
  char chunk[16384];
  while (true) {
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0)
      return false;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return false;
    pollfd p{fd_, POLLIN, 0};
    const int left = remaining_ms(deadline);
    if (left == 0 || ::poll(&p, 1, left) <= 0)
      return false;
  }
}

std::optional<reply> connection::read_reply(std::chrono::milliseconds timeout,
                                            bool head) {
  if (fd_ < 0)
    return std::nullopt;
  const auto deadline = steady::now() + timeout;
  while (true) {
    if (auto parsed = parse_response(buffer_, head)) {
      buffer_.erase(0, parsed->second);
      if (parsed->first.status >= 200)
        return std::move(parsed->first);
      continue;
    }
    if (!fill(deadline))
      return std::nullopt;
  }
}

bool connection::closed_within(std::chrono::milliseconds timeout) {
  if (fd_ < 0)
    return true;
  const auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0)
      return true;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return true;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, remaining_ms(deadline));
  }
  return false;
}

std::optional<reply>
request(std::uint16_t port, std::string_view method, std::string_view target,
        const std::optional<std::string>& body,
        const std::vector<std::pair<std::string, std::string>>& extra,
        std::chrono::milliseconds timeout) {
  connection c;
  if (!c.open(port, timeout))
    return std::nullopt;
  if (!c.send(format_request(method, target, body, extra, false), timeout))
    return std::nullopt;
  return c.read_reply(timeout, method == "HEAD");
}

} // namespace deployd::testing::raw
