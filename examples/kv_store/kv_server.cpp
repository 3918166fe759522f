// kv_server.cpp — a key-value store served through the typed C++ face that
// our mig generates from kv.defs (`mig -cxx kv.hpp`). Each routine is a
// virtual method; arguments arrive as owners (the value as an
// mig::OolBuffer), so returning an error early cannot leak the memory the
// client sent.
//
//   kv_server NAME     checks NAME in with the bootstrap server and serves
//                      until a client calls kv_quit.
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "kv.h"
#include "kv.hpp"

using mig::kv::kv_value_elem_t;

namespace {

class Store final : public mig::kv::Server {
 public:
  bool done = false;

  kern_return_t kv_put(mach_port_t, std::string_view key, mig::OolBuffer<kv_value_elem_t> value) override {
    if (key.empty()) return KERN_INVALID_ARGUMENT;  // `value` is still freed
    auto s = value.span();
    table_[std::string(key)].assign(s.begin(), s.end());
    return KERN_SUCCESS;
  }

  kern_return_t kv_get(mach_port_t, std::string_view key, mig::OolBuffer<kv_value_elem_t>& value) override {
    auto it = table_.find(std::string(key));
    if (it == table_.end()) return KERN_INVALID_NAME;
    value = mig::OolBuffer<kv_value_elem_t>::copy_of(it->second);  // sent with deallocate
    return KERN_SUCCESS;
  }

  kern_return_t kv_count(mach_port_t, int& count) override {
    count = int(table_.size());
    return KERN_SUCCESS;
  }

  kern_return_t kv_quit(mach_port_t) override {
    done = true;
    return KERN_SUCCESS;
  }

 private:
  std::map<std::string, std::vector<kv_value_elem_t>> table_;
};

}  // namespace

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : "org.machd.example.kv";
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = bootstrap_check_in(bootstrap_port, name, &port);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "kv_server: bootstrap_check_in: %s\n", bootstrap_strerror(kr));
    return 1;
  }
  printf("kv_server: serving %s\n", name);
  fflush(stdout);
  Store store;
  std::vector<uint8_t> in(Store::kMaxRequestSize), out(Store::kMaxReplySize);
  auto* req = reinterpret_cast<mach_msg_header_t*>(in.data());
  auto* rep = reinterpret_cast<mach_msg_header_t*>(out.data());
  while (!store.done) {
    mach_msg_return_t mr = mach_msg(req, MACH_RCV_MSG | Store::kRcvTrailer, 0, mach_msg_size_t(in.size()), port,
                                    MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (mr != MACH_MSG_SUCCESS) {
      fprintf(stderr, "kv_server: receive: %s\n", mach_error_string(mr));
      return 1;
    }
    store.dispatch(req, rep);
    if (MACH_PORT_VALID(rep->msgh_remote_port)) {
      mr = mach_msg(rep, MACH_SEND_MSG | MACH_SEND_TIMEOUT, rep->msgh_size, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
      if (mr != MACH_MSG_SUCCESS) mach_msg_destroy(rep);  // the client went away
    }
  }
  printf("kv_server: done\n");
  return 0;
}
