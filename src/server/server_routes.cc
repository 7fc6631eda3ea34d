// The routes of `qinfer serve`: vLLM's OpenAI-compatible endpoints plus /health, /version,
// /metrics, /tokenize, /detokenize.
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "core/log.h"
#include "server/api_error.h"
#include "server/json_fields.h"
#include "server/response.h"
#include "server/server.h"
#include "server/server_internal.h"

namespace qinfer::server {
namespace {

using httplib::DataSink;

// Runs a handler, turning every failure into an error response (never a crash).
template <typename F>
httplib::Server::Handler guarded(F f) {
  return [f](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (const ApiError& e) {
      tl_log.error = e.what();
      send_json(res, e.status, error_json(e));
    } catch (const Error& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, str_cat("internal error: ", e.what()));
    }
  };
}

void log_request(const httplib::Request& req, const httplib::Response& res) {
  Json j = Json::object();
  j["ts"] = unix_time();
  j["event"] = "http_request";
  j["method"] = req.method;
  j["path"] = req.path;
  j["status"] = res.status;
  j["remote"] = req.remote_addr;
  if (!tl_log.id.empty()) j["request_id"] = tl_log.id;
  if (tl_log.prompt_tokens) j["prompt_tokens"] = tl_log.prompt_tokens;
  if (tl_log.completion_tokens) j["completion_tokens"] = tl_log.completion_tokens;
  if (!tl_log.finish.empty()) j["finish_reason"] = tl_log.finish;
  if (!tl_log.error.empty()) j["error"] = tl_log.error;
  if (tl_log.start > 0) j["duration_s"] = now_s() - tl_log.start;
  std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  tl_log = RequestLog{};
}

std::string finish_summary(const Json& resp) {
  std::string s;
  if (resp.contains("choices"))
    for (const Json& c : resp["choices"])
      if (c.contains("finish_reason") && c["finish_reason"].is_string()) {
        if (!s.empty()) s += ",";
        s += c["finish_reason"].get<std::string>();
      }
  return s;
}

// The socket of a request's connection. cpp-httplib 0.11 does not expose it, and a
// non-streaming handler only writes at the end, so without it a client that hangs up is
// noticed only when its whole completion is done. Found by matching the connection's
// addresses (remote and local port) against this process's sockets; -1 if not found.
int find_client_socket(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  auto port_of = [](const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return int(ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port));
    if (a.ss_family == AF_INET6)
      return int(ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port));
    return -1;
  };
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    struct stat st;
    if (fd <= 2 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, self{};
    socklen_t lp = sizeof peer, ls = sizeof self;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &lp) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&self), &ls) != 0)
      continue;
    if (port_of(peer) == req.remote_port && port_of(self) == req.local_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

// True when the peer closed its end (or the connection broke).
bool client_gone(int fd) {
  pollfd p{.fd = fd, .events = POLLRDHUP, .revents = 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

// /tokenize: the prompt form or the chat form (as /v1/chat/completions renders it).
Json tokenize_body(const Json& body, const ServeConfig& cfg) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  check_model(body, cfg);
  std::vector<int32_t> ids;
  if (field(body, "messages")) {
    Json tools = field(body, "tools") ? body["tools"] : Json();
    ids = render_chat(body, cfg, &tools);
  } else {
    std::optional<std::string> prompt = opt_string(body, "prompt");
    if (!prompt) throw bad_request("'prompt' (a string) or 'messages' is required", "prompt");
    ids = cfg.tok->encode(*prompt, opt_bool(body, "add_special_tokens").value_or(true));
  }
  return Json{{"count", ids.size()}, {"max_model_len", cfg.max_model_len}, {"tokens", ids},
              {"token_strs", nullptr}};
}

Json detokenize_body(const Json& body, const ServeConfig& cfg) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  check_model(body, cfg);
  if (!field(body, "tokens")) throw bad_request("'tokens' is required", "tokens");
  std::vector<int32_t> ids = opt_token_ids(body, "tokens");
  for (int32_t t : ids)
    if (t >= cfg.vocab_size)
      throw bad_request(str_cat("token id ", t, " is out of range"), "tokens");
  return Json{{"prompt", cfg.tok->decode(ids, false)}};
}

}  // namespace

void generate(engine::Engine& eng, const ServeConfig& cfg, ParsedRequest pr,
              const httplib::Request& req, httplib::Response& res) {
  auto g = std::make_shared<Generation>(eng, std::move(pr), cfg);
  tl_log.id = g->pr.id;
  tl_log.prompt_tokens = g->rb->prompt_tokens();
  g->submit();
  if (!g->pr.stream) {
    double start = now_s();
    int fd = -2;  // looked up once the request has run a while
    while (!g->rb->finished()) {
      g->pump(0.25);
      if (g->rb->finished() || now_s() - start < 0.25) continue;
      if (fd == -2) fd = find_client_socket(req);
      if (fd >= 0 && client_gone(fd)) {
        g->abort_all();  // free its KV blocks; nobody will read the answer
        throw ApiError(499, "ClientClosedRequest", "client disconnected");
      }
    }
    if (!g->rb->error().empty())
      throw ApiError(500, "InternalServerError", str_cat("generation failed: ", g->rb->error()));
    Json resp = g->rb->response();
    tl_log.completion_tokens = g->rb->completion_tokens();
    tl_log.finish = finish_summary(resp);
    send_json(res, 200, resp);
    return;
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [g](size_t, DataSink& sink) {
        auto write = [&sink](const std::string& s) { return sink.write(s.data(), s.size()); };
        if (!g->closed) {
          g->closed = true;  // first call: announce the choices
          for (const Json& c : g->rb->start_chunks())
            if (!write(sse(c))) return false;
        }
        while (!g->rb->finished()) {
          for (const Json& c : g->pump(0.5))
            if (!write(sse(c))) return false;  // client gone: the releaser aborts
        }
        if (!g->rb->error().empty())
          write(sse(error_json(500, "InternalServerError", g->rb->error())));
        if (g->pr.include_usage && !write(sse(g->rb->usage_chunk()))) return false;
        if (!write("data: [DONE]\n\n")) return false;
        tl_log.completion_tokens = g->rb->completion_tokens();
        tl_log.finish = g->rb->finish_summary();
        sink.done();
        return true;
      },
      [g](bool success) {
        if (!success || !g->rb->finished()) {
          g->abort_all();  // client disconnected mid-stream: free its KV blocks now
          tl_log.error = "client disconnected";
        }
      });
}

void Server::install_routes() {
  httplib::Server& s = *http_;
  s.set_logger(log_request);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    tl_log = RequestLog{};
    tl_log.start = now_s();
    if (opt_.api_key.empty() || req.path.rfind("/v1/", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    std::string auth = req.get_header_value("Authorization");
    if (auth == "Bearer " + opt_.api_key) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, 401, "Unauthorized: missing or invalid API key (Authorization: Bearer ...)");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses cpp-httplib sets by itself (404 route, 413 body, 400 bad HTTP) get a JSON body.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 404   ? str_cat("no route for ", req.method, " ", req.path)
                      : res.status == 413 ? "request body too large"
                                          : str_cat("HTTP error ", res.status);
    send_error(res, res.status, msg);
  });

  s.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  s.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  s.Get("/version", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, Json{{"version", cfg_.version}});
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_metrics(eng_.metrics(), cfg_.model_names.front()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/v1/models", guarded([this](const httplib::Request&, httplib::Response& res) {
    Json data = Json::array();
    for (const std::string& n : cfg_.model_names)
      data.push_back({{"id", n}, {"object", "model"}, {"created", unix_time()},
                      {"owned_by", "qinfer"}, {"root", cfg_.model_path}, {"parent", nullptr},
                      {"max_model_len", cfg_.max_model_len}});
    send_json(res, 200, Json{{"object", "list"}, {"data", data}});
  }));
  s.Post("/v1/completions", guarded([this](const httplib::Request& req, httplib::Response& res) {
    if (!accepting_) throw ApiError(503, "ServiceUnavailableError", "the server is shutting down");
    generate(eng_, cfg_, parse_completion(parse_body(req), cfg_), req, res);
  }));
  s.Post("/v1/chat/completions",
         guarded([this](const httplib::Request& req, httplib::Response& res) {
           if (!accepting_)
             throw ApiError(503, "ServiceUnavailableError", "the server is shutting down");
           generate(eng_, cfg_, parse_chat(parse_body(req), cfg_), req, res);
         }));
  auto tokenize = guarded([this](const httplib::Request& req, httplib::Response& res) {
    send_json(res, 200, tokenize_body(parse_body(req), cfg_));
  });
  s.Post("/tokenize", tokenize);
  s.Post("/v1/tokenize", tokenize);
  auto detokenize = guarded([this](const httplib::Request& req, httplib::Response& res) {
    send_json(res, 200, detokenize_body(parse_body(req), cfg_));
  });
  s.Post("/detokenize", detokenize);
  s.Post("/v1/detokenize", detokenize);
}

}  // namespace qinfer::server
