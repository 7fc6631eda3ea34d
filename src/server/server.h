// The OpenAI-compatible HTTP server (`qinfer serve`): routes, auth, limits, SSE streaming,
// metrics and graceful shutdown over one engine. A thin adapter: requests are parsed by
// protocol.h, responses built by response.h, everything else is the engine's.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "server/protocol.h"

namespace httplib {
class Server;
}

namespace qinfer::server {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8000;                       // 0: any free port (tests)
  std::string api_key;                   // non-empty: /v1/* need "Authorization: Bearer KEY"
  size_t max_body_bytes = 32u << 20;     // larger bodies get 413
  int n_threads = 0;                     // HTTP worker threads; 0: max_num_seqs + 64
  double shutdown_timeout_s = 30.0;      // SIGTERM: how long in-flight requests may finish
};

class Server {
 public:
  Server(engine::Engine& eng, ServeConfig cfg, ServerOptions opt);
  ~Server();
  // Binds the listening socket; returns the port (useful with port 0).
  int bind();
  // Serves until shutdown(); returns when every connection is closed.
  void run();
  // Graceful: stop accepting, let in-flight requests finish (up to the timeout, then abort
  // them), stop. Safe from any thread, once or more.
  void shutdown();

 private:
  void install_routes();

  engine::Engine& eng_;
  ServeConfig cfg_;
  ServerOptions opt_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> accepting_{true};
  int listen_fd_ = -1;
};

// The Prometheus text exposition of the engine's metrics (vLLM's names, model_name label).
std::string render_metrics(const engine::EngineMetrics& m, const std::string& model_name);

}  // namespace qinfer::server
