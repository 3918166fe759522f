// Command-line options of the compiler, gathered in one struct (no globals).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mig {

struct Options {
  // Outputs. std::nullopt: use the default; "" (from "-user /dev/null" style
  // callers is kept as is). Apple MIG writes <subsystem>User.c,
  // <subsystem>Server.c and <subsystem>.h in the current directory when none
  // of -user/-server/-header is given.
  std::optional<std::string> user_file;
  std::optional<std::string> server_file;
  std::optional<std::string> header_file;
  std::optional<std::string> sheader_file;
  std::optional<std::string> iheader_file;
  std::optional<std::string> dheader_file;
  std::optional<std::string> cxx_file;

  std::string input = "-";               // .defs file, "-" = stdin
  std::vector<std::string> cpp_flags;    // -D, -U, -I (passed verbatim)
  bool quiet = false;                    // -q: no warnings
  bool verbose = false;                  // -v: say what is written
  bool no_preprocess = false;            // --no-cpp: read input as is
  bool dump_layout = false;              // --dump-layout: print layouts
};

// Parses argv. On error prints a message to stderr and returns nullopt;
// sets *exit_now (with *exit_code) for --help / --version.
std::optional<Options> parse_command_line(int argc, char** argv,
                                          bool* exit_now, int* exit_code);

}  // namespace mig
