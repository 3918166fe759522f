// kv_client.cpp — the client side of kv.defs through the generated
// mig::kv::Client: spans in, mig::Result<T> out, received memory in an
// mig::OolBuffer that gives itself back (vm_deallocate) when it goes.
//
//   kv_client NAME     puts a few values (one of 1 MiB), reads them back,
//                      checks them, then asks the server to quit.
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kv.h"
#include "kv.hpp"

using mig::kv::kv_value_elem_t;

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : "org.machd.example.kv";
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = bootstrap_look_up(bootstrap_port, name, &port);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "kv_client: bootstrap_look_up(%s): %s\n", name, bootstrap_strerror(kr));
    return 1;
  }
  mig::kv::Client kv(port);

  const std::string greeting = "hello from a typed C++ MIG client";
  std::vector<kv_value_elem_t> big(1 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = kv_value_elem_t(i * 31 + 7);

  auto bytes = [](const std::string& s) {
    return std::span<const kv_value_elem_t>(reinterpret_cast<const kv_value_elem_t*>(s.data()), s.size());
  };
  if (auto r = kv.kv_put("greeting", bytes(greeting)); !r) {
    fprintf(stderr, "kv_put: %s\n", mach_error_string(r.code()));
    return 1;
  }
  if (auto r = kv.kv_put("big", big); !r) {
    fprintf(stderr, "kv_put big: %s\n", mach_error_string(r.code()));
    return 1;
  }
  auto empty_key = kv.kv_put("", bytes(greeting));
  printf("kv_put with an empty key: %s (expected: an error)\n", mach_error_string(empty_key.code()));

  auto g = kv.kv_get("greeting");
  if (!g) {
    fprintf(stderr, "kv_get: %s\n", mach_error_string(g.code()));
    return 1;
  }
  std::string got(reinterpret_cast<const char*>(g->span().data()), g->size());
  printf("kv_get greeting -> \"%s\"\n", got.c_str());

  auto b = kv.kv_get("big");
  bool same = b && b->size() == big.size() && memcmp(b->span().data(), big.data(), big.size()) == 0;
  printf("kv_get big -> %zu bytes out of line, %s\n", b ? b->size() : size_t(0), same ? "intact" : "CORRUPT");

  auto missing = kv.kv_get("nothing");
  printf("kv_get nothing -> %s\n", mach_error_string(missing.code()));

  auto n = kv.kv_count();
  printf("kv_count -> %d\n", n ? *n : -1);
  (void)kv.kv_quit();

  bool ok = got == greeting && same && !empty_key && missing.code() == KERN_INVALID_NAME && n && *n == 2;
  printf("kv_client: %s\n", ok ? "all checks passed" : "FAILED");
  return ok ? 0 : 1;
}
