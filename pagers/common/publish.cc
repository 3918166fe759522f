// pagers/common/publish.cc — see publish.h.
#include "publish.h"

#include <servers/bootstrap.h>

#include <cstdio>
#include <cstring>

namespace pagerprog {

namespace {

// Registers `object` (a send right of ours, which this releases) under `name`.
kern_return_t register_send_right(mach_port_t object, const std::string& name) {
  name_t n;
  if (name.empty() || name.size() >= sizeof n) {
    (void)mach_port_deallocate(mach_task_self(), object);
    return KERN_INVALID_ARGUMENT;
  }
  std::memcpy(n, name.c_str(), name.size() + 1);
  // bootstrap_register is the way to publish a port whose receive right the
  // caller already has (check-in would hand out a fresh one); deprecated on
  // macOS only because launchd prefers declared services.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  kern_return_t kr = bootstrap_register(bootstrap_port, n, object);
#pragma GCC diagnostic pop
  (void)mach_port_deallocate(mach_task_self(), object);  // the bootstrap server holds its own
  return kr;
}

}  // namespace

kern_return_t publish_object(mach_pager_t* pager, const std::string& name) {
  const mach_port_t object = mach_pager_object(pager);
  if (!MACH_PORT_VALID(object)) return KERN_RESOURCE_SHORTAGE;
  return register_send_right(object, name);
}

kern_return_t publish_port(mach_port_t object, const std::string& name) {
  const kern_return_t kr = mach_port_insert_right(mach_task_self(), object, object, MACH_MSG_TYPE_MAKE_SEND);
  if (kr != KERN_SUCCESS) return kr;
  return register_send_right(object, name);
}

}  // namespace pagerprog

namespace pagerprog {

bool start_and_publish(mach_pager::Pager& pager, const std::string& name, const char* program,
                       const mach_pager_attributes* attributes) {
  kern_return_t kr = pager.open(attributes);
  if (kr == KERN_SUCCESS) kr = pager.start();
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "%s: cannot start the pager: %s\n", program, mach_error_string(kr));
    return false;
  }
  kr = publish_object(pager.handle(), name);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "%s: cannot publish '%s': %s\n", program, name.c_str(), bootstrap_strerror(kr));
    return false;
  }
  return true;
}

}  // namespace pagerprog
