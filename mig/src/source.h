// Source positions for diagnostics.
//
// A SourceLoc names the *original* .defs file (after following the C
// preprocessor's line markers), a 1-based line and a 1-based column.
#pragma once

#include <memory>
#include <string>

namespace mig {

struct SourceLoc {
  std::shared_ptr<const std::string> file;  // shared: many tokens, few files
  int line = 0;
  int column = 0;

  bool valid() const { return file != nullptr; }
  std::string str() const;  // "file:line:col" (or "<unknown>")
};

}  // namespace mig
