// machd/vm/fork_copies.cc — see fork_copies.h.
#include "fork_copies.h"

#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "address_map.h"
#include "eager_copy_bound.h"
#include "eager_copy_quota.h"
#include "kern/process.h"
#include "memory_objects.h"
#include "object_map.h"

namespace machd::vm {

namespace {

// The children of thread `tid` of process `pid` (/proc/PID/task/TID/children).
std::set<pid_t> children_of(pid_t pid, pid_t tid) {
  std::set<pid_t> out;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", int(pid), int(tid));
  FILE* f = fopen(path, "re");
  if (f == nullptr) return out;
  int c = 0;
  while (fscanf(f, "%d", &c) == 1) out.insert(pid_t(c));
  fclose(f);
  return out;
}

// The mappings cut where the protection Linux has for them changes (a
// vm_protect since the vm_map), each piece with that protection. As they
// are if the map cannot be read.
std::vector<ObjectMapping> with_current_protection(const std::vector<ObjectMapping>& maps, pid_t pid) {
  const std::optional<std::vector<MapEntry>> entries = read_map(pid, false);
  if (!entries) return maps;
  std::vector<ObjectMapping> out;
  for (const ObjectMapping& m : maps) {
    for (const MapEntry& e : *entries) {
      if (e.end <= m.start || e.start >= m.end) continue;
      ObjectMapping piece = m;
      piece.start = std::max(e.start, m.start);
      piece.end = std::min(e.end, m.end);
      piece.offset = m.offset + (piece.start - m.start);
      piece.protection = e.protection;
      out.push_back(piece);
    }
  }
  return out;
}

}  // namespace

ForkCopies::~ForkCopies() {
  if (timer_) kern::runtime().timers().cancel(timer_);
  // (The objects go with MemoryObjects; only the snapshots are ours.)
  for (auto& [token, r] : records_)
    for (Copy& c : r.copies)
      if (c.fd >= 0) close(c.fd);
}

ForkCopies::Record* ForkCopies::find(uint64_t token) {
  auto it = records_.find(token);
  return it == records_.end() ? nullptr : &it->second;
}

void ForkCopies::prepare(ipc::TaskId parent, pid_t tid, Prepared done) {
  kern::Runtime& rt = kern::runtime();
  const pid_t parent_pid = rt.host().pid_of(parent);
  std::vector<ObjectMapping> from;
  for (const ObjectMapping* m : objects_.router().mappings_in(parent, 0, UINT64_MAX))
    if (m->inheritance == VM_INHERIT_COPY && m->object->alive()) from.push_back(*m);
  if (from.empty() || parent_pid <= 0) return done(KERN_SUCCESS, 0, {});
  from = with_current_protection(from, parent_pid);
  uint64_t token = 0;  // known only to the parent and, through its memory, the fork's child
  while (token == 0 || records_.count(token))
    if (getrandom(&token, sizeof token, 0) != ssize_t(sizeof token)) token = next_token_++ | (uint64_t(1) << 63);
  Record& r = records_[token];
  r.parent = parent;
  r.parent_pid = parent_pid;
  r.tid = tid;
  r.children_before = children_of(parent_pid, tid);
  r.done = std::move(done);
  r.copies.resize(from.size());
  r.reserved.resize(from.size());
  r.making = from.size() + 1;  // (+1: until every copy has been started)
  EagerCopyBudget budget;  // the snapshots of this fork, all together
  EagerCopyQuota& quota = objects_.eager_copies();
  const std::optional<uid_t> uid = EagerCopyQuota::user_of(parent);
  for (size_t i = 0; i < from.size(); ++i) {
    const ObjectMapping& m = from[i];
    const uint64_t len = m.end - m.start;
    r.copies[i] = Copy{m.start, len, m.protection, -1, 0};
    MemoryObject* o = m.object;
    if (copy_call_ok(parent, *o)) {
      // The pager's copy, as vm_map copy=TRUE makes it.
      if (MemoryObject* c = copy_call(*o, m.offset, len)) r.copies[i].object = c->id();
      made(token);
      continue;
    }
    const uint64_t id = o->id();
    if (!o->internal()) {
      // Past the fork's bound, or past what the user may still have in
      // flight, nothing is asked of the pager: the child lacks the range,
      // as when a copy fails. (Anonymous memory is not counted: the task's
      // memory budget already bounds it, and a program's own memory must
      // reach its child whole.) The reservation is the record's, not the
      // parent's: the copy lives until the child has it, maybe after the
      // parent ended.
      if (len <= budget.left() && uid) r.reserved[i] = quota.reserve(*uid, len);
      if (!r.reserved[i]) {
        if (len > budget.left())
          spdlog::warn("fork: object {} [{:#x}, +{:#x}) left out of the child: the fork's snapshots would pass {} bytes",
                       id, m.offset, len, kMaxEagerCopyBytes);
        else
          spdlog::warn("fork: object {} [{:#x}, +{:#x}) left out of the child: user {} has {} bytes of eager copies "
                       "in flight (at most {}, --max-eager-copy-per-user)",
                       id, m.offset, len, uid.value_or(uid_t(-1)), uid ? quota.in_flight(*uid) : 0, quota.bound());
        made(token);
        continue;
      }
      budget.take(len);
    }
    objects_.pin(id);  // (until the snapshot is taken: another thread's unmap must not end it)
    o->when_resident(m.offset, len, [this, token, i, id, offset = m.offset, len](bool ok) {
      Record* rec = find(token);
      MemoryObject* obj = objects_.by_id(id);
      if (rec != nullptr && ok && obj != nullptr) rec->copies[i].fd = snapshot(obj->fd(), offset, len);
      objects_.unpin_soon(id);  // (not under the object's own call)
      if (rec == nullptr) return;  // (released meanwhile)
      if (rec->copies[i].fd < 0) {
        spdlog::warn("fork: no copy of object {} [{:#x}, +{:#x}) for the child", id, offset, len);
        rec->reserved[i].reset();  // (nothing is held for it)
      }
      made(token);
    });
  }
  objects_.arm();  // (deadlines of the requests when_resident made)
  made(token);
}

void ForkCopies::made(uint64_t token) {
  Record* r = find(token);
  if (r == nullptr || --r->making > 0) return;
  // The copies that could not be made are left out.
  std::erase_if(r->copies, [](const Copy& c) { return c.fd < 0 && c.object == 0; });
  Prepared done = std::move(r->done);
  Ranges ranges;
  for (const Copy& c : r->copies) ranges.emplace_back(c.start, c.len);
  if (ranges.empty()) release(token);
  done(KERN_SUCCESS, ranges.empty() ? 0 : token, ranges);
}

void ForkCopies::release(uint64_t token) {
  auto it = records_.find(token);
  if (it == records_.end()) return;
  Record r = std::move(it->second);
  records_.erase(it);
  for (Copy& c : r.copies) {
    if (c.fd >= 0) close(c.fd);
    if (c.object != 0) objects_.release_if_unused(c.object);  // (the child's mapping keeps it)
  }
  // A parent still waiting in prepare (its task ended) gets no answer.
}

kern_return_t ForkCopies::fork_done(ipc::TaskId parent, uint64_t token) {
  Record* r = find(token);
  if (r == nullptr) return KERN_SUCCESS;  // claimed and finished already
  if (r->parent != parent || r->making > 0) return KERN_INVALID_ARGUMENT;
  if (r->child != ipc::kNoTask) return KERN_SUCCESS;  // claimed: its task's end or finish releases them
  pid_t child = 0;
  for (pid_t p : children_of(r->parent_pid, r->tid))
    if (!r->children_before.count(p)) child = p;
  const uint64_t start = child > 0 ? kern::start_time_of(child) : 0;
  if (start == 0) {  // no child (the fork failed), or it is gone already
    release(token);
    return KERN_SUCCESS;
  }
  r->child_pid = child;
  r->child_start = start;
  watch();
  return KERN_SUCCESS;
}

ForkCopies::Record* ForkCopies::claim(ipc::TaskId child, pid_t parent_pid, uint64_t token) {
  Record* r = find(token);
  if (r == nullptr || r->making > 0 || r->parent_pid != parent_pid) return nullptr;
  if (r->child != ipc::kNoTask) return r->child == child ? r : nullptr;
  const pid_t pid = kern::runtime().host().pid_of(child);
  if (pid <= 0 || kern::parent_of(pid) != parent_pid) return nullptr;
  if (r->child_pid != 0 && r->child_pid != pid) return nullptr;  // another child of that fork
  r->child = child;
  return r;
}

kern_return_t ForkCopies::take(ipc::TaskId child, pid_t parent_pid, uint64_t token, uint64_t index, Copy* out,
                               int* fd, bool* shared) {
  Record* r = claim(child, parent_pid, token);
  if (r == nullptr || index >= r->copies.size()) return KERN_INVALID_ARGUMENT;
  const Copy& c = r->copies[index];
  *out = c;
  *shared = c.object != 0;
  if (c.fd >= 0) {
    *fd = c.fd;
    return KERN_SUCCESS;
  }
  MemoryObject* o = objects_.by_id(c.object);
  if (o == nullptr || !o->alive()) return KERN_MEMORY_ERROR;
  *fd = o->fd();
  return KERN_SUCCESS;
}

kern_return_t ForkCopies::mapped(ipc::TaskId child, uint64_t token, uint64_t index) {
  Record* r = find(token);
  if (r == nullptr || r->child != child || index >= r->copies.size() || r->copies[index].object == 0)
    return KERN_INVALID_ARGUMENT;
  const Copy& c = r->copies[index];
  MemoryObject* o = objects_.by_id(c.object);
  if (o == nullptr || !o->alive()) return KERN_MEMORY_ERROR;
  const int e = objects_.router().add_mapping(child, c.start, c.start + c.len, 0, c.prot, o, VM_INHERIT_COPY);
  return e == 0 ? KERN_SUCCESS : KERN_NOT_SUPPORTED;
}

kern_return_t ForkCopies::finish(ipc::TaskId child, pid_t parent_pid, uint64_t token) {
  if (claim(child, parent_pid, token) == nullptr) return KERN_INVALID_ARGUMENT;
  release(token);
  return KERN_SUCCESS;
}

void ForkCopies::task_terminating(ipc::TaskId task) {
  std::vector<uint64_t> gone;
  for (auto& [token, r] : records_) {
    // The claiming child ended; or the parent ended before it knew its
    // child (that child's parent is another process now: it cannot claim).
    if (r.child == task || (r.parent == task && r.child == ipc::kNoTask && r.child_pid == 0)) gone.push_back(token);
  }
  for (uint64_t t : gone) release(t);
}

void ForkCopies::watch() {
  if (timer_) return;
  kern::TimerQueue& tq = kern::runtime().timers();
  timer_ = tq.add(object_now_ns() + kWatchNs, [this] {
    timer_ = 0;
    std::vector<uint64_t> gone;
    bool more = false;
    for (auto& [token, r] : records_) {
      if (r.child != ipc::kNoTask || r.child_pid == 0) continue;  // claimed, or the fork not returned yet
      if (kern::start_time_of(r.child_pid) != r.child_start) {
        gone.push_back(token);  // the child exited without claiming them
      } else {
        more = true;
      }
    }
    for (uint64_t t : gone) release(t);
    if (more) watch();
  });
}

}  // namespace machd::vm
