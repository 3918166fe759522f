// tests/bench/pager_bench.cc — page faults served by an external pager
// through machd, each beside its Linux floor measured in the same run.
//
//   pager_bench [--machd PATH] [--size BYTES] [--faults N] [--cluster-faults N]
//               [--writeback BYTES]          (sizes take a K, M or G suffix)
//
// Runs everything twice, each time with a private machd and a pager process
// (bench_pager.h) of its own: first with the bench, the pager and machd all
// pinned to one CPU, then free (the scheduler places them). Rows:
//   1 sequential first touch of `size` bytes (default 512 MiB) mapped from the
//     pager (one read per page) vs the same data in a tmpfs file (memfd)
//     mmap'ed MAP_SHARED, its pages already in the page cache;
//   2 random 4 KiB faults (`faults`, default 4096, in shuffled order), each
//     on a page the object does not hold between two it holds, so machd
//     asks the pager for that one page, vs a MISSING fault on anonymous
//     memory resolved by a thread of this process with a 4 KiB UFFDIO_COPY;
//   2b random faults one per 2 MiB stride (`cluster-faults`, default 512),
//     where each fault costs machd's whole 256 KiB cluster, vs the
//     in-process handler copying the same 256 KiB;
//   3 row 2's p99 free vs pinned;
//   4 write-back: dirty `writeback` bytes (default 256 MiB) of a mapped
//     object, then the pager's memory_object_lock_request(RETURN_DIRTY)
//     until its lock_completed: bytes of data_return per second, vs one
//     memcpy of the same bytes out of a tmpfs mapping (mapped already, as
//     the dirty pages are: the one copy any write-back makes);
//   5 background fill: the pager supplies all `size` bytes of a freshly
//     mapped object unasked (data_supply in 2 MiB pieces) until machd
//     completed the last; then every page is read, which must fault no
//     more (they were mapped ahead): bytes per second, vs one pwrite of
//     the bytes into a tmpfs file (the copy into a page cache any fill
//     makes).
// Timing never fails the run; a failed call or wrong data does (exit 1).
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../common/private_machd.h"
#include "bench_pager.h"
#include "uffd_floor.h"

namespace {

using pagerbench::kPage;
using pagerbench::ObjectStats;
using pagerbench::PagerClient;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kStride = 2 * kMiB;          // row 2b: one fault per 2 MiB
constexpr uint64_t kClusterBytes = 256 * 1024;  // machd's first cluster (64 pages)

struct Options {
  std::string machd;
  uint64_t size = 512 * kMiB;  // 1 GiB doubles the run (about 35 s on a 2-vCPU VM)
  uint64_t faults = 4096;
  uint64_t cluster_faults = 512;
  uint64_t writeback = 256 * kMiB;
};

struct Latency {
  double p50 = 0, p90 = 0, p99 = 0;  // microseconds
};

struct SequentialRow {
  double pager_s = 0, tmpfs_s = 0;
  uint64_t requests = 0, bytes_requested = 0;
};

struct RandomRow {
  Latency pager, floor;
  uint64_t faults = 0, requests = 0, bytes_requested = 0;
};

struct WriteBackRow {
  double dirty_s = 0, lock_s = 0, memcpy_s = 0;
  uint64_t returns = 0, bytes_returned = 0;
};

struct FillRow {
  double fill_s = 0, touch_s = 0, pwrite_s = 0;
  uint64_t requests_after = 0;  // data_requests while reading the filled pages
  uint64_t faults_after = 0;    // page faults this process took meanwhile (minor, from getrusage)
};

// What one placement measured (sent from its process through a pipe).
struct PhaseResult {
  bool ok = false;
  char error[256] = {};
  SequentialRow seq;
  RandomRow single, cluster;
  WriteBackRow wb;
  FillRow fill;
  double seconds = 0;  // the whole placement, setup included
};

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

volatile uint64_t g_sink;

// Reads one byte of every page of [p, p+size) in order; seconds taken.
double touch_pages(const uint8_t* p, uint64_t size) {
  const auto* v = reinterpret_cast<const volatile uint8_t*>(p);
  uint64_t sum = 0;
  const uint64_t t0 = now_ns();
  for (uint64_t off = 0; off < size; off += kPage) sum += v[off];
  const uint64_t t1 = now_ns();
  g_sink = g_sink + sum;
  return double(t1 - t0) / 1e9;
}

// Reads the byte at each offset in turn; per-read latencies (µs), p50/p90/p99.
Latency touch_each(const uint8_t* p, const std::vector<uint64_t>& offsets) {
  const auto* v = reinterpret_cast<const volatile uint8_t*>(p);
  std::vector<double> us;
  us.reserve(offsets.size());
  uint64_t sum = 0;
  for (uint64_t off : offsets) {
    const uint64_t t0 = now_ns();
    sum += v[off];
    us.push_back(double(now_ns() - t0) / 1e3);
  }
  g_sink = g_sink + sum;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us.empty() ? 0.0 : us[std::min(us.size() - 1, size_t(q * double(us.size())))]; };
  return Latency{at(0.50), at(0.90), at(0.99)};
}

// Offsets of `p` whose byte is not what the pager's store holds there.
uint64_t mismatches(const uint8_t* p, const std::vector<uint64_t>& offsets, uint64_t store_size) {
  uint64_t bad = 0;
  for (uint64_t off : offsets)
    if (p[off] != pagerbench::pattern_byte(off % store_size)) ++bad;
  return bad;
}

uint8_t* map_object(mach_port_t object, uint64_t size) {
  mach_vm_address_t a = 0;
  if (mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, object, 0, FALSE, VM_PROT_DEFAULT, VM_PROT_ALL,
                  VM_INHERIT_DEFAULT) != KERN_SUCCESS)
    return nullptr;
  return reinterpret_cast<uint8_t*>(a);
}

// A tmpfs file (memfd) of `size` bytes holding the pager's data, in the page cache.
int tmpfs_copy_of_store(uint64_t size) {
  int fd = memfd_create("pager-bench-floor", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, off_t(size)) != 0) return -1;
  std::vector<uint8_t> buf(std::min<uint64_t>(size, pagerbench::kStoreAlign));
  for (uint64_t at = 0; at < size; at += buf.size()) {
    const uint64_t n = std::min<uint64_t>(buf.size(), size - at);
    pagerbench::fill_pattern(buf.data(), at, n);
    if (pwrite(fd, buf.data(), n, off_t(at)) != ssize_t(n)) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

class Phase {
 public:
  Phase(const Options& o, PagerClient& pager, PhaseResult& r) : o_(o), pager_(pager), r_(r) {}

  bool sequential();
  bool random_single();
  bool random_cluster();
  bool write_back();
  bool background_fill();

 private:
  bool fail(const char* row, const char* what) {
    snprintf(r_.error, sizeof r_.error, "%s: %s", row, what);
    return false;
  }
  bool random_faults(const char* row, uint8_t* p, uint64_t size, uint32_t index, const std::vector<uint64_t>& offsets,
                     uint64_t chunk, RandomRow& out);
  // A new object from the pager, mapped here: (address, index); null on failure.
  uint8_t* new_mapped_object(uint64_t size, uint32_t* index) {
    mach_port_t object = MACH_PORT_NULL;
    if (!pager_.new_object(&object, index)) return nullptr;
    uint8_t* p = map_object(object, size);
    mach_port_deallocate(mach_task_self(), object);  // the mapping holds the object
    return p;
  }

  const Options& o_;
  PagerClient& pager_;
  PhaseResult& r_;
};

bool Phase::sequential() {
  uint32_t index = 0;
  uint8_t* p = new_mapped_object(o_.size, &index);
  if (p == nullptr) return fail("row 1", "vm_map of the pager's object failed");
  r_.seq.pager_s = touch_pages(p, o_.size);
  std::vector<uint64_t> every_page;
  for (uint64_t off = 0; off < o_.size; off += kPage) every_page.push_back(off + (off / kPage) % kPage);
  if (mismatches(p, every_page, o_.size) != 0) return fail("row 1", "the mapped object does not hold the pager's data");
  ObjectStats st;
  if (!pager_.stats(index, &st)) return fail("row 1", "pager stats failed");
  r_.seq.requests = st.requests;
  r_.seq.bytes_requested = st.bytes_requested;
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), o_.size);

  const int fd = tmpfs_copy_of_store(o_.size);
  if (fd < 0) return fail("row 1", "cannot fill a tmpfs file");
  void* m = mmap(nullptr, o_.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    close(fd);
    return fail("row 1", "cannot map the tmpfs file");
  }
  r_.seq.tmpfs_s = touch_pages(static_cast<uint8_t*>(m), o_.size);
  munmap(m, o_.size);
  close(fd);
  return true;
}

// Touches p (object `index`, `size` bytes, mapped) at each offset in turn,
// unmaps it, then does the same on the in-process floor, which copies
// `chunk` bytes per fault. Fills `out`.
bool Phase::random_faults(const char* row, uint8_t* p, uint64_t size, uint32_t index,
                          const std::vector<uint64_t>& offsets, uint64_t chunk, RandomRow& out) {
  char what[160];
  ObjectStats before, after;
  if (!pager_.stats(index, &before)) return fail(row, "pager stats failed");
  out.pager = touch_each(p, offsets);
  if (!pager_.stats(index, &after)) return fail(row, "pager stats failed");
  if (uint64_t bad = mismatches(p, offsets, o_.size); bad != 0) {
    snprintf(what, sizeof what, "%llu pages do not hold the pager's data", (unsigned long long)bad);
    return fail(row, what);
  }
  out.faults = offsets.size();
  out.requests = after.requests - before.requests;
  out.bytes_requested = after.bytes_requested - before.bytes_requested;
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);

  std::vector<uint8_t> source(std::max(chunk, kStride));
  pagerbench::fill_pattern(source.data(), 0, source.size());
  pagerbench::InProcessFaults floor;
  if (!floor.start((size + chunk - 1) / chunk * chunk, chunk, source.data(), source.size()))
    return fail(row, "userfaultfd is not available to this process");
  out.floor = touch_each(floor.base(), offsets);
  floor.stop();
  return true;
}

bool Phase::random_single() {
  // Pages 0..2N: the object holds the even ones, the N odd ones are faulted.
  const uint64_t n = o_.faults;
  const uint64_t size = (2 * n + 1) * kPage;
  uint32_t index = 0;
  uint8_t* p = new_mapped_object(size, &index);
  if (p == nullptr) return fail("row 2", "vm_map of the pager's object failed");
  touch_pages(p, size);
  if (!pager_.flush_pages(index, 1, n, 2)) return fail("row 2", "flushing the odd pages failed");
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < n; ++i) offsets.push_back((2 * i + 1) * kPage + (i * 64) % kPage);
  std::shuffle(offsets.begin(), offsets.end(), std::mt19937_64(42));
  return random_faults("row 2", p, size, index, offsets, kPage, r_.single);
}

bool Phase::random_cluster() {
  const uint64_t n = o_.cluster_faults;
  const uint64_t size = n * kStride;
  uint32_t index = 0;
  uint8_t* p = new_mapped_object(size, &index);
  if (p == nullptr) return fail("row 2b", "vm_map of the pager's object failed");
  std::mt19937_64 rng(7);
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < n; ++i) offsets.push_back(i * kStride + (rng() % (kStride / kPage)) * kPage);
  std::shuffle(offsets.begin(), offsets.end(), rng);
  return random_faults("row 2b", p, size, index, offsets, kClusterBytes, r_.cluster);
}

bool Phase::write_back() {
  const uint64_t size = o_.writeback;
  uint32_t index = 0;
  uint8_t* p = new_mapped_object(size, &index);
  if (p == nullptr) return fail("row 4", "vm_map of the pager's object failed");
  const uint64_t t0 = now_ns();
  for (uint64_t off = 0; off < size; off += kPage) p[off] = uint8_t(~pagerbench::pattern_byte(off % o_.size));
  r_.wb.dirty_s = double(now_ns() - t0) / 1e9;
  ObjectStats st;
  if (!pager_.write_back(index, size, &st)) return fail("row 4", "write-back (lock_request) failed");
  r_.wb.lock_s = double(st.lock_ns) / 1e9;
  r_.wb.returns = st.returns;
  r_.wb.bytes_returned = st.bytes_returned;
  if (st.bytes_returned != size) {
    char what[160];
    snprintf(what, sizeof what, "the pager got %llu of the %llu dirty bytes back (%llu data_returns)",
             (unsigned long long)st.bytes_returned, (unsigned long long)size, (unsigned long long)st.returns);
    return fail("row 4", what);
  }
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);

  const int fd = tmpfs_copy_of_store(size);
  if (fd < 0) return fail("row 4", "cannot fill a tmpfs file");
  void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    close(fd);
    return fail("row 4", "cannot map the tmpfs file");
  }
  std::vector<uint8_t> dst(size, 1);
  memcpy(dst.data(), m, size);  // maps every page (the object's pages were mapped too)
  const uint64_t t1 = now_ns();
  memcpy(dst.data(), m, size);
  r_.wb.memcpy_s = double(now_ns() - t1) / 1e9;
  g_sink = g_sink + dst[size / 2];
  munmap(m, size);
  close(fd);
  return true;
}

bool Phase::background_fill() {
  const uint64_t size = o_.size;
  uint32_t index = 0;
  uint8_t* p = new_mapped_object(size, &index);
  if (p == nullptr) return fail("row 5", "vm_map of the pager's object failed");
  ObjectStats st, after;
  if (!pager_.fill(index, size, &st)) return fail("row 5", "the unasked supply failed");
  r_.fill.fill_s = double(st.lock_ns) / 1e9;
  rusage ru0{}, ru1{};
  getrusage(RUSAGE_SELF, &ru0);
  r_.fill.touch_s = touch_pages(p, size);
  getrusage(RUSAGE_SELF, &ru1);
  r_.fill.faults_after = uint64_t(ru1.ru_minflt - ru0.ru_minflt);
  if (!pager_.stats(index, &after)) return fail("row 5", "pager stats failed");
  r_.fill.requests_after = after.requests - st.requests;
  std::vector<uint64_t> sample;
  for (uint64_t off = 0; off < size; off += 64 * kPage + 8) sample.push_back(off);
  if (mismatches(p, sample, o_.size) != 0) return fail("row 5", "the filled object does not hold the pager's data");
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);

  std::vector<uint8_t> src(std::min<uint64_t>(size, pagerbench::kStoreAlign));
  pagerbench::fill_pattern(src.data(), 0, src.size());
  const int fd = memfd_create("pager-bench-fill-floor", MFD_CLOEXEC);
  if (fd < 0) return fail("row 5", "memfd_create failed");
  const uint64_t t0 = now_ns();
  for (uint64_t at = 0; at < size; at += src.size())
    if (pwrite(fd, src.data(), std::min<uint64_t>(src.size(), size - at), off_t(at)) < 0) {
      close(fd);
      return fail("row 5", "pwrite into tmpfs failed");
    }
  r_.fill.pwrite_s = double(now_ns() - t0) / 1e9;
  close(fd);
  return true;
}

// One placement: a private machd, a pager process and the rows, in this
// (fresh) process. `pin`: the CPU set for all three, or null.
PhaseResult run_phase(const Options& o, const cpu_set_t* pin) {
  PhaseResult r;
  const uint64_t t0 = now_ns();
  if (pin != nullptr) sched_setaffinity(0, sizeof *pin, pin);
  testsupport::PrivateMachd daemon;
  if (!daemon.start(o.machd, "warn", pin)) {
    snprintf(r.error, sizeof r.error, "machd did not start (%s)", o.machd.c_str());
    return r;
  }
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  const std::string service = "org.machd.pager-bench." + std::to_string(getpid());
  // The pager is forked before this process talks to machd.
  const pid_t pager_pid = fork();
  if (pager_pid == 0) _exit(pagerbench::run_pager(service, o.size));
  PagerClient pager;
  if (!pager.connect(service)) {  // (connects this process to machd)
    snprintf(r.error, sizeof r.error, "cannot reach machd or the pager");
  } else {
    Phase ph(o, pager, r);
    // (row 5 before row 4: the write-back changes the store)
    r.ok = ph.sequential() && ph.random_single() && ph.random_cluster() && ph.background_fill() && ph.write_back();
    pager.quit();
  }
  int status = 0;
  if (!r.ok) kill(pager_pid, SIGKILL);
  waitpid(pager_pid, &status, 0);
  daemon.stop();
  r.seconds = double(now_ns() - t0) / 1e9;
  return r;
}

// Runs run_phase in a child process (each placement starts from a process
// that never talked to machd) and returns what it measured.
PhaseResult run_phase_in_child(const Options& o, const cpu_set_t* pin) {
  PhaseResult r;
  int fds[2];
  if (pipe(fds) != 0) {
    snprintf(r.error, sizeof r.error, "pipe: %s", strerror(errno));
    return r;
  }
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    PhaseResult mine = run_phase(o, pin);
    ssize_t w = write(fds[1], &mine, sizeof mine);
    _exit(w == ssize_t(sizeof mine) ? 0 : 1);
  }
  close(fds[1]);
  size_t got = 0;
  while (got < sizeof r) {
    ssize_t n = read(fds[0], reinterpret_cast<char*>(&r) + got, sizeof r - got);
    if (n <= 0) break;
    got += size_t(n);
  }
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  if (got != sizeof r) {
    r = PhaseResult{};
    snprintf(r.error, sizeof r.error, "the measuring process died");
  }
  return r;
}

// ---- the table ---------------------------------------------------------------------

double gib_per_s(uint64_t bytes, double s) { return s > 0 ? double(bytes) / double(1ull << 30) / s : 0; }
double gb_per_s(uint64_t bytes, double s) { return s > 0 ? double(bytes) / 1e9 / s : 0; }

// Columns: row, pager, floor, what the floor is, pager/floor, target.
#define ROW "  %-34s %14s %14s  %-26s %7s  %s\n"

std::string fmt(const char* f, double v) {
  char b[32];
  snprintf(b, sizeof b, f, v);
  return b;
}

void note(const char* f, ...) __attribute__((format(printf, 1, 2)));
void note(const char* f, ...) {
  va_list ap;
  va_start(ap, f);
  printf("  %-34s ", "");
  vprintf(f, ap);
  printf("\n");
  va_end(ap);
}

// Row 2 carries the targets; row 2b is for reading only.
void latency_rows(const char* name, const RandomRow& row, const char* floor_name, bool targets) {
  struct {
    const char* q;
    double pager, floor;
    const char* target;
  } qs[] = {{" p50", row.pager.p50, row.floor.p50, targets ? "<= 1.5x" : ""},
            {" p90", row.pager.p90, row.floor.p90, ""},
            {" p99", row.pager.p99, row.floor.p99, targets ? "<= 2x" : ""}};
  for (const auto& q : qs)
    printf(ROW, (q.q == qs[0].q ? std::string(name) + q.q : std::string("   ") + q.q).c_str(),
           fmt("%.1f us", q.pager).c_str(), fmt("%.1f us", q.floor).c_str(), q.q == qs[0].q ? floor_name : "",
           fmt("%.2fx", q.floor > 0 ? q.pager / q.floor : 0.0).c_str(), q.target);
  note("%llu faults, %llu data_requests of %.0f KiB on average", (unsigned long long)row.faults,
       (unsigned long long)row.requests, row.requests ? double(row.bytes_requested) / double(row.requests) / 1024 : 0.0);
}

void print_phase(const char* title, const Options& o, const PhaseResult& r) {
  printf("\n%s (%.1f s)\n", title, r.seconds);
  if (!r.ok) {
    printf("  FAILED: %s\n", r.error);
    return;
  }
  printf(ROW, "row", "pager", "floor", "floor is", "ratio", "target");
  const double pg = gib_per_s(o.size, r.seq.pager_s), fl = gib_per_s(o.size, r.seq.tmpfs_s);
  char name[64];
  snprintf(name, sizeof name, "1 sequential first touch %llu MiB", (unsigned long long)(o.size / kMiB));
  printf(ROW, name, fmt("%.2f GiB/s", pg).c_str(), fmt("%.2f GiB/s", fl).c_str(), "tmpfs MAP_SHARED mmap",
         fmt("%.2fx", fl > 0 ? pg / fl : 0.0).c_str(), ">= 0.70x");
  note("%llu data_requests, average cluster %.0f KiB", (unsigned long long)r.seq.requests,
       r.seq.requests ? double(r.seq.bytes_requested) / double(r.seq.requests) / 1024 : 0.0);
  latency_rows("2 random 4 KiB fault", r.single, "in-process uffd COPY 4 KiB", true);
  note("(each fault: a page absent between two resident ones, so the request is that page)");
  latency_rows("2b random fault, 256 KiB cluster", r.cluster, "in-process uffd COPY 256 KiB", false);
  note("(one fault per 2 MiB stride, each costing machd's first 64-page cluster)");
  snprintf(name, sizeof name, "4 write-back %llu MiB", (unsigned long long)(o.writeback / kMiB));
  const double wb = gb_per_s(r.wb.bytes_returned, r.wb.lock_s), mc = gb_per_s(o.writeback, r.wb.memcpy_s);
  printf(ROW, name, fmt("%.2f GB/s", wb).c_str(), fmt("%.2f GB/s", mc).c_str(), "one memcpy of the bytes",
         fmt("%.2fx", mc > 0 ? wb / mc : 0.0).c_str(), "");
  note("%llu data_returns in %.1f ms; dirtying the pages first took %.1f ms (%.2f GB/s)",
       (unsigned long long)r.wb.returns, r.wb.lock_s * 1e3, r.wb.dirty_s * 1e3, gb_per_s(o.writeback, r.wb.dirty_s));
  snprintf(name, sizeof name, "5 background fill %llu MiB", (unsigned long long)(o.size / kMiB));
  const double bf = gb_per_s(o.size, r.fill.fill_s), pw = gb_per_s(o.size, r.fill.pwrite_s);
  printf(ROW, name, fmt("%.2f GB/s", bf).c_str(), fmt("%.2f GB/s", pw).c_str(), "one pwrite into tmpfs",
         fmt("%.2fx", pw > 0 ? bf / pw : 0.0).c_str(), "");
  note("then reading every page took %.1f ms (%.2f GiB/s), %llu page faults, %llu data_requests (mapped ahead: 0)",
       r.fill.touch_s * 1e3, gib_per_s(o.size, r.fill.touch_s), (unsigned long long)r.fill.faults_after,
       (unsigned long long)r.fill.requests_after);
}

bool parse_size(const char* s, uint64_t* out) {
  char* end = nullptr;
  const double v = strtod(s, &end);
  if (end == s || v <= 0) return false;
  uint64_t mult = 1;
  if (*end == 'K' || *end == 'k') mult = 1ull << 10;
  else if (*end == 'M' || *end == 'm') mult = 1ull << 20;
  else if (*end == 'G' || *end == 'g') mult = 1ull << 30;
  else if (*end != '\0') return false;
  *out = uint64_t(v * double(mult));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const char* m = getenv("MACHD_BIN")) o.machd = m;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    bool ok = true;
    if (a == "--machd" && has) o.machd = argv[++i];
    else if (a == "--size" && has) ok = parse_size(argv[++i], &o.size);
    else if (a == "--faults" && has) ok = parse_size(argv[++i], &o.faults);
    else if (a == "--cluster-faults" && has) ok = parse_size(argv[++i], &o.cluster_faults);
    else if (a == "--writeback" && has) ok = parse_size(argv[++i], &o.writeback);
    else ok = false;
    if (!ok) {
      fprintf(stderr,
              "usage: pager_bench [--machd PATH] [--size BYTES] [--faults N] [--cluster-faults N] [--writeback BYTES]\n"
              "       (sizes take a K, M or G suffix)\n");
      return 2;
    }
  }
  if (o.machd.empty()) {
    fprintf(stderr, "pager_bench: no machd (--machd PATH or MACHD_BIN)\n");
    return 2;
  }
  // The store (and row 1) in whole 2 MiB units; whole pages elsewhere.
  const uint64_t align = pagerbench::kStoreAlign;
  o.size = std::max(align, (o.size + align - 1) / align * align);
  o.writeback = std::max(kPage, (o.writeback + kPage - 1) / kPage * kPage);
  o.faults = std::max<uint64_t>(o.faults, 1);
  o.cluster_faults = std::max<uint64_t>(o.cluster_faults, 1);

  cpu_set_t mine, one;
  CPU_ZERO(&one);
  sched_getaffinity(0, sizeof mine, &mine);
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &mine)) ++cpu;
  CPU_SET(cpu, &one);

  printf("pager_bench: page faults through machd's external pager path (GNU Mach memory_object protocol)\n");
  printf("  rows 1 and 5 size %llu MiB; row 2 %llu faults; row 2b %llu faults; row 4 %llu MiB\n",
         (unsigned long long)(o.size / kMiB), (unsigned long long)o.faults, (unsigned long long)o.cluster_faults,
         (unsigned long long)(o.writeback / kMiB));
  const uint64_t t0 = now_ns();
  const PhaseResult pinned = run_phase_in_child(o, &one);
  char title[128];
  snprintf(title, sizeof title, "== pinned: bench, pager and machd all on CPU %d ==", cpu);
  print_phase(title, o, pinned);
  fflush(stdout);
  const PhaseResult free_run = run_phase_in_child(o, nullptr);
  snprintf(title, sizeof title, "== free: the scheduler places bench, pager and machd on %d CPUs ==", CPU_COUNT(&mine));
  print_phase(title, o, free_run);
  if (pinned.ok && free_run.ok) {
    printf("\n" ROW, "row", "free", "pinned", "", "ratio", "");
    printf(ROW, "3 random 4 KiB fault p99", fmt("%.1f us", free_run.single.pager.p99).c_str(),
           fmt("%.1f us", pinned.single.pager.p99).c_str(), "row 2 p99 of each placement",
           fmt("%.2fx", free_run.single.pager.p99 / pinned.single.pager.p99).c_str(), "");
  }
  printf("\n(%.1f s in all)\n", double(now_ns() - t0) / 1e9);
  return pinned.ok && free_run.ok ? 0 : 1;
}
