// Internal to sema: routines and their arguments. From an ast::RoutineDecl
// to a checked Routine: each argument's type (through the TypeTable), kind,
// flags and role (which side sees it, which message carries it), its
// implicit companions (Cnt, Offset, Poly, Dealloc, ServerCopy), the RetCode
// flag, the trailer either side asks for, and the message layouts. Reports
// errors through Diagnostics and then gives no routine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ast.h"
#include "diag.h"
#include "model.h"
#include "sema_types.h"

namespace mig {

// What the statements before a routine set for it (waittime, sendtime,
// msgoption: "" = none; its own arguments take precedence), and whether it
// uses a special reply port and consumes its request on a send error.
struct RoutineDefaults {
  std::string wait_time, send_time;
  std::string msg_option = "MACH_MSG_OPTION_NONE";
  bool use_special_reply_port = false;
  std::string consume_on_send_error = "None";  // None, Timeout, Any
};

class RoutineBuilder {
 public:
  RoutineBuilder(Diagnostics& d, TypeTable& types);

  // The routine numbered `number` in its subsystem, or nullptr after
  // reporting its errors.
  std::unique_ptr<Routine> build(const ast::RoutineDecl& rd, unsigned number,
                                 const RoutineDefaults& defaults);

 private:
  void apply_flag(Arg& a, const ast::FlagUse& f);
  void roles(Routine& r, Arg& a);
  void implicit_args(Routine& r, Arg& a, std::vector<Arg*>& with_count);
  void retcode(Routine& r);

  Diagnostics& diag_;
  TypeTable& types_;
  TypeRef count_type_, poly_type_, bool_type_;
};

}  // namespace mig
