// mach_pager.hpp — the C++ face of mach_pager.h: a pager is a class that
// overrides read_page and write_page (and, if it likes, the hooks).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
//   struct Zeroes : mach_pager::Pager {
//     kern_return_t read_page(vm_offset_t, void*, vm_size_t) override {
//       return MACH_PAGER_ZERO_FILL;
//     }
//     kern_return_t write_page(vm_offset_t, const void*, vm_size_t) override {
//       return KERN_SUCCESS;
//     }
//     ~Zeroes() override { close(); }
//   };
//   Zeroes z;
//   if (z.open() == KERN_SUCCESS && z.start() == KERN_SUCCESS) {
//     mach_port_t object = z.object();  // for vm_map
//     ...
//   }
//
// Errors are values (kern_return_t), as in the C API; nothing throws.
#pragma once

#include "mach_pager.h"

namespace mach_pager {

class Pager {
 public:
  Pager() = default;
  Pager(const Pager&) = delete;
  Pager& operator=(const Pager&) = delete;

  // Calls close(); a derived class must call close() in its own destructor,
  // so that no callback reaches a half-destroyed object.
  virtual ~Pager() { close(); }

  // mach_pager_create with this object's callbacks; attributes as there
  // (nullptr: MACH_PAGER_ATTRIBUTES_DEFAULT).  KERN_INVALID_ARGUMENT if
  // already open.
  kern_return_t open(const mach_pager_attributes* attributes = nullptr) {
    if (pager_ != nullptr) return KERN_INVALID_ARGUMENT;
    static const mach_pager_ops ops = {
        [](void* c, vm_offset_t o, void* b, vm_size_t l) { return self(c)->read_page(o, b, l); },
        [](void* c, vm_offset_t o, const void* b, vm_size_t l) { return self(c)->write_page(o, b, l); },
        [](void* c, vm_offset_t o, vm_size_t l, vm_prot_t a) { return self(c)->unlock_page(o, l, a); },
        [](void* c) { self(c)->terminated(); },
        [](void* c, vm_offset_t o, vm_size_t l, boolean_t d, boolean_t k, kern_return_t r) {
          self(c)->data_returned(o, l, d, k, r);
        },
        nullptr,  // lock completions: wait for them (lock_request with a wait)
        nullptr,  // supply completions: not asked for
    };
    return mach_pager_create(&ops, this, attributes, &pager_);
  }

  // mach_pager_destroy, once; a no-op when not open.
  void close() {
    if (pager_ != nullptr && mach_pager_destroy(pager_) == KERN_SUCCESS) pager_ = nullptr;
  }

  kern_return_t start() { return mach_pager_start(pager_); }
  kern_return_t serve() { return mach_pager_serve(pager_); }
  // A send right the caller owns (mach_pager_object).
  mach_port_t object() { return mach_pager_object(pager_); }
  mach_pager_t* handle() { return pager_; }

  kern_return_t lock_request(vm_offset_t offset, vm_size_t size, memory_object_return_t should_return,
                             boolean_t should_flush, vm_prot_t lock_value, int wait_ms = MACH_PAGER_WAIT_FOREVER) {
    return mach_pager_lock_request(pager_, offset, size, should_return, should_flush, lock_value, wait_ms);
  }
  kern_return_t flush(vm_offset_t offset, vm_size_t size, int wait_ms = MACH_PAGER_WAIT_FOREVER) {
    return mach_pager_flush(pager_, offset, size, wait_ms);
  }
  kern_return_t clean(vm_offset_t offset, vm_size_t size, int wait_ms = MACH_PAGER_WAIT_FOREVER) {
    return mach_pager_clean(pager_, offset, size, wait_ms);
  }
  kern_return_t change_attributes(boolean_t may_cache, memory_object_copy_strategy_t strategy,
                                  int wait_ms = MACH_PAGER_WAIT_FOREVER) {
    return mach_pager_change_attributes(pager_, may_cache, strategy, wait_ms);
  }
  kern_return_t destroy_object(kern_return_t reason) { return mach_pager_destroy_object(pager_, reason); }

 protected:
  // The callbacks of struct mach_pager_ops, same contracts.
  virtual kern_return_t read_page(vm_offset_t offset, void* buf, vm_size_t len) = 0;
  virtual kern_return_t write_page(vm_offset_t offset, const void* buf, vm_size_t len) = 0;
  virtual kern_return_t unlock_page(vm_offset_t, vm_size_t, vm_prot_t) { return KERN_SUCCESS; }
  virtual void terminated() {}
  virtual void data_returned(vm_offset_t, vm_size_t, boolean_t, boolean_t, kern_return_t) {}

 private:
  static Pager* self(void* ctx) { return static_cast<Pager*>(ctx); }
  mach_pager_t* pager_ = nullptr;
};

}  // namespace mach_pager
