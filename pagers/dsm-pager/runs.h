// pagers/dsm-pager/runs.h — the coherence machine's actions gathered into
// runs of pages, so that one message covers many pages (a kernel asks for a
// cluster of pages at once; the answer is one data_supply of the run).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <vector>

#include "coherence.h"

namespace dsm {

// `count` pages from `first`, one kind of action for one kernel.
struct Run {
  Action::Kind kind;
  KernelId kernel;
  bool writable;
  uint64_t first;
  uint64_t count;

  bool operator==(const Run&) const = default;
};

// Groups `actions` by kernel and merges each kernel's consecutive actions of
// one kind (and writability) on consecutive pages into runs. Each kernel's
// actions keep their order (a supply stays before the grant of the same
// page); the order between kernels is not kept (each has its own port).
std::vector<Run> gather_runs(std::vector<Action> actions);

}  // namespace dsm
