// pagers/pager-test/kit_options.cc — see kit_options.h.
#include "kit_options.h"

#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "machd_version.h"
#include "workloads.h"

namespace pagerkit {

namespace {

void usage(FILE* out) {
  fprintf(out,
          "usage: mach-pager-test [options] -- PAGER [ARGS...]\n"
          "       mach-pager-test --list | --help | --version\n"
          "\n"
          "Runs the pager PAGER against scripted workloads in real tasks, in the\n"
          "middle of its protocol with machd, and reports every byte and protocol\n"
          "message that is wrong, with fault latencies. PAGER gets MACH_PAGER_NAME\n"
          "(publish the object port under it), MACH_PAGER_SEED and MACH_PAGER_SIZE.\n"
          "\n"
          "  --socket PATH         use the machd listening there (default: start one)\n"
          "  --machd PATH          the machd to start\n"
          "  --timeout SECS        a pager's time to answer (default 5; the machd\n"
          "                        started gets it as --pager-timeout)\n"
          "  --start-timeout SECS  the pager's time to publish its port (default 10)\n"
          "  --content pattern|any pattern: the object starts as the pattern of the seed\n"
          "                        (default); any: the pager's own content, checked for\n"
          "                        consistency only\n"
          "  --seed N              the seed (default: from the clock)\n"
          "  --window-pages N      pages each workload maps (default 512, a multiple of 64)\n"
          "  --tasks N             tasks of the shared workload (default 3)\n"
          "  --workloads A,B,...   run only these (default: all; see --list)\n"
          "  --list                list the workloads\n"
          "  -v, --verbose         say each workload as it starts, on stderr\n"
          "  --trace               every message the kit carries, on stderr\n"
          "  -h, --help            this text\n"
          "  -V, --version         print the version and exit\n"
          "\n"
          "Exit status: 0 all passed, 1 something failed (the report says what),\n"
          "2 the kit could not run.\n");
}

bool number(const char* s, double* out) {
  char* end = nullptr;
  *out = strtod(s, &end);
  return end != s && *end == '\0' && *out > 0;
}

bool known_workload(const std::string& name) {
  for (const WorkloadInfo& w : workload_catalog())
    if (name == w.name) return true;
  return false;
}

}  // namespace

int parse_options(int argc, char** argv, Options* out) {
  static const option longopts[] = {
      {"socket", required_argument, nullptr, 's'},   {"machd", required_argument, nullptr, 'm'},
      {"timeout", required_argument, nullptr, 't'},  {"start-timeout", required_argument, nullptr, 'T'},
      {"content", required_argument, nullptr, 'c'},  {"seed", required_argument, nullptr, 'S'},
      {"window-pages", required_argument, nullptr, 'w'}, {"tasks", required_argument, nullptr, 'n'},
      {"workloads", required_argument, nullptr, 'W'}, {"list", no_argument, nullptr, 'l'},
      {"verbose", no_argument, nullptr, 'v'},        {"help", no_argument, nullptr, 'h'},
      {"trace", no_argument, nullptr, 'x'},        {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0}};
  Options o;
  int c;
  optind = 1;
  // '+': stop at the first non-option (the pager's command).
  while ((c = getopt_long(argc, argv, "+vhV", longopts, nullptr)) != -1) {
    double v = 0;
    switch (c) {
      case 's': o.socket = optarg; break;
      case 'm': o.machd = optarg; break;
      case 't':
      case 'T':
        if (!number(optarg, &v) || v > 86400) {
          fprintf(stderr, "mach-pager-test: a timeout is a number of seconds, not '%s'\n", optarg);
          return 2;
        }
        (c == 't' ? o.timeout_s : o.start_timeout_s) = v;
        break;
      case 'c':
        if (strcmp(optarg, "pattern") == 0) {
          o.content = ContentMode::kPattern;
        } else if (strcmp(optarg, "any") == 0) {
          o.content = ContentMode::kAny;
        } else {
          fprintf(stderr, "mach-pager-test: --content is pattern or any, not '%s'\n", optarg);
          return 2;
        }
        break;
      case 'S': o.seed = strtoull(optarg, nullptr, 0); break;
      case 'w':
        o.window_pages = strtoull(optarg, nullptr, 0);
        if (o.window_pages == 0 || o.window_pages % 64 != 0 || o.window_pages > 65536) {
          fprintf(stderr, "mach-pager-test: --window-pages is a multiple of 64 up to 65536, not '%s'\n", optarg);
          return 2;
        }
        break;
      case 'n':
        o.tasks = unsigned(strtoul(optarg, nullptr, 0));
        if (o.tasks < 2 || o.tasks > 64) {
          fprintf(stderr, "mach-pager-test: --tasks is 2 to 64, not '%s'\n", optarg);
          return 2;
        }
        break;
      case 'W': {
        std::string list = optarg;
        size_t at = 0;
        while (at <= list.size()) {
          size_t comma = list.find(',', at);
          if (comma == std::string::npos) comma = list.size();
          const std::string name = list.substr(at, comma - at);
          if (!known_workload(name)) {
            fprintf(stderr, "mach-pager-test: no workload '%s' (see --list)\n", name.c_str());
            return 2;
          }
          o.workloads.push_back(name);
          at = comma + 1;
        }
        break;
      }
      case 'l':
        for (const WorkloadInfo& w : workload_catalog()) printf("%-16s %s\n", w.name, w.description);
        return 1;
      case 'v': o.verbose = true; break;
      case 'x': o.trace = true; break;
      case 'h': usage(stdout); return 1;
      case 'V': printf("mach-pager-test (machd) %s\n", MACHD_VERSION); return 1;
      default: usage(stderr); return 2;
    }
  }
  for (int i = optind; i < argc; ++i) o.pager.push_back(argv[i]);
  if (o.pager.empty()) {
    usage(stderr);
    return 2;
  }
  *out = o;
  return 0;
}

}  // namespace pagerkit
