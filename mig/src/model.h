// The checked model of an interface: resolved types, routines with their
// implicit arguments, and the exact message layouts (the contract shared by
// every emitter).
//
//   ast::File --sema--> Module { types, routines[ args, request, reply ] }
//
// Layout rules (Apple MIG, x86_64, structs packed to 4):
//   Head (24) [msgh_body (4) + descriptors (port 12, ool 16, ool ports 16)]
//   [NDR (8)] [RetCode (4), simple replies only] inline data in argument
//   order, each field padded to 4. A variable-length inline field (array
//   [*:N], c_string[*:N]) is preceded by its count and is compacted on the
//   wire: later fields move up; the struct shows the largest form.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ast.h"
#include "source.h"

namespace mig {

// ---------------------------------------------------------------- types --

struct Type;
using TypeRef = std::shared_ptr<const Type>;

enum class KpdKind { None, Port, Ool, OolPorts };

struct Type {
  enum class Kind {
    Scalar,      // integers, chars, booleans, reals, port *names*
    Port,        // a port right (in or out disposition is a right)
    Struct,      // struct[N] of T: one inline value
    Array,       // array[N] / array[*:N] inline, or out-of-line (^, [])
    String,      // c_string[N] / c_string[*:N]
  };
  Kind kind = Kind::Scalar;
  std::string name;     // declared name ("" = anonymous)
  SourceLoc loc;

  // Scalar/Port: message type names (numbers, kPolymorphic = -1).
  int in_name = 0;
  int out_name = 0;
  unsigned bits = 0;    // Scalar/Port size in bits

  // Struct/Array: element; String: none (char).
  TypeRef elem;
  unsigned count = 0;   // Struct N; Array: fixed N or max N (0 = unbounded)
  bool variable = false;  // Array/String: count travels with the data
  bool ool = false;       // Array: out of line (^ or unbounded [])

  // Type-level dealloc flag from (X, size, dealloc) / ^ declarations.
  enum class Dealloc { Default, Yes, No, Maybe } dealloc = Dealloc::Default;

  // C names. user/server: what the stubs' callers see.
  std::string ctype;        // ctype: (both sides)
  std::string cusertype;    // cusertype:
  std::string cservertype;  // cservertype:
  // intran: trans_type func(server_type); outtran: server_type func(trans)
  std::string intran, intran_type, intran_arg;
  std::string outtran, outtran_type, outtran_arg;
  std::string destructor;

  // ---- derived ---------------------------------------------------------
  bool is_port() const { return kind == Kind::Port; }
  // The element type of arrays, or the type itself.
  const Type& base() const { return (kind == Kind::Array && elem) ? *elem : *this; }
  bool has_port_elements() const;   // Port, or Struct/Array of ports
  unsigned elem_bytes() const;      // bytes of one array element
  unsigned value_bytes() const;     // bytes of the whole inline value
  KpdKind kpd() const;              // how it travels, if as a descriptor
  unsigned kpd_count() const;       // descriptors used (multiple ports: N)
  bool is_polymorphic() const {
    const Type& b = port_base();
    return b.kind == Kind::Port && (b.in_name == -1 || b.out_name == -1);
  }
  const Type& port_base() const;    // innermost element for port arrays
  // Arrays and strings in line (and anonymous structs, seen as arrays)
  // decay to pointers in C: never passed by an extra reference.
  bool decays() const {
    return (kind == Kind::Array && !ool) || kind == Kind::String ||
           (kind == Kind::Struct && name.empty() && ctype.empty() && cusertype.empty());
  }

  std::string user_type() const;    // C type for the user side
  // C type in the server's message view: cservertype:, else ctype:, else
  // what intran: takes or outtran: gives (as Apple's MIG), else the name.
  std::string server_type() const;
  std::string trans_type() const;   // C type the server routine receives
  std::string elem_c_type() const;  // C type of one element (arrays)
};

// ------------------------------------------------------------ arguments --

enum class ArgKind {
  RequestPort, ReplyPort, In, Out, InOut,
  WaitTime, SendTime, MsgOption,
  MsgSeqno, ServerSecToken, ServerAuditToken, ServerContextToken,
  UserSecToken, UserAuditToken,
  Count,       // implicit <name>Cnt
  Poly,        // implicit <name>Poly
  Dealloc,     // implicit <name>Dealloc
  ServerCopy,  // implicit <name>ServerCopy
  Offset,      // implicit <name>Offset (variable c_string)
};

struct Routine;

struct Arg {
  std::string name;             // in the outputs (see cxx_keywords.h)
  std::string defs_name;        // as written; implicit names derive from it
  ArgKind kind = ArgKind::In;
  ast::ArgDir dir = ast::ArgDir::None;  // as declared
  TypeRef type;
  SourceLoc loc;

  // Who sees it and how.
  bool user = false;            // parameter of the user stub
  bool server = false;          // parameter of the server routine
  bool user_ref = false;        // passed by pointer to the user stub
  bool server_ref = false;      // passed by pointer to the server routine
  bool in_request = false;      // travels in the request message
  bool in_reply = false;        // travels in the reply message

  // Flags.
  Type::Dealloc dealloc = Type::Dealloc::Default;
  bool physical_copy = false, server_copy_flag = false, count_in_out = false;
  bool same_count = false, is_const = false;
  SourceLoc retcode_flag;       // where 'RetCode' was written, if it was

  // Relations.
  Arg* parent = nullptr;        // for implicit args
  Arg* count = nullptr;         // <name>Cnt (shared with samecount)
  Arg* poly = nullptr;          // <name>Poly
  Arg* dealloc_arg = nullptr;   // <name>Dealloc
  Arg* server_copy = nullptr;   // <name>ServerCopy
  Arg* offset = nullptr;        // <name>Offset
  bool owns_count = false;      // false for samecount arrays

  bool is_in() const { return kind == ArgKind::In || kind == ArgKind::InOut; }
  // 32-bit words Apple's MIG counts for it in the subsystem table's
  // argc: one, but a 64-bit scalar or an in-line struct passed by value
  // counts its words (rtCountArgDescriptors).
  unsigned rpc_words() const;
  bool is_out() const { return kind == ArgKind::Out || kind == ArgKind::InOut; }
  std::string user_decl() const;    // "mach_port_t *name"
  std::string server_decl() const;  // "mach_port_t *name"
};

// --------------------------------------------------------------- layout --

struct Field {
  enum class Role {
    Head, Body, Kpd, Ndr, RetCode, Data, Count, Pad, Offset,
  };
  Role role = Role::Data;
  std::string name;       // member name in the struct
  std::string ctype;      // C type of the member (user side)
  std::string sctype;     // C type of the member (server side)
  unsigned dim = 0;       // array dimension in the declaration (0 = none)
  unsigned offset = 0;    // byte offset in the largest form
  unsigned size = 0;      // bytes (largest form)
  Arg* arg = nullptr;     // the argument it carries
  KpdKind kpd = KpdKind::None;
  unsigned kpd_count = 1; // descriptors (multiple port KPD)
  bool variable = false;  // size depends on a count
  int pos = 0;            // number of variable fields before it

  std::string decl(bool server = false) const;  // "mach_msg_header_t Head;"
};

struct Message {
  std::vector<Field> fields;
  bool complex = false;
  unsigned descriptors = 0;   // msgh_descriptor_count
  unsigned size = 0;          // sizeof the struct (largest form)
  int num_var = 0;            // variable-length fields
  bool has_ndr = false;

  const Field* find(const Arg* a, Field::Role role) const;
  bool empty_body() const;    // no argument data at all
};

// --------------------------------------------------------------- routine --

struct Routine {
  std::string name;
  SourceLoc loc;
  bool simple = false;        // simpleroutine (one-way)
  unsigned number = 0;        // index within the subsystem (skips count)
  std::vector<std::unique_ptr<Arg>> args;  // declaration order + implicit

  Arg* request_port = nullptr;
  Arg* reply_port = nullptr;  // explicit ReplyPort/UReplyPort/SReplyPort
  Arg* wait_time = nullptr;   // WaitTime argument
  Arg* send_time = nullptr;   // SendTime argument
  Arg* msg_option = nullptr;  // MsgOption argument
  // simpleroutine with a complex request and an argument flagged RetCode:
  // the argument is not in the request; when non-zero the user stub sends
  // a mig_reply_error_t carrying it instead (Apple's rtRetCArg).
  Arg* retcode_arg = nullptr;
  // The waittime / sendtime / msgoption statements in force where the
  // routine is declared ("" = none); its own arguments take precedence.
  std::string default_wait_time, default_send_time;
  std::string default_msg_option = "MACH_MSG_OPTION_NONE";
  // The UseSpecialReplyPort statement in force where the routine is
  // declared, for a routine whose reply port the stub chooses (not a
  // simpleroutine, no ReplyPort/UReplyPort argument): Apple's
  // rtUseSpecialReplyPort.
  bool use_special_reply_port = false;
  // The ConsumeOnSendError statement in force: None, Timeout or Any.
  std::string consume_on_send_error = "None";

  Message request, reply;
  bool reply_has_retcode = false;  // RetCode field in the reply struct

  // Trailer use.
  bool server_trailer = false;     // MsgSeqno, [Server]*Token
  bool user_trailer = false;       // User*Token, SecToken, AuditToken
  std::string server_trailer_elements;  // MACH_RCV_TRAILER_xxx
  std::string user_trailer_elements;
  unsigned server_trailer_min = 0;      // bytes needed in the trailer
  unsigned user_trailer_min = 0;

  int id(unsigned base) const { return static_cast<int>(base + number); }
  // Its send can time out: a WaitTime or SendTime argument, or a waittime
  // or sendtime statement in force (Apple's rtWaitTime).
  bool has_send_timeout() const {
    return wait_time || send_time || !default_wait_time.empty() ||
           !default_send_time.empty();
  }
  std::vector<Arg*> user_args() const;
  std::vector<Arg*> server_args() const;
};

// --------------------------------------------------------------- module --

struct Import {
  std::string kind;  // import uimport simport dimport iimport
  std::string file;  // <x.h> or "x.h"
};

struct Module {
  std::string subsystem;
  SourceLoc subsystem_loc;
  unsigned base = 0;
  std::string user_prefix, server_prefix, server_demux;
  std::string rcsid;
  // The subsystem statement's modifiers. The stubs are the same; they
  // only forbid the special reply port (as in Apple's MIG).
  bool kernel_user = false, kernel_server = false;
  // A UseSpecialReplyPort statement turned it on (Apple's
  // HasUseSpecialReplyPort): the user file defines the macros of special
  // reply ports. Whether a routine uses one is its own (Routine).
  bool has_use_special_reply_port = false;
  // A ConsumeOnSendError statement named Timeout or Any (Apple's
  // HasConsumeOnSendError): the user file includes <mach/mach.h>.
  bool has_consume_on_send_error = false;
  std::vector<Import> imports;

  std::vector<std::unique_ptr<Routine>> routines;
  unsigned routine_count = 0;     // routines + skips

  std::string server_subsys() const {   // <serverprefix><subsystem>_subsystem
    return server_prefix + subsystem + "_subsystem";
  }
  std::string user_subsys() const {
    return user_prefix + subsystem + "_subsystem";
  }
  std::string demux() const {
    return server_demux.empty() ? subsystem + "_server" : server_demux;
  }
};

}  // namespace mig
