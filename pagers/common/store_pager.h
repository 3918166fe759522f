// pagers/common/store_pager.h — a pager whose pages live in a store object:
// libpager's read_page and write_page handed to the store's own.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include "mach_pager.hpp"

namespace pagerprog {

// Store: any class with
//   kern_return_t read_page(uint64_t offset, void* buf, size_t len);
//   kern_return_t write_page(uint64_t offset, const void* buf, size_t len);
// under the contracts of mach_pager_ops (mach_pager.h).  The store must
// outlive the pager.
template <typename Store>
class StorePager : public mach_pager::Pager {
 public:
  explicit StorePager(Store& store) : store_(store) {}
  ~StorePager() override { close(); }

 protected:
  kern_return_t read_page(vm_offset_t offset, void* buf, vm_size_t len) override {
    return store_.read_page(offset, buf, len);
  }
  kern_return_t write_page(vm_offset_t offset, const void* buf, vm_size_t len) override {
    return store_.write_page(offset, buf, len);
  }

 private:
  Store& store_;
};

}  // namespace pagerprog
