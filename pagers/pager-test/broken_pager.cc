// pagers/pager-test/broken_pager.cc — pagers that break the protocol on
// purpose, one way each, for testing mach-pager-test itself: the kit must
// report each clearly and never hang on it.
//
//   broken-pager MODE      (run under mach-pager-test, as any pager)
//
//   silent         answers memory_object_init, never a data_request
//   no-ready       never answers memory_object_init
//   misplace       answers a request for [o, o+n) with the data of [o, o+n)
//                  supplied at o + one page (a range it was not asked for)
//   unaligned      supplies the data at o + 512 (not page aligned)
//   garbage        supplies the range asked, filled with 0xA5
//   error          answers every request with data_error(KERN_MEMORY_ERROR)
//   die            answers the first request, then dies (abort) on the
//                  second while a task waits for it
//   forget-writes  answers correctly but drops what data_return brings
//
// Written without libpager, on the server stubs our mig makes from
// mach/memory_object.defs, and published the other way the kit accepts:
// bootstrap_check_in of MACH_PAGER_NAME, whose receive right is the object
// port. Otherwise it is a correct pager: the pattern of MACH_PAGER_SEED,
// written-back pages stored.
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mach_pager_test.h"

extern "C" {
#include "memory_objectServer.h"
}

namespace {

enum class Mode { kSilent, kNoReady, kMisplace, kUnaligned, kGarbage, kError, kDie, kForgetWrites };

struct Broken {
  Mode mode = Mode::kSilent;
  uint64_t seed = 0;
  int requests = 0;
  std::map<uint64_t, std::vector<uint8_t>> written;  // page offset -> data returned
};
Broken g;

bool parse_mode(const char* s, Mode* out) {
  static const std::pair<const char*, Mode> kModes[] = {
      {"silent", Mode::kSilent}, {"no-ready", Mode::kNoReady}, {"misplace", Mode::kMisplace},
      {"unaligned", Mode::kUnaligned}, {"garbage", Mode::kGarbage}, {"error", Mode::kError},
      {"die", Mode::kDie}, {"forget-writes", Mode::kForgetWrites}};
  for (const auto& [name, mode] : kModes)
    if (strcmp(s, name) == 0) {
      *out = mode;
      return true;
    }
  return false;
}

// The object's data for [offset, offset + len): the pattern, with what was
// written back.
std::vector<uint8_t> content(uint64_t offset, uint64_t len) {
  std::vector<uint8_t> buf(len);
  mach_pager_test_fill(buf.data(), offset, len, g.seed);
  for (uint64_t p = 0; p < len; p += vm_page_size)
    if (auto it = g.written.find(offset + p); it != g.written.end())
      memcpy(buf.data() + p, it->second.data(), std::min<uint64_t>(it->second.size(), len - p));
  return buf;
}

void release(mach_port_t send) { mach_port_deallocate(mach_task_self(), send); }

}  // namespace

extern "C" {

kern_return_t memory_object_init(memory_object_t, mach_port_t control, mach_port_t name, vm_size_t) {
  release(name);
  if (g.mode == Mode::kNoReady) {
    release(control);
    return KERN_SUCCESS;
  }
  (void)memory_object_ready(control, FALSE, MEMORY_OBJECT_COPY_DELAY);
  release(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_terminate(memory_object_t object, mach_port_t control, mach_port_t name) {
  mach_port_mod_refs(mach_task_self(), control, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
  release(object);
  return KERN_SUCCESS;
}

kern_return_t memory_object_copy(memory_object_t, mach_port_t, vm_offset_t, vm_size_t, mach_port_t) {
  return KERN_NOT_SUPPORTED;
}

kern_return_t memory_object_data_request(memory_object_t, mach_port_t control, vm_offset_t offset, vm_size_t length,
                                         vm_prot_t) {
  ++g.requests;
  // What the calls return is the kernel's business: every right and byte of
  // the request is ours once this returns KERN_SUCCESS, so it always does.
  kern_return_t kr = KERN_SUCCESS;
  std::vector<uint8_t> data = content(offset, length);
  switch (g.mode) {
    case Mode::kSilent:
    case Mode::kNoReady:
      break;
    case Mode::kDie:
      if (g.requests >= 2) abort();
      [[fallthrough]];
    case Mode::kForgetWrites:
      kr = memory_object_data_supply(control, offset, vm_offset_t(data.data()), mach_msg_type_number_t(length), FALSE,
                                     VM_PROT_NONE, FALSE, MACH_PORT_NULL);
      break;
    case Mode::kMisplace:
      kr = memory_object_data_supply(control, offset + vm_page_size, vm_offset_t(data.data()),
                                     mach_msg_type_number_t(length), FALSE, VM_PROT_NONE, FALSE, MACH_PORT_NULL);
      break;
    case Mode::kUnaligned:
      kr = memory_object_data_supply(control, offset + 512, vm_offset_t(data.data()), mach_msg_type_number_t(length),
                                     FALSE, VM_PROT_NONE, FALSE, MACH_PORT_NULL);
      break;
    case Mode::kGarbage:
      memset(data.data(), 0xA5, data.size());
      kr = memory_object_data_supply(control, offset, vm_offset_t(data.data()), mach_msg_type_number_t(length), FALSE,
                                     VM_PROT_NONE, FALSE, MACH_PORT_NULL);
      break;
    case Mode::kError:
      kr = memory_object_data_error(control, offset, length, KERN_MEMORY_ERROR);
      break;
  }
  (void)kr;
  release(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_unlock(memory_object_t, mach_port_t control, vm_offset_t offset, vm_size_t length,
                                        vm_prot_t) {
  kern_return_t kr = KERN_SUCCESS;
  if (g.mode != Mode::kSilent)
    kr = memory_object_lock_request(control, offset, length, MEMORY_OBJECT_RETURN_NONE, FALSE, VM_PROT_NONE,
                                    MACH_PORT_NULL);
  (void)kr;
  release(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_lock_completed(memory_object_t, mach_port_t control, vm_offset_t, vm_size_t) {
  release(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_supply_completed(memory_object_t, mach_port_t control, vm_offset_t, vm_size_t,
                                             kern_return_t, vm_offset_t) {
  release(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_return(memory_object_t, mach_port_t control, vm_offset_t offset, vm_offset_t data,
                                        mach_msg_type_number_t count, boolean_t, boolean_t) {
  if (g.mode != Mode::kForgetWrites) {
    const auto* p = reinterpret_cast<const uint8_t*>(data);
    for (uint64_t done = 0; done < count; done += vm_page_size) {
      const uint64_t n = std::min<uint64_t>(vm_page_size, count - done);
      std::vector<uint8_t> page = content(offset + done, vm_page_size);
      memcpy(page.data(), p + done, n);
      g.written[offset + done] = std::move(page);
    }
  }
  vm_deallocate(mach_task_self(), data, count);
  release(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_change_completed(memory_object_t, boolean_t, memory_object_copy_strategy_t) {
  return KERN_SUCCESS;
}

}  // extern "C"

int main(int argc, char** argv) {
  const char* name = getenv(MACH_PAGER_TEST_ENV_NAME);
  if (argc != 2 || !parse_mode(argv[1], &g.mode) || name == nullptr) {
    fprintf(stderr,
            "usage: mach-pager-test -- broken-pager silent|no-ready|misplace|unaligned|garbage|error|die|"
            "forget-writes\n");
    return 2;
  }
  g.seed = mach_pager_test_env(MACH_PAGER_TEST_ENV_SEED, 0);
  mach_port_t object = MACH_PORT_NULL;
  kern_return_t kr = bootstrap_check_in(bootstrap_port, name, &object);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "broken-pager: bootstrap_check_in %s: %s\n", name, mach_error_string(kr));
    return 1;
  }
  mach_msg_server(memory_object_server, 8192, object, 0);
  return 1;
}
