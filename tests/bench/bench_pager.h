// tests/bench/bench_pager.h — the pager of pager_bench: an external memory
// manager in its own process that holds its data in memory and answers
// each memory_object_data_request with memory_object_data_supply, and the
// small protocol the bench drives it with.
//
//   bench process                         pager process (run_pager)
//   PagerClient::connect(name) ---------> service port, checked in as `name`
//   new_object()          <-------------- a fresh memory object port (send right)
//   mach_vm_map(object), touch --machd--> data_request / data_supply
//   flush_pages(), write_back() --------> memory_object_lock_request ...
//                         <-------------- ... answered once lock_completed came
//   fill()                ----machd-----> data_supply unasked ... answered at supply_completed
//   stats(), quit()
//
// The pager's store is `store_size` bytes of pattern_byte(); object offset
// `off` holds store byte `off % store_size` (every object reads the same
// store; a request never straddles the wrap since the store is a multiple of
// 2 MiB and machd's clusters are aligned to at most 2 MiB). data_return
// copies what it receives back into the store.
#pragma once

#include <mach/mach.h>

#include <cstdint>
#include <string>

namespace pagerbench {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kStoreAlign = 2 << 20;

// The byte the pager's store holds at store offset `off` (before any
// write-back changed it).
inline uint8_t pattern_byte(uint64_t off) {
  const uint64_t w = (off / 8 + 1) * 0x9E3779B97F4A7C15ull;
  return uint8_t(w >> (8 * (off % 8)));
}
// Fills dst with pattern_byte(off), pattern_byte(off + 1), ... (off and len
// multiples of 8).
void fill_pattern(uint8_t* dst, uint64_t off, uint64_t len);

// Counters of one object, as the pager saw them.
struct ObjectStats {
  uint64_t requests = 0;         // memory_object_data_request received
  uint64_t bytes_requested = 0;
  uint64_t returns = 0;          // memory_object_data_return received
  uint64_t bytes_returned = 0;
  uint64_t lock_ns = 0;          // last write_back/flush: lock_request sent -> lock_completed received
  int32_t kr = KERN_SUCCESS;     // first error the pager met on this object
  uint32_t pad = 0;
};

// Runs in a process of its own, which must not have talked to machd yet
// (it connects here): checks in `service_name` with bootstrap, fills its
// store and serves until quit() or the parent's death. Returns an exit code.
int run_pager(const std::string& service_name, uint64_t store_size);

// The bench's end. Every call waits for the pager's answer (up to
// `timeout_ms`); false if it did not come or the pager failed the call.
class PagerClient {
 public:
  // Looks `service_name` up (retrying up to 10 s while the pager starts).
  bool connect(const std::string& service_name);
  // A new memory object: *object is a send right to its port, *index the
  // pager's number for it.
  bool new_object(mach_port_t* object, uint32_t* index);
  bool stats(uint32_t index, ObjectStats* out);
  // lock_request(flush, return nothing) on pages first, first + step, ...
  // (count pages), each on its own; answered when machd completed the last.
  bool flush_pages(uint32_t index, uint64_t first_page, uint64_t count, uint64_t step);
  // lock_request(0, size, MEMORY_OBJECT_RETURN_DIRTY, no flush, no lock);
  // answered (with the stats: bytes returned, lock_ns) after lock_completed.
  bool write_back(uint32_t index, uint64_t size, ObjectStats* out);
  // The pager supplies [0, size) of the object unasked (data_supply in
  // 2 MiB pieces, the last asking for supply_completed); answered (with
  // the stats: lock_ns, the time until machd completed the last) once
  // supply_completed came.
  bool fill(uint32_t index, uint64_t size, ObjectStats* out);
  // The pager exits.
  bool quit();

 private:
  bool call(mach_msg_id_t id, uint32_t index, uint64_t a, uint64_t b, uint64_t c, void* reply, size_t reply_size,
            mach_msg_timeout_t timeout_ms);
  mach_port_t service_ = MACH_PORT_NULL;
  mach_port_t reply_ = MACH_PORT_NULL;
};

}  // namespace pagerbench
