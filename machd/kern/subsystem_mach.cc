// machd/kern/subsystem_mach.cc — see subsystems.h (mach_subsystem_entry).
#include "subsystems.h"

extern "C" {
#include "machServer.h"
}

namespace machd::kern {

Subsystem mach_subsystem_entry() {
  return Subsystem{"mach", mach_subsystem.start, mach_subsystem.end, mach_server,
                   sizeof(union __ReplyUnion__mach_subsystem)};
}

}  // namespace machd::kern
