// pagers/pager-test/workloads.cc — see workloads.h.
#include "workloads.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "client_task.h"
#include "text.h"

namespace pagerkit {

namespace {

// machd broke one of its rules: a kernel finding, and the workload fails.
void kernel_breach(Kit& kit, WorkloadResult& r, const char* rule, const std::string& text) {
  kit.findings.violation(Party::kKernel, rule, text);
  r.fail(text);
}

// Bytes a task writes: 64 bytes into each chosen page (object offsets).
struct Write {
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;
};

// Writes into the pages `pages` (window-relative indexes) of the window at
// `window`: 64 bytes at a place in the page that depends on the page and on
// `salt`, words that are neither the pattern nor zero.
std::vector<Write> make_writes(const Kit& kit, uint64_t window, const std::vector<uint64_t>& pages, uint32_t salt) {
  std::vector<Write> out;
  for (uint64_t p : pages) {
    Write w;
    const uint64_t slot = (p * 97 + salt * 13) % (kit.page / 64);
    w.offset = window + p * kit.page + slot * 64;
    w.bytes.resize(64);
    for (uint64_t i = 0; i < 64; i += 8) {
      const uint64_t word = ~((w.offset + i) ^ kit.options.seed) ^ (uint64_t(salt + 1) << 56);
      memcpy(w.bytes.data() + i, &word, 8);
    }
    out.push_back(std::move(w));
  }
  return out;
}

void write_all(ClientContext& c, const std::vector<Write>& writes, uint64_t window, unsigned view = 0) {
  for (const Write& w : writes) c.write(w.offset - window, w.bytes.data(), w.bytes.size(), view);
}

Phase write_phase(std::vector<Write> writes, uint64_t window) {
  return [writes = std::move(writes), window](ClientContext& c) { write_all(c, writes, window); };
}

Phase touch_phase(std::vector<uint64_t> pages) {
  return [pages = std::move(pages)](ClientContext& c) {
    for (uint64_t p : pages) c.first_touch(p * c.page_size());
  };
}

Phase read_all_phase() {
  return [](ClientContext& c) { c.read_all(); };
}

std::vector<uint64_t> every(uint64_t pages, uint64_t step, uint64_t from = 0) {
  std::vector<uint64_t> v;
  for (uint64_t p = from; p < pages; p += step) v.push_back(p);
  return v;
}

std::set<uint64_t> page_set(const Kit& kit, const std::vector<Write>& writes) {
  std::set<uint64_t> s;
  for (const Write& w : writes) s.insert(w.offset / kit.page);
  return s;
}

// What a task should read in the page at object offset `off`: what the
// pager last supplied for it, with `writes` over it. False if the pager
// never supplied it.
bool expected_page(Kit& kit, uint64_t off, const std::vector<Write>& writes, std::vector<uint8_t>& out) {
  const bool known = kit.proxy.with_state([&](ProtocolChecker&, ContentModel& m) {
    const std::vector<uint8_t>* s = m.last_supplied(off / kit.page);
    if (s) out = *s;
    return s != nullptr;
  });
  if (!known) return false;
  for (const Write& w : writes)
    if (w.offset >= off && w.offset < off + kit.page) memcpy(out.data() + (w.offset - off), w.bytes.data(), w.bytes.size());
  return true;
}

// The pages `pages` (window-relative) of the task's witness against what it
// should have read.
void check_witness(Kit& kit, WorkloadResult& r, const std::string& who, const ClientTask& t,
                   const std::vector<uint64_t>& pages, const std::vector<Write>& writes, unsigned witness = 0) {
  uint64_t bad = 0, unsupplied = 0;
  std::string first;
  std::vector<uint8_t> want;
  for (uint64_t p : pages) {
    const uint64_t off = t.offset() + p * kit.page;
    if (!expected_page(kit, off, writes, want)) {
      if (unsupplied++ == 0 && first.empty()) first = "page " + hex(off) + " was never supplied by the pager";
      continue;
    }
    const std::string d = word_difference(off, t.witness(witness) + p * kit.page, want.data(), kit.page);
    if (d.empty()) continue;
    if (bad++ == 0) first = d;
  }
  if (unsupplied)
    kit.findings.violation(Party::kKernel, "read-unsupplied",
                           who + " read " + std::to_string(unsupplied) + " pages the pager never supplied");
  if (bad)
    r.fail(who + " read " + std::to_string(bad) + " of " + std::to_string(pages.size()) +
           " pages differently from what the pager supplied and the tasks wrote; first: " + first);
}

// The data_returns of the window at `window` since the last check (the
// kit's clean, or the end of the object, and any clean the pager made
// meanwhile) against the pages written since, and their content.
void check_returns(Kit& kit, WorkloadResult& r, uint64_t window, const std::vector<Returned>& returns,
                   const std::set<uint64_t>& written, const std::vector<Write>& writes, const std::string& when) {
  // A page may come back more than once (a clean of the pager's own while a
  // task was writing it): its last return holds its data.
  std::map<uint64_t, const uint8_t*> last;  // page index -> its bytes in `returns`
  for (const Returned& ret : returns) {
    if (!ret.dirty) continue;  // precious pages come back clean: not a write
    for (uint64_t done = 0; done + kit.page <= ret.data.size(); done += kit.page) {
      const uint64_t off = ret.offset + done;
      if (off >= window && off < window + kit.window_bytes()) last[off / kit.page] = ret.data.data() + done;
    }
  }
  std::set<uint64_t> got;
  uint64_t bad = 0;
  std::string first;
  std::vector<uint8_t> want;
  for (const auto& [index, bytes] : last) {
    got.insert(index);
    // (compared with what the tasks should have in the cache; the content
    // model holds the returned data as the page's store now)
    if (!expected_page(kit, index * kit.page, writes, want)) continue;
    const std::string d = word_difference(index * kit.page, bytes, want.data(), kit.page);
    if (!d.empty() && bad++ == 0) first = d;
  }
  std::vector<uint64_t> missing, extra;
  std::set_difference(written.begin(), written.end(), got.begin(), got.end(), std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), written.begin(), written.end(), std::back_inserter(extra));
  if (!missing.empty())
    kernel_breach(kit, r, "return-missing",
                  when + ": " + std::to_string(missing.size()) + " written pages were not returned (the first " +
                      hex(missing[0] * kit.page) + ")");
  if (!extra.empty())
    kernel_breach(kit, r, "return-clean-page",
                  when + ": " + std::to_string(extra.size()) + " pages nobody wrote came back dirty (the first " +
                      hex(extra[0] * kit.page) + ")");
  if (bad)
    kernel_breach(kit, r, "return-content",
                  when + ": " + std::to_string(bad) + " returned pages differ from what the tasks wrote; first: " +
                      first);
}

// Waits for every task's phase; false (with the reasons) if one did not end it.
bool phase_done(Kit& kit, WorkloadResult& r, std::vector<std::unique_ptr<ClientTask>>& tasks, const char* phase) {
  bool ok = true;
  for (size_t i = 0; i < tasks.size(); ++i) {
    ClientTask::Status s = tasks[i]->wait_phase(kit.phase_timeout_ms());
    if (s.kind == ClientTask::Status::kPhaseDone) continue;
    ok = false;
    r.fail("task " + std::to_string(i + 1) + " (" + phase + ") " + s.describe());
    if (s.kind == ClientTask::Status::kHung && s.touching != kIdle && kit.kernel_timeout_known &&
        s.touch_ms > kit.timeout_ms() + 1000)
      kit.findings.violation(Party::kKernel, "fault-not-failed",
                             "a fault at " + hex(s.touching) + " waited " + std::to_string(s.touch_ms) +
                                 " ms, past the kernel's pager timeout, and was neither served nor failed (SIGBUS)");
  }
  return ok;
}

// Starts every task's next phase and waits for them.
bool step(Kit& kit, WorkloadResult& r, std::vector<std::unique_ptr<ClientTask>>& tasks, const char* phase) {
  for (auto& t : tasks) t->go();
  return phase_done(kit, r, tasks, phase);
}

void finish_all(Kit& kit, WorkloadResult& r, std::vector<std::unique_ptr<ClientTask>>& tasks) {
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!tasks[i]) continue;  // never started
    ClientTask::Status s = tasks[i]->finish(kit.phase_timeout_ms());
    if (!s.ok()) r.fail("task " + std::to_string(i + 1) + " at its exit " + s.describe());
    std::vector<uint64_t> l = tasks[i]->latencies();
    r.latency_ns.insert(r.latency_ns.end(), l.begin(), l.end());
  }
}

std::unique_ptr<ClientTask> start_task(Kit& kit, WorkloadResult& r, uint64_t window, std::vector<Phase> phases,
                                       const TaskLayout& layout = {}) {
  auto t = std::make_unique<ClientTask>();
  if (!t->start(kit.service, window, kit.window_bytes(), kit.page, std::move(phases), layout,
                [&kit] { return kit.proxy.fork_quiet(); })) {
    r.fail("cannot start a client task");
    return nullptr;
  }
  return t;
}

// The kit's clean or flush; false (with a reason) if it did not complete.
bool kit_lock(Kit& kit, WorkloadResult& r, uint64_t window, memory_object_return_t ret, bool flush, const char* what) {
  Proxy::LockResult lr = kit.proxy.kernel_lock(window, kit.window_bytes(), ret, flush, kit.timeout_ms() + 2000);
  switch (lr) {
    case Proxy::LockResult::kDone: return true;
    case Proxy::LockResult::kNoObject: r.fail(std::string(what) + ": the object is not initialized"); return false;
    case Proxy::LockResult::kRefused:
      r.fail(std::string(what) + ": the kernel refused the kit's lock_request");
      return false;
    case Proxy::LockResult::kTimedOut: {
      kernel_breach(kit, r, "lock-unanswered",
                    std::string(what) + ": no lock_completed from the kernel");
      return false;
    }
  }
  return false;
}

// The kit's clean (RETURN_DIRTY, no flush) of the window: what comes back
// must be exactly the pages of `written`, with the data `writes` leave.
bool clean_and_check(Kit& kit, WorkloadResult& r, uint64_t window, const std::vector<Write>& written,
                     const std::vector<Write>& writes, const char* what) {
  if (!kit_lock(kit, r, window, MEMORY_OBJECT_RETURN_DIRTY, false, what)) return false;
  check_returns(kit, r, window, kit.proxy.take_returns(), page_set(kit, written), writes, std::string("the ") + what);
  return true;
}

uint64_t requests_so_far(Kit& kit) {
  return kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().requests; });
}

uint64_t pager_flushes_so_far(Kit& kit) {
  return kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().pager_flushes; });
}

// ---- the workloads ----------------------------------------------------------------------

void touch_once(Kit& kit, WorkloadResult& r, std::vector<uint64_t> order) {
  const uint64_t window = kit.take_window();
  std::vector<std::unique_ptr<ClientTask>> tasks;
  tasks.push_back(start_task(kit, r, window, {touch_phase(order)}));
  if (!tasks.back()) return;
  if (phase_done(kit, r, tasks, "reading")) check_witness(kit, r, "task 1", *tasks[0], order, {});
  finish_all(kit, r, tasks);
}

void sequential_read(Kit& kit, WorkloadResult& r) { touch_once(kit, r, every(kit.options.window_pages, 1)); }

void random_read(Kit& kit, WorkloadResult& r) {
  std::vector<uint64_t> order = every(kit.options.window_pages, 1);
  std::mt19937_64 rng(kit.options.seed);
  std::shuffle(order.begin(), order.end(), rng);
  touch_once(kit, r, order);
}

void shared(Kit& kit, WorkloadResult& r) {
  const uint64_t window = kit.take_window();
  const unsigned n = std::max(2u, kit.options.tasks);
  const uint64_t pages = kit.options.window_pages;
  const uint64_t inits_before =
      kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().inits; });
  std::vector<Write> all_writes;
  std::vector<std::unique_ptr<ClientTask>> tasks;
  for (unsigned i = 0; i < n; ++i) {
    // Task i touches pages i, i + n, ... and writes into the next task's.
    std::vector<Write> w = make_writes(kit, window, every(pages, n, (i + 1) % n), i);
    all_writes.insert(all_writes.end(), w.begin(), w.end());
    tasks.push_back(start_task(kit, r, window, {touch_phase(every(pages, n, i)), write_phase(w, window), read_all_phase()}));
    if (!tasks.back()) return;
  }
  if (!phase_done(kit, r, tasks, "touching its share")) return finish_all(kit, r, tasks);
  const uint64_t inits =
      kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().inits; }) - inits_before;
  if (inits > 1) {
    kernel_breach(kit, r, "init-per-task",
                  std::to_string(n) + " tasks mapping one object made " + std::to_string(inits) +
                          " memory_object_init (one kernel, one object: one init)");
  }
  if (!step(kit, r, tasks, "writing")) return finish_all(kit, r, tasks);
  if (step(kit, r, tasks, "reading all"))
    for (unsigned i = 0; i < n; ++i)
      check_witness(kit, r, "task " + std::to_string(i + 1), *tasks[i], every(pages, 1), all_writes);
  finish_all(kit, r, tasks);
}

void write_clean(Kit& kit, WorkloadResult& r) {
  const uint64_t window = kit.take_window();
  const uint64_t pages = kit.options.window_pages;
  std::vector<uint64_t> chosen = every(pages, 4);
  chosen.push_back(1);
  const std::vector<Write> writes = make_writes(kit, window, chosen, 7);
  std::vector<std::unique_ptr<ClientTask>> tasks;
  tasks.push_back(start_task(kit, r, window, {touch_phase(every(pages, 1)), write_phase(writes, window),
                                              touch_phase(every(pages, 1))}));
  if (!tasks.back() || !phase_done(kit, r, tasks, "reading")) return finish_all(kit, r, tasks);
  kit.proxy.take_returns();  // what comes back from now on is the writes'
  if (!step(kit, r, tasks, "writing")) return finish_all(kit, r, tasks);
  bool ok = clean_and_check(kit, r, window, writes, writes, "clean");
  const uint64_t before = requests_so_far(kit);
  // The task reads every page again after the flush: from the pager.
  ok = ok && kit_lock(kit, r, window, MEMORY_OBJECT_RETURN_NONE, true, "flush") &&
       step(kit, r, tasks, "reading after the flush");
  if (ok) check_witness(kit, r, "task 1, after the flush,", *tasks[0], every(pages, 1), writes);
  if (ok && requests_so_far(kit) == before)
    kernel_breach(kit, r, "flush-kept-pages", "no page was asked for again after the flush");
  finish_all(kit, r, tasks);
}

void clean_redirty(Kit& kit, WorkloadResult& r) {
  const uint64_t window = kit.take_window();
  const uint64_t pages = kit.options.window_pages;
  const std::vector<Write> first = make_writes(kit, window, every(pages, 3), 11);
  const std::vector<Write> second = make_writes(kit, window, every(pages, 5, 1), 12);
  std::vector<Write> both = first;
  both.insert(both.end(), second.begin(), second.end());
  std::vector<std::unique_ptr<ClientTask>> tasks;
  tasks.push_back(start_task(kit, r, window, {touch_phase(every(pages, 1)), write_phase(first, window),
                                              write_phase(second, window), read_all_phase()}));
  if (!tasks.back() || !phase_done(kit, r, tasks, "reading")) return finish_all(kit, r, tasks);
  kit.proxy.take_returns();  // what comes back from now on is the writes'
  if (!step(kit, r, tasks, "writing")) return finish_all(kit, r, tasks);
  const uint64_t before = requests_so_far(kit);
  const uint64_t pager_flushes = pager_flushes_so_far(kit);
  bool ok = clean_and_check(kit, r, window, first, first, "first clean") &&
            step(kit, r, tasks, "writing again") && clean_and_check(kit, r, window, second, both, "second clean") &&
            step(kit, r, tasks, "reading all");
  if (ok) check_witness(kit, r, "task 1", *tasks[0], every(pages, 1), both);
  // (unless the pager flushed pages itself meanwhile)
  if (ok && requests_so_far(kit) != before && pager_flushes_so_far(kit) == pager_flushes)
    kernel_breach(kit, r, "clean-dropped-pages", "pages were asked for again after a clean without flush");
  finish_all(kit, r, tasks);
}

void unmap_writeback(Kit& kit, WorkloadResult& r) {
  const uint64_t window = kit.take_window();
  const uint64_t pages = kit.options.window_pages;
  const std::vector<Write> writes = make_writes(kit, window, every(pages, 2), 21);
  uint64_t terminates = 0;
  {
    std::vector<std::unique_ptr<ClientTask>> tasks;
    tasks.push_back(start_task(kit, r, window, {touch_phase(every(pages, 1)), write_phase(writes, window)}));
    if (!tasks.back() || !phase_done(kit, r, tasks, "reading")) return finish_all(kit, r, tasks);
    // The object is initialized for this task now: the end of the one
    // before (ordered before this init on the kit's port) has been seen.
    terminates = kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().terminates; });
    kit.proxy.take_returns();
    if (!step(kit, r, tasks, "writing")) return finish_all(kit, r, tasks);
    finish_all(kit, r, tasks);  // the task exits: its mapping goes
  }
  const bool may_cache = kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().may_cache; });
  if (!may_cache) {
    if (!kit.proxy.wait_terminates(terminates + 1, kit.timeout_ms() + 2000)) {
      kernel_breach(kit, r, "terminate-missing",
                    "no memory_object_terminate after the last mapping went (the pager said may_cache FALSE)");
      return;
    }
    check_returns(kit, r, window, kit.proxy.take_returns(), page_set(kit, writes), writes, "the end of the object");
  } else if (kit_lock(kit, r, window, MEMORY_OBJECT_RETURN_DIRTY, true, "clean and flush")) {
    check_returns(kit, r, window, kit.proxy.take_returns(), page_set(kit, writes), writes, "the clean");
  }
  std::vector<std::unique_ptr<ClientTask>> again;
  again.push_back(start_task(kit, r, window, {touch_phase(every(pages, 1))}));
  if (!again.back()) return;
  if (phase_done(kit, r, again, "reading back"))
    check_witness(kit, r, "a new task", *again[0], every(pages, 1), writes);
  finish_all(kit, r, again);
}

// The fork workload's task maps its window twice: view 0 inherited SHARE,
// view 1 inherited COPY. Its forked child fills witnesses 1 to 3.
constexpr unsigned kShareView = 0, kCopyView = 1;
constexpr unsigned kChildCopy = 1, kChildShare = 2, kChildCopyWritten = 3;

struct ForkWrites {
  std::vector<Write> parent_after;   // the task, through its SHARE view, after the fork
  std::vector<Write> child_private;  // the child, through its copy
  std::vector<Write> child_shared;   // the child, through the SHARE view
};

// The task forks. Once it has written w.parent_after, its child reads its
// copy (witness 1) and the SHARE view (witness 2), writes through both, and
// reads its copy again (witness 3). The task waits for the child and puts
// its wait status on the board.
Phase fork_phase(ForkWrites w, uint64_t window) {
  return [w = std::move(w), window](ClientContext& c) {
    int go[2];
    if (pipe(go) != 0) return;
    const pid_t child = fork();
    if (child == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // (a hung task is killed: its child goes with it)
      char b;
      if (read(go[0], &b, 1) != 1) _exit(20);
      c.read_all(kCopyView, kChildCopy);
      c.read_all(kShareView, kChildShare);
      write_all(c, w.child_private, window, kCopyView);
      write_all(c, w.child_shared, window, kShareView);
      c.read_all(kCopyView, kChildCopyWritten);
      _exit(0);
    }
    close(go[0]);
    if (child > 0) {
      write_all(c, w.parent_after, window, kShareView);
      const char g = 'g';
      (void)!write(go[1], &g, 1);
    }
    close(go[1]);
    int status = 0;
    if (child > 0 && waitpid(child, &status, 0) == child) c.board().child_status = status;
  };
}

std::string wait_status_text(int status) {
  if (status == -1) return "was never forked";
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

void fork_workload(Kit& kit, WorkloadResult& r) {
  const uint64_t window = kit.take_window();
  const uint64_t pages = kit.options.window_pages;
  // Before the fork the task writes into the first quarter only: most of
  // the window is not resident then, and the copy asks the pager for it.
  const std::vector<Write> before = make_writes(kit, window, every(pages / 4, 8), 31);
  ForkWrites w;
  w.parent_after = make_writes(kit, window, every(pages, 4, 1), 32);
  w.child_private = make_writes(kit, window, every(pages, 4, 2), 33);
  w.child_shared = make_writes(kit, window, every(pages, 4, 3), 34);
  std::vector<Write> shared_at_end = before;  // what the object holds at the end
  shared_at_end.insert(shared_at_end.end(), w.parent_after.begin(), w.parent_after.end());
  shared_at_end.insert(shared_at_end.end(), w.child_shared.begin(), w.child_shared.end());
  std::vector<Write> seen_shared = before;  // what the child reads through the SHARE view
  seen_shared.insert(seen_shared.end(), w.parent_after.begin(), w.parent_after.end());
  std::vector<Write> own_copy = before;  // the child's copy after its writes
  own_copy.insert(own_copy.end(), w.child_private.begin(), w.child_private.end());
  const uint64_t inits_before =
      kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().inits; });
  TaskLayout layout;
  layout.views = {VM_INHERIT_SHARE, VM_INHERIT_COPY};
  layout.witnesses = 4;
  std::vector<std::unique_ptr<ClientTask>> tasks;
  tasks.push_back(start_task(kit, r, window,
                             {touch_phase({0}), write_phase(before, window), fork_phase(w, window), read_all_phase()},
                             layout));
  if (!tasks.back() || !phase_done(kit, r, tasks, "reading")) return finish_all(kit, r, tasks);
  kit.proxy.take_returns();  // what comes back from now on is the writes'
  if (!step(kit, r, tasks, "writing") || !step(kit, r, tasks, "forking")) return finish_all(kit, r, tasks);
  const int status = tasks[0]->child_status();
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.fail("the task's forked child " + wait_status_text(status));
    return finish_all(kit, r, tasks);
  }
  const std::vector<uint64_t> all = every(pages, 1);
  // The copy is the task's range as it was at the fork, pages the task had
  // not touched included; the child's writes stay in its copy.
  check_witness(kit, r, "the child, through its VM_INHERIT_COPY copy,", *tasks[0], all, before, kChildCopy);
  check_witness(kit, r, "the child, through the VM_INHERIT_SHARE mapping,", *tasks[0], all, seen_shared, kChildShare);
  check_witness(kit, r, "the child, through its copy after writing it,", *tasks[0], all, own_copy, kChildCopyWritten);
  if (!step(kit, r, tasks, "reading all")) return finish_all(kit, r, tasks);
  check_witness(kit, r, "the task after the fork", *tasks[0], all, shared_at_end);
  const uint64_t inits =
      kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats().inits; }) - inits_before;
  if (inits > 1)
    kernel_breach(kit, r, "init-per-task",
                  "a task and its forked child made " + std::to_string(inits) +
                      " memory_object_init (one kernel, one object: one init)");
  // Exactly the writes to the object come back: never the child's private ones.
  clean_and_check(kit, r, window, shared_at_end, shared_at_end, "clean after the fork");
  finish_all(kit, r, tasks);
}

void kill_pager(Kit& kit, WorkloadResult& r) {
  const uint64_t window = kit.take_window();
  kit.proxy.hold_next_answer();
  std::vector<std::unique_ptr<ClientTask>> tasks;
  tasks.push_back(start_task(kit, r, window, {touch_phase({0})}));
  if (!tasks.back()) return;
  // Killed before the kernel's own timeout would fail the fault.
  if (!kit.proxy.wait_held(kit.timeout_ms() / 2))
    r.reasons.push_back("(the pager did not answer the fault; it was killed anyway)");
  kit.proxy.expect_pager_death();
  kit.pager.kill_now();
  if (!kit.proxy.wait_pager_dead(2000)) r.fail("the pager's object port did not die with it");
  ClientTask::Status s = tasks[0]->wait_phase(kit.timeout_ms() + 3000);
  if (s.kind != ClientTask::Status::kSignaled || s.code != SIGBUS || s.touching != window) {
    kernel_breach(kit, r, "dead-pager-fault",
                  "the task faulting on the dead pager's object " + s.describe() +
                          ", where it should be killed by SIGBUS at " + hex(window));
  } else {
    char b[96];
    snprintf(b, sizeof b, "(SIGBUS %d ms after the kill)", s.waited_ms);
    r.reasons.push_back(b);
  }
}

// Waits for the requests still open to be answered or to time out, so that
// what they lead to is found while their workload is the current one.
void settle(Kit& kit) {
  for (int waited = 0; waited < kit.timeout_ms() + 500; waited += 20) {
    if (kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.open_requests(); }) == 0) return;
    usleep(20000);
  }
}

}  // namespace

const std::vector<WorkloadInfo>& workload_catalog() {
  static const std::vector<WorkloadInfo> k = {
      {"sequential-read", "one task touches every page of its window in order", sequential_read},
      {"random-read", "one task touches every page of its window in a random order", random_read},
      {"shared", "tasks share one window: each touches a share, writes into another's, all read all", shared},
      {"write-clean", "write, clean (RETURN_DIRTY), flush, read back from the pager", write_clean},
      {"clean-redirty", "write, clean, write again, clean: each clean returns what was written since", clean_redirty},
      {"unmap-writeback", "write and exit: the dirty pages reach the pager; a new task reads them back",
       unmap_writeback},
      {"fork", "a task forks: its VM_INHERIT_COPY mapping is copied as at the fork, its SHARE one shared",
       fork_workload},
      {"kill-pager", "the pager is killed while a task waits on its fault: SIGBUS, no hang", kill_pager},
  };
  return k;
}

WorkloadResult run_workload(Kit& kit, const WorkloadInfo& w) {
  WorkloadResult r;
  r.name = w.name;
  kit.findings.set_workload(w.name);
  if (kit.proxy.pager_dead()) {
    r.verdict = WorkloadResult::Verdict::kNotRun;
    r.reasons.push_back("the pager is dead");
    return r;
  }
  auto counts = [&] {
    return kit.proxy.with_state([](ProtocolChecker& c, ContentModel&) {
      return std::make_pair(c.stats().requests, c.stats().pages_requested);
    });
  };
  const auto before = counts();
  w.run(kit, r);
  settle(kit);
  const auto after = counts();
  r.requests = after.first - before.first;
  r.pages_requested = after.second - before.second;
  const size_t v = kit.findings.violations_in(w.name);
  if (v && r.verdict == WorkloadResult::Verdict::kPass)
    r.fail(std::to_string(v) + " protocol violations while it ran (below)");
  return r;
}

}  // namespace pagerkit
