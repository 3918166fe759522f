// pagers/compress-pager/compress_pager.h — a memory object whose pages live
// compressed in the pager's memory while the kernel does not hold them:
// the libpager callbacks over a CompressedStore, and evict().
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// Pages come to the store when the kernel returns them modified: when the
// last mapping goes (the object is not cached, may_cache FALSE, so it is
// terminated and its dirty pages come back) or on evict().  A page never
// written reads as zeroes.  The data lives as long as the pager: mapping
// the object again later gives it back.
#pragma once

#include "../common/store_pager.h"
#include "compressed_store.h"

namespace compresspager {

class CompressPager final : public pagerprog::StorePager<CompressedStore> {
 public:
  explicit CompressPager(CompressedStore& store) : StorePager(store) {}

  // Takes every page out of the kernel's cache, the modified ones into the
  // store (lock_request RETURN_DIRTY with flush), and waits until they are
  // stored.  Tasks mapping the object fault again on their next access and
  // get the pages back from the store.  KERN_SUCCESS also when no task maps
  // the object; KERN_OPERATION_TIMED_OUT after wait_ms; or libpager's error.
  kern_return_t evict(int wait_ms);
};

}  // namespace compresspager
