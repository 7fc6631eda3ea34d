// Server-private pieces shared by server.cc and server_routes.cc: the channel that carries
// engine outputs to an HTTP worker, one generation (submit, pump, abort), the per-request
// log record, JSON/SSE helpers.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "engine/engine.h"
#include "server/api_error.h"
#include "server/response.h"

namespace qinfer::server {


inline double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Engine outputs for one HTTP request, handed from the engine thread to the HTTP worker.
struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<size_t, RequestOutput>> q;

  void push(size_t p, RequestOutput&& o) {
    std::lock_guard<std::mutex> lock(mu);
    q.emplace_back(p, std::move(o));
    cv.notify_one();
  }
  // Waits for outputs (at most `timeout_s`) and takes them all.
  std::deque<std::pair<size_t, RequestOutput>> take(double timeout_s) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::duration<double>(timeout_s), [this] { return !q.empty(); });
    std::deque<std::pair<size_t, RequestOutput>> out;
    out.swap(q);
    return out;
  }
};

// One structured log line per request, filled in by the handler (the same worker thread
// runs the handler, the stream and the logger).
struct RequestLog {
  std::string id;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string finish;
  std::string error;
  double start = 0.0;
};
extern thread_local RequestLog tl_log;

inline void send_json(httplib::Response& res, int status, const Json& j) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

inline void send_error(httplib::Response& res, int status, const std::string& message,
                const std::optional<std::string>& param = std::nullopt) {
  tl_log.error = message;
  send_json(res, status, error_json(status, error_type(status), message, param));
}

inline std::string sse(const Json& j) {
  return "data: " + j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

inline Json parse_body(const httplib::Request& req) {
  try {
    return Json::parse(req.body);
  } catch (const std::exception& e) {
    throw bad_request(str_cat("malformed JSON body: ", e.what()));
  }
}

// A streaming or whole generation response over the engine.
struct Generation {
  engine::Engine& eng;
  ParsedRequest pr;
  std::unique_ptr<ResponseBuilder> rb;
  std::shared_ptr<Channel> ch = std::make_shared<Channel>();
  bool started = false;
  bool closed = false;

  Generation(engine::Engine& e, ParsedRequest p, const ServeConfig& cfg)
      : eng(e), pr(std::move(p)), rb(std::make_unique<ResponseBuilder>(pr, cfg)) {}

  // Submits every prompt; 429 when the queue is full (already submitted ones are aborted).
  void submit() {
    for (size_t i = 0; i < pr.reqs.size(); ++i) {
      try {
        eng.validate(pr.reqs[i]);
      } catch (const Error& e) {
        abort_all();
        throw bad_request(e.what());
      }
      std::weak_ptr<Channel> w = ch;
      bool ok = eng.submit(pr.reqs[i], [w, i](RequestOutput&& o) {
        if (auto c = w.lock()) c->push(i, std::move(o));
      });
      if (!ok) {
        abort_all();
        throw ApiError(429, "RateLimitError",
                       "The server is at capacity (--max-queue requests waiting); retry later.");
      }
      started = true;
    }
  }
  void abort_all() {
    for (const Request& r : pr.reqs) eng.abort(r.id);
  }
  // Applies available outputs; returns the stream chunks they make.
  std::vector<Json> pump(double timeout_s) {
    std::vector<Json> chunks;
    for (auto& [p, o] : ch->take(timeout_s)) {
      auto c = rb->apply(p, std::move(o));
      chunks.insert(chunks.end(), c.begin(), c.end());
    }
    return chunks;
  }
};

// Runs a parsed generation request: a whole JSON response, or an SSE stream.
void generate(engine::Engine& eng, const ServeConfig& cfg, ParsedRequest pr,
              const httplib::Request& req, httplib::Response& res);

}  // namespace qinfer::server
