// tests/ipc/random_test.cc — a seeded random walk over every operation, many
// tasks, injected task deaths; invariants checked as it goes, leak check at
// the end. The seed is printed; IPC_SEED=<n> replays a run, IPC_STEPS=<n>
// changes its length.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "harness.h"

namespace machd::ipc::test {
namespace {

class RandomTest : public IpcTest {
 protected:
  std::mt19937_64 rng;
  std::map<WaiterId, TaskId> blocked;  // waiters we expect a completion for
  std::vector<TaskId> live;

  uint32_t pick(uint32_t n) { return n == 0 ? 0 : static_cast<uint32_t>(rng() % n); }
  TaskId any_task() { return live[pick(static_cast<uint32_t>(live.size()))]; }

  // A random name of `t` (any type), or a random bogus one.
  mach_port_name_t any_name(TaskId t) {
    std::vector<mach_port_name_t> names;
    std::vector<mach_port_type_t> types;
    k.port_names(t, &names, &types);
    if (names.empty() || pick(10) == 0) {
      static const mach_port_name_t bogus[] = {MACH_PORT_NULL, MACH_PORT_DEAD, 0x9903, 0x107, 0xffffff03};
      return bogus[pick(5)];
    }
    return names[pick(static_cast<uint32_t>(names.size()))];
  }
  mach_port_name_t name_with(TaskId t, mach_port_type_t want) {
    std::vector<mach_port_name_t> names;
    std::vector<mach_port_type_t> types;
    k.port_names(t, &names, &types);
    std::vector<mach_port_name_t> ok;
    for (size_t i = 0; i < names.size(); i++)
      if (types[i] & want) ok.push_back(names[i]);
    if (ok.empty()) return MACH_PORT_NULL;
    return ok[pick(static_cast<uint32_t>(ok.size()))];
  }
  mach_msg_type_name_t any_disp() { return MACH_MSG_TYPE_MOVE_RECEIVE + pick(7); }

  Msg random_msg(TaskId t) {
    Msg m;
    m.remote = pick(4) ? name_with(t, MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_SEND_ONCE | MACH_PORT_TYPE_RECEIVE)
                       : any_name(t);
    static const mach_msg_type_name_t dest_disps[] = {MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MOVE_SEND,
                                                      MACH_MSG_TYPE_MAKE_SEND, MACH_MSG_TYPE_MOVE_SEND_ONCE,
                                                      MACH_MSG_TYPE_MAKE_SEND_ONCE};
    m.remote_disp = dest_disps[pick(5)];
    if (pick(2)) {
      m.local = any_name(t);
      m.local_disp = dest_disps[pick(5)];
    }
    m.id = static_cast<mach_msg_id_t>(pick(1000));
    uint32_t nd = pick(4);
    for (uint32_t i = 0; i < nd; i++) {
      switch (pick(4)) {
        case 0: m.descs.push_back(Desc::port(any_name(t), any_disp())); break;
        case 1: m.descs.push_back(Desc::memory(std::vector<uint8_t>(pick(64), 0x5a), pick(2), pick(2))); break;
        case 2: m.descs.push_back(Desc::port_array({any_name(t), any_name(t)}, any_disp())); break;
        default: m.descs.push_back(Desc::port(any_name(t), MACH_MSG_TYPE_MOVE_RECEIVE)); break;
      }
    }
    m.data.assign(4 * pick(8), 0x11);
    return m;
  }

  void gather() {
    collect();
    for (auto& [w, r] : done_) {
      ASSERT_EQ(blocked.count(w), 1u) << "completion for a waiter that is not blocked";
      blocked.erase(w);
    }
    done_.clear();
  }

  void step() {
    TaskId t = any_task();
    switch (pick(20)) {
      case 0: case 1: {
        mach_port_name_t n;
        k.port_allocate(t, pick(3) ? MACH_PORT_RIGHT_RECEIVE : MACH_PORT_RIGHT_PORT_SET, &n);
        break;
      }
      case 2: k.port_deallocate(t, any_name(t)); break;
      case 3: k.port_destroy(t, any_name(t)); break;
      case 4: k.port_mod_refs(t, any_name(t), pick(6), static_cast<int>(pick(5)) - 2); break;
      case 5: {
        TaskId to = any_task();
        mach_port_name_t got;
        mach_msg_type_name_t type;
        k.port_extract_right(to, t, any_name(t), any_disp(), &got, &type);
        break;
      }
      case 6: k.port_insert_member(t, name_with(t, MACH_PORT_TYPE_RECEIVE), name_with(t, MACH_PORT_TYPE_PORT_SET)); break;
      case 7: k.port_move_member(t, name_with(t, MACH_PORT_TYPE_RECEIVE), pick(2) ? name_with(t, MACH_PORT_TYPE_PORT_SET) : MACH_PORT_NULL); break;
      case 8: case 9: case 10: {
        MsgArgs a;
        a.options = MACH_SEND_MSG | (pick(3) ? MACH_SEND_TIMEOUT : 0);
        a.timeout = pick(2) ? 0 : 5;
        a.send = random_msg(t).encode();
        WaiterId w = next_waiter();
        MsgOutcome o = k.msg(t, w, std::move(a), now_);
        if (o.blocked) blocked[w] = t;
        break;
      }
      case 11: case 12: {
        MsgArgs a;
        a.options = MACH_RCV_MSG | (pick(2) ? MACH_RCV_TIMEOUT : 0) | (pick(3) ? 0 : MACH_RCV_LARGE) |
                    MACH_RCV_TRAILER_ELEMENTS(pick(9));
        a.timeout = pick(2) ? 0 : 3;
        a.rcv_name = pick(5) ? name_with(t, MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_PORT_SET) : any_name(t);
        a.rcv_size = pick(4) ? 4096 : pick(128);
        WaiterId w = next_waiter();
        MsgOutcome o = k.msg(t, w, std::move(a), now_);
        if (o.blocked) blocked[w] = t;
        break;
      }
      case 13: {
        mach_port_name_t prev;
        static const mach_msg_id_t variants[] = {MACH_NOTIFY_DEAD_NAME, MACH_NOTIFY_NO_SENDERS,
                                                 MACH_NOTIFY_PORT_DESTROYED, MACH_NOTIFY_SEND_POSSIBLE};
        k.port_request_notification(t, any_name(t), variants[pick(4)], pick(2),
                                    name_with(t, MACH_PORT_TYPE_RECEIVE),
                                    MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev);
        break;
      }
      case 14: {
        mach_port_limits_t lim{pick(8)};
        k.port_set_attributes(t, any_name(t), MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1);
        break;
      }
      case 15:
        if (!blocked.empty() && pick(2)) {
          auto it = blocked.begin();
          std::advance(it, pick(static_cast<uint32_t>(blocked.size())));
          k.abort_wait(it->first, MACH_RCV_INTERRUPTED);
        }
        break;
      case 16:
        now_ += 2'000'000;
        k.expire(now_);
        break;
      case 17:
        if (pick(8) == 0 && live.size() > 2) {
          TaskId victim = any_task();
          gather();
          kill(victim);
          // Its own blocked threads vanish without completions.
          for (auto& [w, r] : done_) {
            auto it = blocked.find(w);
            ASSERT_TRUE(it != blocked.end() && it->second != victim) << "completion for a dead task's thread";
          }
          std::erase_if(blocked, [victim](const auto& kv) { return kv.second == victim; });
          live.erase(std::find(live.begin(), live.end(), victim));
          live.push_back(task());
        }
        break;
      default: {
        mach_port_name_t n = name_with(t, MACH_PORT_TYPE_RECEIVE);
        TaskId to = any_task();
        mach_port_name_t got;
        mach_msg_type_name_t type;
        k.port_extract_right(to, t, n, pick(2) ? MACH_MSG_TYPE_MAKE_SEND : MACH_MSG_TYPE_MAKE_SEND_ONCE, &got,
                             &type);
        break;
      }
    }
  }

  void check_invariants() {
    for (TaskId t : live) {
      std::vector<mach_port_name_t> names;
      std::vector<mach_port_type_t> types;
      ASSERT_EQ(k.port_names(t, &names, &types), KERN_SUCCESS);
      for (size_t i = 0; i < names.size(); i++) {
        mach_port_type_t ty = 0;
        ASSERT_EQ(k.port_type(t, names[i], &ty), KERN_SUCCESS);
        mach_port_type_t base = ty & MACH_PORT_TYPE_ALL_RIGHTS;
        ASSERT_NE(base, 0u);
        ASSERT_EQ(base, types[i] & MACH_PORT_TYPE_ALL_RIGHTS);
        if (base & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_DEAD_NAME)) {
          mach_port_right_t r = (base & MACH_PORT_TYPE_SEND) ? MACH_PORT_RIGHT_SEND : MACH_PORT_RIGHT_DEAD_NAME;
          mach_port_urefs_t u = 0;
          ASSERT_EQ(k.port_get_refs(t, names[i], r, &u), KERN_SUCCESS);
          ASSERT_GE(u, 1u);
          ASSERT_LE(u, 0xFFFFu);
        }
        if (base & MACH_PORT_TYPE_RECEIVE) {
          mach_port_status_t s = status(t, names[i]);
          ASSERT_LE(s.mps_qlimit, static_cast<natural_t>(MACH_PORT_QLIMIT_MAX));
        }
      }
    }
    ASSERT_EQ(k.stats().waiters, blocked.size()) << "kernel waiters and blocked calls disagree";
  }
};

TEST_F(RandomTest, RandomOperationsKeepInvariantsAndLeakNothing) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("IPC_SEED")) seed = std::strtoull(s, nullptr, 0);
  uint64_t steps = 20000;
  if (const char* s = std::getenv("IPC_STEPS")) steps = std::strtoull(s, nullptr, 0);
  std::printf("RandomTest seed: IPC_SEED=%llu\n", static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  rng.seed(seed);
  for (int i = 0; i < 6; i++) live.push_back(task());
  for (uint64_t i = 0; i < steps; i++) {
    step();
    gather();
    if (HasFatalFailure()) FAIL() << "step " << i << " seed " << seed;
    if (i % 500 == 0) {
      check_invariants();
      if (HasFatalFailure()) FAIL() << "invariants at step " << i << " seed " << seed;
    }
  }
  // Wind down: wake everything, then the fixture's leak check runs.
  std::vector<WaiterId> ws;
  for (auto& [w, t] : blocked) ws.push_back(w);
  for (WaiterId w : ws) k.abort_wait(w, MACH_RCV_INTERRUPTED);
  gather();
  EXPECT_TRUE(blocked.empty());
  live.clear();
}

}  // namespace
}  // namespace machd::ipc::test
