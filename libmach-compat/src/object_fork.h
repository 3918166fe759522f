// libmach-compat/src/object_fork.h — fork() of a task that maps memory
// objects: the library's side of machd/vm/fork_copies.h.
//
// Object mappings reach a forked child as Mach says: VM_INHERIT_SHARE ones
// shared (the child registers them on its own userfaultfd), VM_INHERIT_COPY
// ones as a copy of the parent's range at the fork, VM_INHERIT_NONE ones not
// at all. (COPY and NONE ranges are MADV_DONTFORK: the child maps the copy
// machd made.)
//
// Contract
//   objects_before_fork(): pthread_atfork prepare handler, run before any
//     other of the library's (it must hold no lock a pager thread of this
//     process may need): if this process maps memory objects, machd makes
//     the copies now. The fork waits for that: a snapshot of a range whose
//     pages are not resident asks the pager for them (at most machd's
//     --pager-timeout). A failure leaves the child without those ranges.
//   objects_after_fork_parent(): pthread_atfork parent handler: tells machd
//     the fork returned (copies no child claims are released).
//   objects_reserve_in_child(): the child's first handler, before anything
//     of the library maps memory: reserves the copies' ranges (PROT_NONE),
//     which the child lacks (MADV_DONTFORK), so nothing else lands there.
//   objects_after_fork_child(): in the child, once it is connected as a
//     new task and before fork() returns in it: maps each copy at the
//     parent's address over its reservation (a copy of a COPY_CALL object is
//     routed by machd, others are private memory; a copy it cannot have
//     leaves no reservation behind), then takes over the SHARE mappings
//     (MACHD_OP_OBJECTS_INHERIT). Runs in a forked child: no lock of the
//     parent's is taken, nothing is allocated.
#pragma once

namespace machcompat {

void objects_before_fork();
void objects_after_fork_parent();
void objects_reserve_in_child();
void objects_after_fork_child();

}  // namespace machcompat
