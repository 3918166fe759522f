// Pieces shared by the emitters: struct typedefs, prototypes, message
// header bits and mach_msg options, include lists.
#pragma once

#include <string>
#include <vector>

#include "emit.h"
#include "model.h"
#include "printer.h"

namespace mig {

// "MACH_MSGH_BITS(19, MACH_MSG_TYPE_MAKE_SEND_ONCE)" (+ complex bit).
std::string request_bits(const Routine& r, bool with_complex);
// "MACH_SEND_MSG|MACH_RCV_MSG|MACH_MSG_OPTION_NONE" as the user stub sends.
std::string user_msg_options(const Routine& r);
// The time-out expression ("" = none) and whether it applies to receive:
// the routine's WaitTime/SendTime argument, else the waittime/sendtime
// statement in force where it was declared.
std::string wait_time_expr(const Routine& r, bool* rcv);

// typedef struct { ... } <name> (packed to 4 bytes).
//   trailer: "" | "mach_msg_trailer_t" | "mach_msg_max_trailer_t"
void print_struct(Printer& p, const Message& msg, const std::string& name,
                  bool server, const std::string& trailer,
                  const std::string& attrs = " __attribute__((unused))");

// The request/reply typedefs, unions and the name map of a subsystem.
void print_message_types(Printer& p, const Module& m, bool server);
void print_name_map(Printer& p, const Module& m);

// For each routine: a blank line, "/* Routine x */", mig_external and the
// user's (or the server's) prototype "kern_return_t foo\n(\n\targ,\n\targ\n);".
void print_prototypes(Printer& p, const Module& m, bool server);

// Standard includes of generated files, then the matching imports.
void print_std_includes(Printer& p);
void print_imports(Printer& p, const Module& m,
                   const std::vector<std::string>& kinds);

// #ifndef X / #define X ... guards of MIG's configuration macros and of
// round_msg().
void print_mig_defaults(Printer& p);

// "#ifdef mig_external ... #endif", the storage class before a prototype.
void print_mig_external(Printer& p);
// The comment on mig_reply_error_t that opens the stubs and the demux.
void print_reply_error_comment(Printer& p);
// "extern const struct <serverprefix><subsystem>_subsystem {...} ...;"
void print_server_subsystem_decl(Printer& p, const Module& m);

// What a receiver checks after a message's header and size: descriptor
// kinds, sizes and dispositions, the counts and sizes of variable-length
// fields (locating the parts that moved: In<k>P / Out<k>P), and out-of-line
// sizes against their counts. `min` is the size with every variable field
// empty. reply: the user stub's reply check, else the server's request check.
void print_body_checks(Printer& p, const Message& msg, const std::string& min,
                       bool reply);

// How the server stubs are written: plain C for -server, or C++ inside the
// typed face (-cxx), where the routine is a virtual method of `self`.
struct ServerStyle {
  bool cxx = false;
  const char* ret_err() const {
    return cxx ? "MIG_CXX_RETURN_ERROR_" : "MIG_RETURN_ERROR";
  }
};

// Prints the request check and the _X stub of one routine.
void print_server_routine(Printer& p, const Module& m, const Routine& r,
                          const ServerStyle& st);

// Message ids, as C integers.
inline int request_id(const Module& m, const Routine& r) { return r.id(m.base); }
inline int reply_id(const Module& m, const Routine& r) { return r.id(m.base) + 100; }

std::string routine_kind(const Routine& r);  // "Routine" / "SimpleRoutine"
std::string generated_banner(const EmitContext& cx, const char* what);

}  // namespace mig

namespace mig {

// Bytes a variable field occupies on the wire for `count` elements,
// rounded up to 4: "(((2 * cnt) + 3) & ~3u)" or "(4 * cnt)".
std::string var_bytes_expr(const Type& t, const std::string& count);
// Bytes the largest form of a variable field takes (with padding).
inline unsigned var_max_bytes(const Field& f) { return (f.size + 3) & ~3u; }
// "4 * n" or "n".
std::string elems_to_bytes(unsigned elem, const std::string& count);

// The message's variable fields and the sum of their largest forms.
unsigned var_total_bytes(const Message& m);
// Is there any field with pos > p (i.e. after the p-th variable field)?
bool has_pos_after(const Message& m, int p);
// The largest pos: how many parts after the first may move.
int last_pos(const Message& m);

// The disposition names a receiver may see for a port type.
std::vector<std::string> accepted_dispositions(const Type& port);

}  // namespace mig
