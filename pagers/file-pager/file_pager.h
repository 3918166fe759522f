// pagers/file-pager/file_pager.h — a memory object whose data is a file:
// the libpager callbacks over a FileStore, and the two things the program
// asks of the kernel, sync (msync) and shut_down.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// Coherence: the kernel (machd) holds one cache per object, shared by every
// task that maps it, so the tasks see each other's writes at once; the
// pager sees them when the kernel returns dirty pages (memory_object_
// data_return): on sync, when the last mapping goes (the object is not
// cached: may_cache FALSE, so it is terminated and its dirty pages come
// back), and on shut_down.  Changes made to the file by other programs
// while the object is mapped are not seen by the tasks until the kernel
// drops its copy.
#pragma once

#include <condition_variable>
#include <mutex>

#include "../common/store_pager.h"
#include "file_store.h"

namespace filepager {

class FilePager final : public pagerprog::StorePager<FileStore> {
 public:
  explicit FilePager(FileStore& store) : StorePager(store) {}
  ~FilePager() override { close(); }

  // Has the kernel send back every page modified since it was supplied or
  // last returned (lock_request RETURN_DIRTY, nothing dropped, locks kept)
  // and waits until they were written to the file.  KERN_SUCCESS also when
  // no task maps the object (nothing to return);
  // KERN_OPERATION_TIMED_OUT after wait_ms; or libpager's error.
  kern_return_t sync(int wait_ms);

  // For the program's end: forbids writing from now on and returns every
  // dirty page, as one lock_request (VM_PROT_WRITE, RETURN_DIRTY), so no
  // write made before it is lost; a task that writes afterwards has its
  // unlock refused (memory_object_data_error: SIGBUS).  Then gives the object up
  // (memory_object_destroy) and waits up to wait_ms for the kernel's
  // terminate.  Returns the error of the lock request (as sync), else
  // KERN_SUCCESS.
  kern_return_t shut_down(int wait_ms);

 protected:
  // Granted, except after shut_down began.
  kern_return_t unlock_page(vm_offset_t offset, vm_size_t len, vm_prot_t access) override;
  void terminated() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;
  unsigned terminations_ = 0;
};

}  // namespace filepager
