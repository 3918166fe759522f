// Diagnostics: errors and warnings printed as they are found, in the
// format "file:line:column: error: <message>".
//
// The compiler keeps going after an error (the parser recovers at ';') so a
// single run reports several problems; main() exits non-zero if any error
// was reported. Messages are kept until flush(), which prints them in
// source order (the lexer runs ahead of the parser).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "source.h"

namespace mig {

class Diagnostics {
 public:
  explicit Diagnostics(std::FILE* out = stderr) : out_(out) {}

  void error(const SourceLoc& loc, const std::string& msg);
  void warning(const SourceLoc& loc, const std::string& msg);
  void note(const SourceLoc& loc, const std::string& msg);
  // An error not tied to a position (bad option, I/O failure).
  void fatal(const std::string& msg);

  // Prints the buffered messages, by file (in order of first mention),
  // line and column. Called by main() before exiting.
  void flush();
  ~Diagnostics() { flush(); }

  int errors() const { return errors_; }
  void set_quiet(bool q) { quiet_ = q; }  // -q: suppress warnings

 private:
  void emit(const SourceLoc& loc, const char* kind, const std::string& msg);

  struct Pending {
    SourceLoc loc;
    std::string text;
    size_t seq;
  };
  std::vector<Pending> pending_;
  std::FILE* out_;
  int errors_ = 0;
  static constexpr int kMaxErrors = 50;
  bool quiet_ = false;
};

}  // namespace mig
