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

#include "compressed_store.h"
#include "mach_pager.hpp"

namespace compresspager {

class CompressPager final : public mach_pager::Pager {
 public:
  explicit CompressPager(CompressedStore& store) : store_(store) {}
  ~CompressPager() override { close(); }

  // Takes every page out of the kernel's cache, the modified ones into the
  // store (lock_request RETURN_DIRTY with flush), and waits until they are
  // stored.  Tasks mapping the object fault again on their next access and
  // get the pages back from the store.  KERN_SUCCESS also when no task maps
  // the object; KERN_OPERATION_TIMED_OUT after wait_ms; or libpager's error.
  kern_return_t evict(int wait_ms);

 protected:
  kern_return_t read_page(vm_offset_t offset, void* buf, vm_size_t len) override {
    return store_.read_page(offset, buf, len);
  }
  kern_return_t write_page(vm_offset_t offset, const void* buf, vm_size_t len) override {
    return store_.write_page(offset, buf, len);
  }

 private:
  CompressedStore& store_;
};

}  // namespace compresspager
