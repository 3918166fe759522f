// Command-line parsing, compatible with Apple's mig(1) wrapper + migcom.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "machd_version.h"
#include "options.h"

namespace mig {
namespace {

const char kUsage[] =
    "usage: mig [options] file.defs\n"
    "\n"
    "Compiles a Mach Interface Generator (.defs) file into C stubs.\n"
    "\n"
    "outputs (defaults: <subsystem>User.c, <subsystem>Server.c, <subsystem>.h\n"
    "when none of -user/-server/-header is given):\n"
    "  -user FILE      user (client) stubs\n"
    "  -server FILE    server stubs and demux\n"
    "  -header FILE    user header (prototypes, message structs)\n"
    "  -sheader FILE   server header\n"
    "  -iheader FILE   internal header (server routine prototypes)\n"
    "  -dheader FILE   definitions header (message ids)\n"
    "  -cxx FILE       typed C++ face (client and server classes)\n"
    "\n"
    "preprocessor ($CPP, or 'cc -E -x c'):\n"
    "  -DNAME[=VALUE]  -UNAME  -IDIR   passed to the C preprocessor\n"
    "  --no-cpp        do not run the C preprocessor\n"
    "\n"
    "other:\n"
    "  -novouchers     do not emit voucher code (never emitted here)\n"
    "  -q / -Q         quiet: no warnings / warnings (default)\n"
    "  -v / -V         verbose / not verbose\n"
    "  -maxonstack N, -split, -arch A, -target T, -isysroot D   accepted\n"
    "  --dump-layout   print the message layouts and exit\n"
    "  --help          this text\n"
    "  --version       the version (of the machd project) and exit\n";

bool takes_value(const std::string& a) {
  return a == "-user" || a == "-server" || a == "-header" ||
         a == "-sheader" || a == "-iheader" || a == "-dheader" ||
         a == "-cxx" || a == "-maxonstack" || a == "-arch" ||
         a == "-target" || a == "-isysroot" || a == "-migcom" ||
         a == "-cc";
}

}  // namespace

std::optional<Options> parse_command_line(int argc, char** argv,
                                          bool* exit_now, int* exit_code) {
  Options o;
  *exit_now = false;
  bool have_input = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-help" || a == "-h") {
      std::fputs(kUsage, stdout);
      *exit_now = true;
      *exit_code = 0;
      return std::nullopt;
    }
    if (a == "--version" || a == "-version") {
      std::puts("mig (machd) " MACHD_VERSION);
      *exit_now = true;
      *exit_code = 0;
      return std::nullopt;
    }
    if (takes_value(a)) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mig: error: option '%s' needs a value\n",
                     a.c_str());
        return std::nullopt;
      }
      std::string v = argv[++i];
      if (a == "-user") o.user_file = v;
      else if (a == "-server") o.server_file = v;
      else if (a == "-header") o.header_file = v;
      else if (a == "-sheader") o.sheader_file = v;
      else if (a == "-iheader") o.iheader_file = v;
      else if (a == "-dheader") o.dheader_file = v;
      else if (a == "-cxx") o.cxx_file = v;
      else if (a == "-maxonstack") {
        char* end = nullptr;
        (void)std::strtol(v.c_str(), &end, 10);
        if (!end || *end) {
          std::fprintf(stderr, "mig: error: -maxonstack needs a number\n");
          return std::nullopt;
        }
      }
      // -maxonstack, -arch, -target, -isysroot, -migcom, -cc: accepted and
      // ignored.
      continue;
    }
    if (a.size() > 2 && (a.compare(0, 2, "-D") == 0 ||
                         a.compare(0, 2, "-U") == 0 ||
                         a.compare(0, 2, "-I") == 0)) {
      o.cpp_flags.push_back(a);
      continue;
    }
    if (a == "-D" || a == "-U" || a == "-I") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mig: error: option '%s' needs a value\n",
                     a.c_str());
        return std::nullopt;
      }
      o.cpp_flags.push_back(a + argv[++i]);
      continue;
    }
    if (a == "-q") { o.quiet = true; continue; }
    if (a == "-Q") { o.quiet = false; continue; }
    if (a == "-v") { o.verbose = true; continue; }
    if (a == "-V") { o.verbose = false; continue; }
    if (a == "--no-cpp") { o.no_preprocess = true; continue; }
    if (a == "--dump-layout") { o.dump_layout = true; continue; }
    // -novouchers, -split and old migcom flags without values: accepted
    // and ignored.
    if (a == "-novouchers" || a == "-split" || a == "-r" || a == "-R" ||
        a == "-l" || a == "-L" || a == "-k" || a == "-K" || a == "-s" ||
        a == "-S" || a == "-t" || a == "-T" || a == "-n" || a == "-N" ||
        a == "-x" || a == "-X" || a == "-p" || a == "-P" || a == "-strict" ||
        a == "-checkNDR") {
      continue;
    }
    if (a == "-" || a[0] != '-') {
      if (have_input) {
        std::fprintf(stderr, "mig: error: more than one input file ('%s')\n",
                     a.c_str());
        return std::nullopt;
      }
      o.input = a;
      have_input = true;
      continue;
    }
    std::fprintf(stderr, "mig: error: unknown option '%s' (see --help)\n",
                 a.c_str());
    return std::nullopt;
  }
  return o;
}

}  // namespace mig
