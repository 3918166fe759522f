// Runtime support of the typed C++ face that `mig -cxx` generates.
//
//   mig::Result<T>        a value or a kern_return_t
//   mig::SendRight        owners of port rights: the destructor gives the
//   mig::SendOnceRight      right back (mach_port_deallocate, or
//   mig::ReceiveRight       mach_port_mod_refs(-1) for a receive right)
//   mig::AnyRight         a right whose kind is known at run time
//   mig::OolBuffer<T>     out-of-line memory: the destructor vm_deallocates
//   mig::OolPorts<R>      an out-of-line array of rights (each one and the
//                         memory are released by the destructor)
//
// Every owner is move-only; release() hands the raw value over (to a
// message) and disowns it. Header-only. It includes none of the headers
// of MIG interfaces (<mach/mach.h>, <mach/vm_map.h>, <mach/mach_port.h>):
// stubs regenerated from the system .defs use their include guards (and,
// from Apple's vm_map.defs without LIBSYSCALL_INTERFACE, other names), so
// it declares the two calls it needs itself.
//
// Ownership at a glance (server side):
//
//   request --(kernel)--> owners passed by value to the handler
//                           |                     |
//                    handler keeps them     handler returns: owners die,
//                    (std::move)            rights and memory go back
//
// so a handler that returns an error early cannot leak what it received.
#pragma once

#include <mach/mach_init.h>  // mach_task_self
#include <mach/mig.h>        // mig_allocate, mig_deallocate
#include <mach/port.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

extern "C" {
kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name);
kern_return_t mach_port_mod_refs(ipc_space_t task, mach_port_name_t name,
                                 mach_port_right_t right, mach_port_delta_t delta);
}

namespace mig {

// ---------------------------------------------------------------- Result --

// A value or an error code. An error is never KERN_SUCCESS.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  static Result error(kern_return_t kr) { return Result(kr, 0); }

  bool ok() const noexcept { return kr_ == KERN_SUCCESS; }
  explicit operator bool() const noexcept { return ok(); }
  kern_return_t code() const noexcept { return kr_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Result(kern_return_t kr, int) : kr_(kr == KERN_SUCCESS ? KERN_FAILURE : kr) {}
  std::optional<T> value_;
  kern_return_t kr_ = KERN_SUCCESS;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  static Result error(kern_return_t kr) {
    Result r;
    r.kr_ = kr == KERN_SUCCESS ? KERN_FAILURE : kr;
    return r;
  }
  static Result from(kern_return_t kr) {
    Result r;
    r.kr_ = kr;
    return r;
  }
  bool ok() const noexcept { return kr_ == KERN_SUCCESS; }
  explicit operator bool() const noexcept { return ok(); }
  kern_return_t code() const noexcept { return kr_; }

 private:
  kern_return_t kr_ = KERN_SUCCESS;
};

// ---------------------------------------------------------- port rights --

enum class RightKind { Send, SendOnce, Receive };

template <RightKind K>
class Right {
 public:
  Right() noexcept = default;
  explicit Right(mach_port_t name) noexcept : name_(name) {}
  ~Right() { reset(); }
  Right(Right&& o) noexcept : name_(o.release()) {}
  Right& operator=(Right&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Right(const Right&) = delete;
  Right& operator=(const Right&) = delete;

  mach_port_t get() const noexcept { return name_; }
  explicit operator bool() const noexcept { return MACH_PORT_VALID(name_); }
  // Gives the name away (to a message, or to code that manages it).
  [[nodiscard]] mach_port_t release() noexcept {
    return std::exchange(name_, MACH_PORT_NULL);
  }
  void reset(mach_port_t name = MACH_PORT_NULL) noexcept {
    mach_port_t old = std::exchange(name_, name);
    if (!MACH_PORT_VALID(old)) return;
    if constexpr (K == RightKind::Receive)
      (void)mach_port_mod_refs(mach_task_self(), old, MACH_PORT_RIGHT_RECEIVE, -1);
    else
      (void)mach_port_deallocate(mach_task_self(), old);
  }

 private:
  mach_port_t name_ = MACH_PORT_NULL;
};

using SendRight = Right<RightKind::Send>;
using SendOnceRight = Right<RightKind::SendOnce>;
using ReceiveRight = Right<RightKind::Receive>;

// A right whose kind arrives with it (polymorphic arguments):
// type is MACH_MSG_TYPE_PORT_SEND, _SEND_ONCE or _RECEIVE.
class AnyRight {
 public:
  AnyRight() noexcept = default;
  AnyRight(mach_port_t name, mach_msg_type_name_t type) noexcept
      : name_(name), type_(type) {}
  ~AnyRight() { reset(); }
  AnyRight(AnyRight&& o) noexcept : name_(o.name_), type_(o.type_) {
    o.name_ = MACH_PORT_NULL;
  }
  AnyRight& operator=(AnyRight&& o) noexcept {
    if (this != &o) {
      reset();
      name_ = std::exchange(o.name_, MACH_PORT_NULL);
      type_ = o.type_;
    }
    return *this;
  }
  AnyRight(const AnyRight&) = delete;
  AnyRight& operator=(const AnyRight&) = delete;

  mach_port_t get() const noexcept { return name_; }
  mach_msg_type_name_t type() const noexcept { return type_; }
  explicit operator bool() const noexcept { return MACH_PORT_VALID(name_); }
  [[nodiscard]] mach_port_t release() noexcept {
    return std::exchange(name_, MACH_PORT_NULL);
  }
  void reset() noexcept {
    mach_port_t old = std::exchange(name_, MACH_PORT_NULL);
    if (!MACH_PORT_VALID(old)) return;
    if (type_ == MACH_MSG_TYPE_PORT_RECEIVE)
      (void)mach_port_mod_refs(mach_task_self(), old, MACH_PORT_RIGHT_RECEIVE, -1);
    else
      (void)mach_port_deallocate(mach_task_self(), old);
  }

 private:
  mach_port_t name_ = MACH_PORT_NULL;
  mach_msg_type_name_t type_ = 0;
};

// ------------------------------------------------------ out-of-line data --

// Out-of-line memory of `count` elements of T, owned: freed with
// vm_deallocate. Memory that came in a message, or from allocate().
template <typename T>
class OolBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "out-of-line data is raw memory");

 public:
  OolBuffer() noexcept = default;
  // Adopts memory this task owns (received, or from vm_allocate).
  OolBuffer(T* data, std::size_t count) noexcept : data_(data), count_(count) {}
  ~OolBuffer() { reset(); }
  OolBuffer(OolBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  OolBuffer& operator=(OolBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      data_ = std::exchange(o.data_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  OolBuffer(const OolBuffer&) = delete;
  OolBuffer& operator=(const OolBuffer&) = delete;

  // Fresh zeroed memory for `count` elements (empty on failure).
  static OolBuffer allocate(std::size_t count) {
    if (count == 0) return {};
    vm_address_t addr = 0;
    mig_allocate(&addr, count * sizeof(T));  // zeroed, or 0 on failure
    if (addr == 0) return {};
    return OolBuffer(reinterpret_cast<T*>(addr), count);
  }
  // A copy of `src` in fresh memory.
  static OolBuffer copy_of(std::span<const T> src) {
    OolBuffer b = allocate(src.size());
    if (b.data_ && !src.empty()) std::memcpy(b.data_, src.data(), src.size_bytes());
    return b;
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return count_; }
  std::size_t size_bytes() const noexcept { return count_ * sizeof(T); }
  bool empty() const noexcept { return count_ == 0; }
  std::span<T> span() noexcept { return {data_, count_}; }
  std::span<const T> span() const noexcept { return {data_, count_}; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + count_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + count_; }

  // Gives the memory away (to a message); returns its address.
  [[nodiscard]] T* release() noexcept {
    count_ = 0;
    return std::exchange(data_, nullptr);
  }
  void reset() noexcept {
    T* d = std::exchange(data_, nullptr);
    std::size_t n = std::exchange(count_, 0);
    if (d && n)
      mig_deallocate(reinterpret_cast<vm_address_t>(d), n * sizeof(T));
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

// An out-of-line array of port rights of one kind, owned: every right and
// the memory holding the names are released by the destructor.
template <typename R>
class OolPorts {
 public:
  OolPorts() noexcept = default;
  OolPorts(mach_port_t* names, std::size_t count) noexcept : names_(names, count) {}
  ~OolPorts() { reset(); }
  OolPorts(OolPorts&&) noexcept = default;
  OolPorts& operator=(OolPorts&& o) noexcept {
    if (this != &o) {
      reset();
      names_ = std::move(o.names_);
    }
    return *this;
  }

  std::size_t size() const noexcept { return names_.size(); }
  mach_port_t operator[](std::size_t i) const noexcept { return names_[i]; }
  std::span<const mach_port_t> names() const noexcept { return names_.span(); }
  // Takes right i out of the array (the slot becomes MACH_PORT_NULL).
  R take(std::size_t i) noexcept {
    return R(std::exchange(names_[i], MACH_PORT_NULL));
  }
  void reset() noexcept {
    for (mach_port_t& n : names_) R(std::exchange(n, MACH_PORT_NULL));
    names_.reset();
  }

 private:
  OolBuffer<mach_port_t> names_;
};

namespace detail {

// An unsigned integer of `Size` bytes, or raw bytes of that size.
template <std::size_t Size>
struct Bytes {
  unsigned char b[Size];
};
template <std::size_t Size>
using uint_of = std::conditional_t<
    Size == 1, std::uint8_t,
    std::conditional_t<Size == 2, std::uint16_t,
                       std::conditional_t<Size == 4, std::uint32_t,
                                          std::conditional_t<Size == 8, std::uint64_t,
                                                             Bytes<Size>>>>>;

// The element type of an array the C stubs pass as `U` (a pointer or an
// array typedef), or an integer of `Size` bytes when `U` is an address
// (pointer_t and friends are vm_offset_t) or a void pointer.
template <typename U, std::size_t Size, typename P = std::remove_pointer_t<std::decay_t<U>>>
using elem_t = std::conditional_t<
    std::is_pointer_v<std::decay_t<U>> && !std::is_void_v<P>, P, uint_of<Size>>;

// A C array typedef as a copyable value (std::array), other types as is.
template <typename T>
using value_t = std::conditional_t<std::is_array_v<T>,
                                   std::array<std::remove_extent_t<T>, std::extent_v<T>>, T>;

// True when the request may have left with the rights it carried (the
// MACH_SEND_* errors give the message back; MIG_ARRAY_TOO_LARGE means it
// was never sent).
inline bool request_was_sent(kern_return_t kr) noexcept {
  if (kr == MIG_ARRAY_TOO_LARGE) return false;
  return (static_cast<uint32_t>(kr) & 0xfffff000u) != 0x10000000u;
}

// Copies a C string into a fixed buffer of n bytes, always terminated.
inline void copy_string(char* dst, std::size_t n, std::string_view s) noexcept {
  if (n == 0) return;
  std::size_t len = s.size() < n - 1 ? s.size() : n - 1;
  std::memcpy(dst, s.data(), len);
  std::memset(dst + len, 0, n - len);
}

}  // namespace detail
}  // namespace mig
