// machd/kern/relay_server.cc — the relay subsystem (machd_relay.defs): a
// network message server's messages carry the remote sender they come from.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "runtime.h"
#include "translate.h"

extern "C" {
#include "machd_relayServer.h"
}

namespace {

// The hosts relays named, by number (1, 2, ...): a remote audit token's
// pidversion. Numbers last as long as machd.
std::vector<std::string>& host_names() {
  static std::vector<std::string> names;
  return names;
}

uint32_t host_number(const std::string& name) {
  auto& names = host_names();
  for (size_t i = 0; i < names.size(); i++)
    if (names[i] == name) return static_cast<uint32_t>(i + 1);
  names.push_back(name);
  return static_cast<uint32_t>(names.size());
}

}  // namespace

using machd::kern::KType;
using machd::kern::runtime;

extern "C" kern_return_t machd_relay_set_sender(task_t task, machd_host_name_t host_name, int32_t pid, uint32_t uid,
                                                 uint32_t gid) {
  machd::kern::Runtime& rt = runtime();
  auto t = machd::kern::translate(task, {KType::kTask});
  const machd::ipc::TaskId caller = rt.request().sender;
  if (!t || *t != caller) return KERN_INVALID_ARGUMENT;
  const machd::ipc::Credentials* own = rt.kernel().credentials(caller);
  if (own == nullptr || own->euid != geteuid()) return KERN_NO_ACCESS;
  const std::string host(host_name, strnlen(host_name, sizeof(machd_host_name_t)));
  if (host.empty()) return rt.kernel().set_relayed_sender(caller, nullptr);
  machd::ipc::Credentials c;
  c.pid = static_cast<uint32_t>(pid);
  c.uid = c.euid = c.auid = uid;
  c.gid = c.egid = gid;
  c.asid = MACHD_REMOTE_ASID;
  c.pidversion = host_number(host);
  return rt.kernel().set_relayed_sender(caller, &c);
}

extern "C" kern_return_t machd_relay_host_name(host_t host, uint32_t number, machd_host_name_t host_name) {
  if (!machd::kern::translate(host, {KType::kHost, KType::kHostPriv})) return KERN_INVALID_HOST;
  const auto& names = host_names();
  if (number == 0 || number > names.size()) return KERN_INVALID_ARGUMENT;
  snprintf(host_name, sizeof(machd_host_name_t), "%s", names[number - 1].c_str());
  return KERN_SUCCESS;
}
