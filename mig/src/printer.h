// A small printer for generated code: one call per line, indentation with
// tabs (like Apple's MIG output), preprocessor lines never indented.
//
//   Printer p;
//   p("if ({} > {}) {{", count, max);
//   { Printer::Indent in(p); p("return MIG_ARRAY_TOO_LARGE;"); }
//   p("}}");
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

namespace mig {

class Printer {
 public:
  template <typename... Args>
  void operator()(fmt::format_string<Args...> f, Args&&... args) {
    line(fmt::format(f, std::forward<Args>(args)...));
  }
  void line(std::string_view s) {
    if (!s.empty() && s[0] != '#') out_.append(static_cast<size_t>(depth_), '\t');
    out_.append(s);
    out_.push_back('\n');
  }
  void blank() { out_.push_back('\n'); }
  void raw(std::string_view s) { out_.append(s); }
  void in() { ++depth_; }
  void out() { --depth_; }
  int depth() const { return depth_; }

  class Indent {
   public:
    explicit Indent(Printer& p, int n = 1) : p_(p), n_(n) { p_.depth_ += n_; }
    ~Indent() { p_.depth_ -= n_; }
    Indent(const Indent&) = delete;
    Indent& operator=(const Indent&) = delete;

   private:
    Printer& p_;
    int n_;
  };

  const std::string& str() const { return out_; }

 private:
  std::string out_;
  int depth_ = 0;
};

}  // namespace mig
