// pagers/pager-test/client_task.h — a client of the object under test: a
// forked process (a Mach task of its own) that maps a window of the object
// and touches it in phases the kit scripts.
//
// The task and the kit share a board (anonymous shared memory): the
// window's bytes as the task read them (the witness), the time each first
// touch took, and the window offset the task is touching right now, so a
// task killed by SIGBUS (or stuck) says where.
//
// Contract
//   start(): forks the task with `fork_task` (fork() by default; the kit
//     passes one that holds its other threads still, see Proxy::fork_quiet);
//     the task looks `service` up with bootstrap, maps
//     [offset, offset + size) of the object once per view of the layout
//     (vm_map, copy FALSE, VM_PROT_DEFAULT, the view's inheritance) and runs
//     phases[0]. After each phase it reports to
//     the kit and waits: go() starts the next phase, finish() lets it exit
//     (which unmaps the window).
//   wait_phase(): waits up to timeout_ms for the running phase to end. A
//     task that neither ends the phase nor exits by then is killed (kHung).
//   finish(): after the last phase: lets the task exit and reaps it.
//   The destructor kills and reaps a task still running.
//   Phases run in the child only; they must not use the kit's state.
#pragma once

#include <mach/vm_inherit.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pagerkit {

constexpr uint64_t kIdle = ~0ull;

// The shared board's fixed part; the latencies and the witness follow it.
struct BoardHeader {
  std::atomic<uint64_t> touching{kIdle};  // window offset being accessed, kIdle if none
  std::atomic<uint64_t> touch_start{0};   // CLOCK_MONOTONIC ns when that access began
  std::atomic<uint32_t> touches{0};       // latencies recorded
  int32_t map_result = 0;                 // mach_vm_map's result
  int32_t child_status = -1;              // a phase that forks: its child's wait status (-1: none)
  uint64_t pages = 0;
};

// How a task maps its window: one mapping (a view) per inheritance, all of
// the same object range; and how many witnesses (window-sized areas of the
// board) its phases fill.
struct TaskLayout {
  std::vector<vm_inherit_t> views{VM_INHERIT_DEFAULT};
  unsigned witnesses = 1;
};

// What a phase does, in the child task.
class ClientContext {
 public:
  ClientContext(std::vector<uint8_t*> views, uint64_t size, uint64_t page, BoardHeader* board, uint64_t* latency,
                std::vector<uint8_t*> witnesses)
      : views_(std::move(views)), size_(size), page_(page), board_(board), latency_(latency),
        witnesses_(std::move(witnesses)) {}
  uint64_t size() const { return size_; }
  uint64_t page_size() const { return page_; }
  BoardHeader& board() { return *board_; }
  // Reads the page at window offset `off` of view 0 (timed: its first
  // touch) and copies it to witness 0.
  void first_touch(uint64_t off);
  // Copies every page of the window, through `view`, to `witness` (untimed).
  void read_all(unsigned view = 0, unsigned witness = 0);
  void write(uint64_t off, const uint8_t* bytes, uint64_t len, unsigned view = 0);

 private:
  std::vector<uint8_t*> views_;
  uint64_t size_, page_;
  BoardHeader* board_;
  uint64_t* latency_;
  std::vector<uint8_t*> witnesses_;
};

using Phase = std::function<void(ClientContext&)>;

class ClientTask {
 public:
  ClientTask() = default;
  ~ClientTask();
  ClientTask(const ClientTask&) = delete;
  ClientTask& operator=(const ClientTask&) = delete;

  bool start(const std::string& service, uint64_t offset, uint64_t size, uint64_t page, std::vector<Phase> phases,
             const TaskLayout& layout = {}, const std::function<pid_t()>& fork_task = {});

  struct Status {
    enum Kind { kPhaseDone, kExited, kSignaled, kHung } kind = kPhaseDone;
    int code = 0;                 // exit status, or signal
    uint64_t touching = kIdle;    // object offset being accessed when it ended, or kIdle
    int waited_ms = 0;            // time it took
    int map_result = 0;           // mach_vm_map's result (kern_return_t)
    int touch_ms = 0;             // how long the access at `touching` had lasted
    bool ok() const { return kind == kPhaseDone || (kind == kExited && code == 0); }
    std::string describe() const;
  };
  Status wait_phase(int timeout_ms);
  void go();
  Status finish(int timeout_ms);

  const uint8_t* witness(unsigned i = 0) const { return witness_ + i * size_; }
  // The wait status of the child a phase forked (-1: none).
  int child_status() const { return header_ ? header_->child_status : -1; }
  std::vector<uint64_t> latencies() const;
  uint64_t offset() const { return offset_; }
  pid_t pid() const { return pid_; }

 private:
  Status ended(int wstatus, int waited_ms) const;
  Status wait_until(int timeout_ms, bool phase);

  pid_t pid_ = -1;
  int done_fd_ = -1;  // the task writes a byte per phase ended
  int go_fd_ = -1;    // the kit writes a byte per phase started; closing it ends the task
  void* board_ = nullptr;
  size_t board_size_ = 0;
  BoardHeader* header_ = nullptr;
  uint64_t* latency_ = nullptr;
  uint8_t* witness_ = nullptr;  // the witnesses, one after the other
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace pagerkit
