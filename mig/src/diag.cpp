#include "diag.h"

namespace mig {

std::string SourceLoc::str() const {
  if (!file) return "<unknown>";
  return *file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

void Diagnostics::emit(const SourceLoc& loc, const char* kind,
                       const std::string& msg) {
  if (loc.valid())
    std::fprintf(out_, "%s: %s: %s\n", loc.str().c_str(), kind, msg.c_str());
  else
    std::fprintf(out_, "mig: %s: %s\n", kind, msg.c_str());
}

void Diagnostics::error(const SourceLoc& loc, const std::string& msg) {
  ++errors_;
  if (errors_ <= max_errors_) emit(loc, "error", msg);
  if (errors_ == max_errors_ + 1)
    std::fprintf(out_, "mig: too many errors, further errors suppressed\n");
}

void Diagnostics::warning(const SourceLoc& loc, const std::string& msg) {
  ++warnings_;
  if (!quiet_) emit(loc, "warning", msg);
}

void Diagnostics::note(const SourceLoc& loc, const std::string& msg) {
  if (errors_ <= max_errors_) emit(loc, "note", msg);
}

void Diagnostics::fatal(const std::string& msg) {
  ++errors_;
  std::fprintf(out_, "mig: error: %s\n", msg.c_str());
}

}  // namespace mig
