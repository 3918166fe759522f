// tests/fuzz/daemon_fuzz_main.cc — libFuzzer's entry points for the targets
// that drive the in-process machd (daemon_probe.h): the seed writer when
// MACHD_FUZZ_WRITE_SEEDS names a directory, then every input run by the
// target's run_one under DaemonProbe::expect_no_leak.
#include <cstdlib>
#include <string>

#include "daemon_probe.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("MACHD_FUZZ_WRITE_SEEDS")) {
    machd::fuzz_target::write_seeds(dir);
    std::exit(0);
  }
  machd::probe();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  machd::probe().expect_no_leak([&] { return machd::fuzz_target::run_one(data, size); });
  return 0;
}
