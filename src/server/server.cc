#include "server/server.h"

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <httplib.h>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "server/api_error.h"
#include "server/response.h"
#include "server/server_internal.h"

namespace qinfer::server {

thread_local RequestLog tl_log;

Server::Server(engine::Engine& eng, ServeConfig cfg, ServerOptions opt)
    : eng_(eng), cfg_(std::move(cfg)), opt_(std::move(opt)),
      http_(std::make_unique<httplib::Server>()) {
  int n_threads = opt_.n_threads > 0 ? opt_.n_threads : int(cfg_.max_num_seqs) + 64;
  http_->new_task_queue = [n_threads] { return new httplib::ThreadPool(size_t(n_threads)); };
  http_->set_payload_max_length(opt_.max_body_bytes);
  http_->set_keep_alive_max_count(1000);
  http_->set_read_timeout(60, 0);
  http_->set_write_timeout(60, 0);
  // Remember the listening socket so that bind() can raise its backlog (cpp-httplib 0.11
  // listens with a backlog of 5, which drops connections under a burst of clients).
  http_->set_socket_options([this](int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = fd;
  });
  install_routes();
}

Server::~Server() = default;

int Server::bind() {
  int port = opt_.port == 0 ? http_->bind_to_any_port(opt_.host)
                            : (http_->bind_to_port(opt_.host, opt_.port) ? opt_.port : -1);
  QINFER_CHECK(port > 0, "serve: cannot listen on ", opt_.host, ":", opt_.port,
               " (address in use or not permitted)");
  if (listen_fd_ >= 0) ::listen(listen_fd_, 4096);
  return port;
}

void Server::run() { http_->listen_after_bind(); }

void Server::shutdown() {
  if (!accepting_.exchange(false)) return;
  QINFER_LOG(kInfo, "serve: shutting down: no new requests, finishing in-flight ones");
  double deadline = now_s() + opt_.shutdown_timeout_s;
  while (!eng_.idle() && now_s() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!eng_.idle()) QINFER_LOG(kWarn, "serve: aborting requests still running after ",
                               opt_.shutdown_timeout_s, " s");
  eng_.stop(false);  // aborts what is left: every stream gets its final chunk
  http_->stop();
}

}  // namespace qinfer::server
