#include "core/json.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace qinfer {
namespace {

// Builds an ordered_json through nlohmann's SAX interface. Json::parse inserts every object
// key with ordered_map's linear duplicate search, which is quadratic: a 128k-entry tokenizer
// vocabulary takes ~10 s. Here large objects get a hash index instead. Same result as
// Json::parse, including duplicate keys (the last value wins, in the first key's position).
class OrderedBuilder {
 public:
  using Pair = std::pair<const std::string, Json>;
  using Storage = std::vector<Pair>;  // ordered_map's base class

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(Json(v)); }
  bool number_float(Json::number_float_t v, const std::string&) { return put(Json(v)); }
  bool string(std::string& v) { return put(Json(std::move(v))); }
  bool binary(Json::binary_t& v) { return put(Json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(Json::object()); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    levels_.back().key = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) {
    throw e;
  }
  Json take() { return std::move(root_); }

 private:
  struct Level {
    Json* node;
    std::string key;
    std::unique_ptr<std::unordered_map<std::string, size_t>> index;  // objects past kIndexAt
  };
  static constexpr size_t kIndexAt = 16;

  // Inserts v into the open container (or makes it the root); returns where it went.
  Json* insert(Json v) {
    if (levels_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Level& top = levels_.back();
    if (top.node->is_array()) {
      auto& arr = top.node->get_ref<Json::array_t&>();
      arr.push_back(std::move(v));
      return &arr.back();
    }
    Storage& obj = static_cast<Storage&>(top.node->get_ref<Json::object_t&>());
    if (top.index) {
      auto it = top.index->find(top.key);
      if (it != top.index->end()) return &(obj[it->second].second = std::move(v));
    } else {
      for (Pair& p : obj)
        if (p.first == top.key) return &(p.second = std::move(v));
    }
    obj.emplace_back(top.key, std::move(v));
    if (!top.index && obj.size() >= kIndexAt) {
      top.index = std::make_unique<std::unordered_map<std::string, size_t>>();
      for (size_t i = 0; i < obj.size(); ++i) top.index->emplace(obj[i].first, i);
    } else if (top.index) {
      top.index->emplace(top.key, obj.size() - 1);
    }
    return &obj.back().second;
  }
  bool put(Json v) {
    insert(std::move(v));
    return true;
  }
  bool open(Json v) {
    levels_.push_back(Level{insert(std::move(v)), {}, nullptr});
    return true;
  }
  bool close() {
    levels_.pop_back();
    return true;
  }

  Json root_;
  std::vector<Level> levels_;
};

}  // namespace

Json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QINFER_CHECK(in.good(), path, ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    OrderedBuilder builder;
    std::string text = ss.str();
    Json::sax_parse(text, &builder);
    return builder.take();
  } catch (const nlohmann::json::exception& e) {
    QINFER_FAIL(path, ": invalid JSON: ", e.what());
  }
}

void write_json_file(const std::string& path, const Json& j, int indent) {
  std::ofstream out(path, std::ios::binary);
  QINFER_CHECK(out.good(), path, ": cannot write");
  out << j.dump(indent) << "\n";
  QINFER_CHECK(out.good(), path, ": write failed");
}

}  // namespace qinfer
