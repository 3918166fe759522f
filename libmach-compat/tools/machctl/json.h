// libmach-compat/tools/machctl/json.h — a small JSON writer for machctl's
// --json output: objects, arrays, strings (escaped), integers, booleans and
// null, written in order to a string with no whitespace but a final newline.
// The caller nests begin/end calls correctly; keys are only given inside
// objects.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

class Json {
 public:
  Json& begin_object(std::string_view key = {}) { return open(key, '{'); }
  Json& end_object() { return close('}'); }
  Json& begin_array(std::string_view key = {}) { return open(key, '['); }
  Json& end_array() { return close(']'); }

  Json& str(std::string_view key, std::string_view v) {
    this->key(key);
    quote(v);
    return *this;
  }
  Json& num(std::string_view key, int64_t v) {
    this->key(key);
    out_ += std::to_string(v);
    return *this;
  }
  Json& unum(std::string_view key, uint64_t v) {
    this->key(key);
    out_ += std::to_string(v);
    return *this;
  }
  Json& boolean(std::string_view key, bool v) {
    this->key(key);
    out_ += v ? "true" : "false";
    return *this;
  }
  Json& null(std::string_view key) {
    this->key(key);
    out_ += "null";
    return *this;
  }

  // The document, with a final newline.
  std::string text() const { return out_ + "\n"; }

 private:
  Json& open(std::string_view k, char c) {
    key(k);
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  Json& close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  // A separator, then "key": when a key is given.
  void key(std::string_view k) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
    if (!k.empty()) {
      quote(k);
      out_ += ':';
    }
  }
  void quote(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += char(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
};
