// pagers/dsm-pager/runs.cc — see runs.h.
#include "runs.h"

#include <algorithm>

namespace dsm {

std::vector<Run> gather_runs(std::vector<Action> actions) {
  std::stable_sort(actions.begin(), actions.end(),
                   [](const Action& a, const Action& b) { return a.kernel < b.kernel; });
  std::vector<Run> runs;
  for (const Action& a : actions) {
    if (!runs.empty()) {
      Run& last = runs.back();
      if (last.kernel == a.kernel && last.kind == a.kind && last.writable == a.writable &&
          last.first + last.count == a.page) {
        ++last.count;
        continue;
      }
    }
    runs.push_back(Run{a.kind, a.kernel, a.writable, a.page, 1});
  }
  return runs;
}

}  // namespace dsm
