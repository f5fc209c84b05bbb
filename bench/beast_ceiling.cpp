// The HTTP ceiling: a minimal asynchronous Beast server that answers every
// request (any method, any target) with the same ~1.5 KB JSON body.
//
// It does what deployd's HTTP layer must do at the least (accept, parse the
// request and its body, write a keep-alive response) and nothing else, so
// its rate is what our HTTP stack costs with no work behind it. Knows
// nothing of deployd. Benchmark tool, run by bench/run; never by CI.
//
// usage: beast_ceiling [--port P] [--port-file F] [--threads N]
//   --port 0 (the default) binds any free port on 127.0.0.1; the bound port
//   is printed and written to the port file.

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

/// A deployment-shaped JSON body of about 1.5 KB.
std::string make_body() {
  std::string body =
    R"({"id":"7b1c7a4e-2f7c-4d7e-9a57-3c2d0c1f5e11",)"
    R"("created":"2026-01-01T00:00:00.000001Z",)"
    R"("updated":"2026-01-01T00:00:00.000001Z","name":"bench-1-1",)"
    R"("version":null,"description":"load test",)"
    R"("flow_id":"0d4c6b8a-1e2f-4a3b-8c9d-5e6f7a8b9c0d","paused":false,)"
    R"("schedules":[],"concurrency_limit":null,"global_concurrency_limit":null,)"
    R"("concurrency_options":null,"job_variables":{},"parameters":{"x":1},)"
    R"("tags":["bench","t1"],"labels":{"prefect.flow.id":)"
    R"("0d4c6b8a-1e2f-4a3b-8c9d-5e6f7a8b9c0d"},"work_queue_name":null,)"
    R"("last_polled":null,"parameter_openapi_schema":{},"path":null,)"
    R"("pull_steps":null,"entrypoint":null,"storage_document_id":null,)"
    R"("infrastructure_document_id":null,"created_by":null,)"
    R"("updated_by":null,"work_queue_id":null,)"
    R"("enforce_parameter_schema":true,"work_pool_name":null,)"
    R"("status":"NOT_READY","padding":")";
  while (body.size() < 1500 - 2)
    body += 'x';
  body += "\"}";
  return body;
}

const std::string& body() {
  static const std::string b = make_body();
  return b;
}

void fail(beast::error_code ec, const char* what) {
  // Peers closing their connections is the normal end of a wrk run.
  if (ec == beast::http::error::end_of_stream ||
      ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == asio::error::eof)
    return;
  std::fprintf(stderr, "beast_ceiling: %s: %s\n", what, ec.message().c_str());
}

/// One connection: read a request, write the fixed response, repeat.
class session : public std::enable_shared_from_this<session> {
public:
  explicit session(tcp::socket socket) : stream_(std::move(socket)) {
    buffer_.reserve(8192);
  }

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&session::do_read,
                                             shared_from_this()));
  }

private:
  void do_read() {
    request_ = {};
    beast::http::async_read(
      stream_, buffer_, request_,
      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "read");
    response_ = {};
    response_.result(beast::http::status::ok);
    response_.version(request_.version());
    response_.set(beast::http::field::server, "beast_ceiling");
    response_.set(beast::http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = body();
    response_.prepare_payload();
    beast::http::async_write(
      stream_, response_,
      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "write");
    if (!response_.keep_alive()) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    do_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::http::request<beast::http::string_body> request_;
  beast::http::response<beast::http::string_body> response_;
};

/// Accepts connections and starts a session on a strand for each.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(asio::io_context& ioc, const tcp::endpoint& endpoint)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  [[nodiscard]] unsigned short port() const {
    return acceptor_.local_endpoint().port();
  }

  void run() {
    do_accept();
  }

private:
  void do_accept() {
    acceptor_.async_accept(
      asio::make_strand(ioc_),
      beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec)
      fail(ec, "accept");
    else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<session>(std::move(socket))->run();
    }
    do_accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
};

struct options {
  unsigned short port = 0;
  std::string port_file;
  int threads = 1;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--port" && has_value)
      o.port = static_cast<unsigned short>(std::atoi(argv[++i]));
    else if (arg == "--port-file" && has_value)
      o.port_file = argv[++i];
    else if (arg == "--threads" && has_value)
      o.threads = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: beast_ceiling [--port P] [--port-file F] "
                           "[--threads N]\n");
      std::exit(2);
    }
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  const auto opts = parse(argc, argv);
  asio::io_context ioc(opts.threads);
  std::shared_ptr<listener> server;
  try {
    server = std::make_shared<listener>(
      ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), opts.port));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beast_ceiling: cannot listen: %s\n", e.what());
    return 1;
  }
  server->run();
  std::printf("beast_ceiling: listening on 127.0.0.1:%u, %d thread(s), "
              "%zu-byte body\n",
              static_cast<unsigned>(server->port()), opts.threads,
              body().size());
  std::fflush(stdout);
  if (!opts.port_file.empty()) {
    std::ofstream(opts.port_file) << server->port() << '\n';
  }

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });

  std::vector<std::thread> extra;
  for (int i = 1; i < opts.threads; ++i)
    extra.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : extra)
    t.join();
  return 0;
}
