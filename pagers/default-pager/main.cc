// pagers/default-pager/main.cc — default-pager: machd's default memory
// manager. Anonymous memory machd pages out (machd --memory-limit) is kept
// in a swap file until the tasks touch it again (README.md).
//
//   default-pager [--swap-file PATH] [--swap-mib N]
//   default-pager --help | --version
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../common/program_options.h"
#include "../common/sandbox.h"
#include "../common/signal_inbox.h"
#include "mach_pager.h"
#include "swap_store.h"

namespace {

using defaultpager::SwapStore;

void usage(FILE* out) {
  fprintf(out,
          "usage: default-pager [--swap-file PATH] [--swap-mib N]\n"
          "       default-pager --help | --version\n"
          "Registers with machd as the default memory manager\n"
          "(host_default_memory_manager): the anonymous memory machd pages out when\n"
          "it runs with --memory-limit is kept in a swap file and comes back when a\n"
          "task touches it.\n"
          "\n"
          "  --swap-file PATH  the swap file (created or truncated; default: an\n"
          "                    unnamed file in $TMPDIR, gone at exit)\n"
          "  --swap-mib N      hold at most N MiB (default: no bound but the disk's)\n"
          "  --help            this text\n"
          "  --version         print the version and exit\n"
          "\n"
          "SIGUSR1: print the statistics; SIGTERM, SIGINT: print them and exit (the\n"
          "pages it held are lost: tasks touching them get a memory error).\n"
          "Exit status: 0; 1 if it could not start or a page could not be stored;\n"
          "2 for a usage error.\n");
}

// One object's callbacks reach the store through this.
struct Handle {
  SwapStore* store;
  SwapStore::Object* object;
};

bool g_lost = false;  // a page could not be stored (the swap file is full)

const mach_pager_ops kObjectOps = {
    [](void* c, vm_offset_t o, void* b, vm_size_t l) {
      auto* h = static_cast<Handle*>(c);
      return h->store->read_page(h->object, o, b, l);
    },
    [](void* c, vm_offset_t o, const void* b, vm_size_t l) {
      auto* h = static_cast<Handle*>(c);
      return h->store->write_page(h->object, o, b, l);
    },
    nullptr,
    nullptr,
    [](void*, vm_offset_t o, vm_size_t l, boolean_t, boolean_t, kern_return_t r) {
      if (r == KERN_SUCCESS) return;
      // data_return has no answer: the kernel dropped its copy already.
      fprintf(stderr, "default-pager: %lu bytes at offset %#lx could not be stored (%s); they are lost\n",
              static_cast<unsigned long>(l), static_cast<unsigned long>(o), mach_error_string(r));
      g_lost = true;
    },
    nullptr,
    nullptr,
};

const mach_pager_default_ops kManagerOps = {
    [](void* c, vm_size_t size) -> void* {
      auto* store = static_cast<SwapStore*>(c);
      return new Handle{store, store->create(size)};
    },
    [](void*, void* object) {
      auto* h = static_cast<Handle*>(object);
      h->store->destroy(h->object);
      delete h;
    },
    [](void* c, vm_size_t* total, vm_size_t* free_bytes) {
      uint64_t t = 0, f = 0;
      static_cast<SwapStore*>(c)->space(&t, &f);
      *total = t;
      *free_bytes = f;
    },
    [](void*, void* object) -> vm_size_t {
      auto* h = static_cast<Handle*>(object);
      return h->store->bytes_of(h->object);
    },
    [](void*, void* object, vm_offset_t* offsets, size_t max) -> size_t {
      auto* h = static_cast<Handle*>(object);
      static_assert(sizeof(vm_offset_t) == sizeof(uint64_t));
      return h->store->pages_of(h->object, reinterpret_cast<uint64_t*>(offsets), max);
    },
};

void print_stats(const SwapStore& store, mach_pager_default_t* m, const char* when) {
  const SwapStore::Stats s = store.stats();
  printf("default-pager: %s: %lu objects (%lu served), %lu pages held in %lu slots, %lu written, %lu read\n", when,
         static_cast<unsigned long>(s.objects), mach_pager_default_objects(m), static_cast<unsigned long>(s.slots_used),
         static_cast<unsigned long>(s.slots_total), static_cast<unsigned long>(s.pages_written),
         static_cast<unsigned long>(s.pages_read));
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  uint64_t max_bytes = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const int code = pagerprog::standard_option("default-pager", usage, argc, argv, i, {"--swap-file", "--swap-mib"});
    if (code >= 0) {
      return code;
    } else if (a == "--swap-file") {
      path = argv[++i];
    } else if (a == "--swap-mib") {
      char* end = nullptr;
      const unsigned long n = strtoul(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0' || argv[i][0] < '0' || argv[i][0] > '9' || n == 0 || n > (1ul << 30)) {
        fprintf(stderr, "default-pager: --swap-mib wants a whole number of MiB from 1, not '%s'\n", argv[i]);
        return 2;
      }
      max_bytes = uint64_t(n) << 20;
    } else {
      fprintf(stderr, "default-pager: unexpected argument '%s' (see default-pager --help)\n", a.c_str());
      return 2;
    }
  }
  if (!pagerprog::catch_signals({SIGTERM, SIGINT, SIGUSR1})) {
    perror("default-pager: signals");
    return 1;
  }
  std::string error;
  std::unique_ptr<SwapStore> store = SwapStore::open(path, max_bytes, &error);
  if (!store) {
    fprintf(stderr, "default-pager: cannot open the swap file %s\n", error.c_str());
    return 1;
  }
  mach_pager_default_t* manager = nullptr;
  kern_return_t kr = mach_pager_default_create(&kManagerOps, &kObjectOps, store.get(), &manager);
  if (kr == KERN_SUCCESS) kr = mach_pager_default_start(manager);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "default-pager: cannot start: %s\n", mach_error_string(kr));
    return 1;
  }
  mach_port_t previous = MACH_PORT_NULL;
  kr = mach_pager_default_register(manager, mach_host_self(), &previous);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "default-pager: host_default_memory_manager: %s%s\n", mach_error_string(kr),
            kr == KERN_INVALID_HOST ? " (run it as machd's own user, or as root)" : "");
    mach_pager_default_destroy(manager);
    return 1;
  }
  pagerprog::watch_machd("default-pager");
  pagerprog::restrict_system_calls("default-pager");  // serving: no exec, fork, ptrace, ... from here
  printf("default-pager: serving as the default memory manager%s (swap file %s)\n",
         MACH_PORT_VALID(previous) ? ", replacing another" : "", store->path().c_str());
  fflush(stdout);
  if (MACH_PORT_VALID(previous)) mach_port_deallocate(mach_task_self(), previous);

  bool machd_gone = false;
  for (;;) {
    const int sig = pagerprog::next_signal(-1);
    if (sig == pagerprog::kMachdGone) {
      fprintf(stderr, "default-pager: machd is gone: no kernel left to serve\n");
      machd_gone = true;
      break;
    }
    if (sig == SIGTERM || sig == SIGINT || sig < 0) break;
    print_stats(*store, manager, "stats");
  }
  print_stats(*store, manager, "exit");
  mach_pager_default_destroy(manager);
  return g_lost || machd_gone ? 1 : 0;
}
