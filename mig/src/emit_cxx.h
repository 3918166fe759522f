// Internal to the -cxx emitter: the pieces shared by its client side
// (emit_cxx.cpp) and server side (emit_cxx_server.cpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model.h"
#include "printer.h"

namespace mig::cxx {

// How an argument looks in C++.
enum class Cat { Scalar, Struct, FixedArray, VarArray, String, Port, PortArray, Ool, OolPorts };
Cat category(const Type& t);

// The owner of a right the receiver holds (by the receiver's type name),
// and the owner a sender gives away (MOVE_* dispositions only); "" if none.
std::string received_right(int out_name);
std::string moved_right(int in_name);

// Element types of arrays, named after the array's C type:
//   using rt_ints_elem_t = mig::detail::elem_t<rt_ints_t, 4>;
struct Aliases {
  std::map<std::string, std::string> defs;  // alias -> definition
};
std::string elem_type(const Type& t, bool server, Aliases& al);
unsigned elem_count(const Type& t);

// Routine names that are C++ keywords (launchd's bootstrap has "register")
// get a trailing underscore as method names.
std::string cxx_name(const std::string& n);
// `base`, or `base_`, `base__`, ...: a local that no argument of `r` names.
std::string fresh_local(const Routine& r, std::string base);
std::string join(const std::vector<std::string>& v, const char* sep = ", ");

// The server class's virtual methods and the trampolines from the C server
// signatures to them.
class ServerSide {
 public:
  ServerSide(const Module& m, Aliases& al);
  ~ServerSide();
  void print_decls(Printer& p) const;        // inside class Server
  void print_trampolines(Printer& p) const;  // in namespace detail

 private:
  struct Method;
  std::vector<std::unique_ptr<Method>> methods_;
};

}  // namespace mig::cxx
