#include "tests/crash/http_client.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/asio/buffer.hpp>

#include <arpa/inet.h>
#include <cerrno>
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

} // namespace

std::optional<std::pair<reply, std::size_t>>
parse_response(std::string_view buffer, bool head) {
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  parser.header_limit(1u << 20);
  parser.body_limit(boost::none);
  boost::beast::error_code ec;
  std::size_t used = 0;
  // The header first: a reply whose Content-Length is not all here yet is
  // not parsed further, so a caller that retries after every read does not
  // copy a 12 MB body once per 16 kB it receives.
  while (!parser.is_header_done() && used < buffer.size()) {
    const auto n = parser.put(
        boost::asio::buffer(buffer.data() + used, buffer.size() - used), ec);
    used += n;
    if (ec == http::error::need_more)
      return std::nullopt;
    if (ec)
      return std::pair{reply{}, buffer.size()};
    if (n == 0)
      break;
  }
  if (!parser.is_header_done())
    return std::nullopt;
  if (const auto length = parser.content_length();
      !head && length && buffer.size() - used < *length)
    return std::nullopt;
  parser.eager(true);
  while (!parser.is_done() && used < buffer.size()) {
    const auto n = parser.put(
        boost::asio::buffer(buffer.data() + used, buffer.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec) // not HTTP: one unreadable reply that takes everything
      return std::pair{reply{}, buffer.size()};
    if (n == 0)
      break;
  }
  if (!parser.is_done()) {
    // A body that only the connection's end delimits is not something
    // deployd sends: take what is there.
    if (!parser.is_header_done() || !parser.need_eof())
      return std::nullopt;
    used = buffer.size();
  }
  reply r;
  const auto& m = parser.get();
  r.status = m.result_int();
  for (const auto& field : m)
    r.headers[lower(field.name_string())] = std::string(field.value());
  r.body = m.body();
  return std::pair{std::move(r), used};
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
