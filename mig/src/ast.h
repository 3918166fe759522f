// Abstract syntax tree of a .defs file, as written (before any checks).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source.h"

namespace mig::ast {

// MACH_MSG_TYPE_* names, polymorphic, or a bare number.
struct IpcName {
  int number = 0;            // numeric value (POLYMORPHIC = -1)
  std::string spelling;      // "MACH_MSG_TYPE_COPY_SEND", "polymorphic", "19"
  int out_number = 0;        // receiver's view (e.g. COPY_SEND -> PORT_SEND)
  unsigned bits = 0;         // default size in bits from the lexer table
  SourceLoc loc;
};

enum class Flag {
  Dealloc,        // dealloc
  DeallocMaybe,   // dealloc[]
  NotDealloc,     // notdealloc
  ServerCopy,     // servercopy
  CountInOut,     // countinout
  SameCount,      // samecount
  Const,          // const
  PhysicalCopy,   // physicalcopy
  RetCode,        // retcode
  Overwrite,      // overwrite
  Auto,           // auto
  IsLong,         // islong (old, ignored)
  IsNotLong,      // isnotlong (old, ignored)
};

struct FlagUse {
  Flag flag;
  SourceLoc loc;
};

struct TypeSpec;
using TypeSpecPtr = std::unique_ptr<TypeSpec>;

struct TypeSpec {
  enum class Kind {
    Named,      // a previously declared type
    Basic,      // MACH_MSG_TYPE_X [| MACH_MSG_TYPE_Y]  or  (X, size, flags)
    Array,      // array[N] of T
    VarArray,   // array[], array[*], array[*:N] of T
    Struct,     // struct[N] of T
    Pointer,    // ^T
    CString,    // c_string[N], c_string[*:N]
  };
  Kind kind = Kind::Named;
  SourceLoc loc;

  std::string name;               // Named
  IpcName in_name, out_name;      // Basic
  bool has_size = false;          // Basic: (X, size) form
  unsigned size_bits = 0;
  std::vector<FlagUse> flags;     // Basic: (X, size, flags)

  uint64_t count = 0;             // Array/Struct/CString N, VarArray max
  bool bounded = false;           // VarArray: array[*:N]; CString: [*:N]
  TypeSpecPtr element;            // Array/VarArray/Struct/Pointer
};

// "intran: TransType func(ServerType)" and friends.
struct TransFunc {
  std::string result_type;  // intran: the type the server sees
  std::string func;
  std::string arg_type;
  SourceLoc loc;
};

struct TypeAttrs {
  std::optional<std::string> ctype, cusertype, cservertype;
  std::optional<TransFunc> intran, outtran, destructor;
};

struct TypeDecl {
  std::string name;
  SourceLoc loc;
  TypeSpecPtr spec;  // null: the declaration had a syntax error
  TypeAttrs attrs;
};

enum class ArgDir {
  None, In, Out, InOut, RequestPort, ReplyPort, SReplyPort, UReplyPort,
  WaitTime, SendTime, MsgOption, MsgSeqno, SecToken, ServerSecToken,
  UserSecToken, AuditToken, ServerAuditToken, UserAuditToken,
  ServerContextToken,
};

struct ArgDecl {
  ArgDir dir = ArgDir::None;
  std::string name;
  SourceLoc loc;
  // Exactly one of: a type name, a named declaration ("t = spec"), or an
  // anonymous spec ("array[] of int").
  std::string type_name;
  SourceLoc type_loc;
  std::unique_ptr<TypeDecl> named_decl;
  TypeSpecPtr anon_spec;
  TypeAttrs anon_attrs;
  std::vector<FlagUse> flags;
};

struct RoutineDecl {
  bool simple = false;
  std::string name;
  SourceLoc loc;
  std::vector<ArgDecl> args;
  bool broken = false;  // an argument had a syntax error (already reported)
};

struct Statement {
  enum class Kind {
    Subsystem, Routine, Skip, Type, Import, UserPrefix, ServerPrefix,
    ServerDemux, RcsId, WaitTime, NoWaitTime, SendTime, NoSendTime, MsgOption,
    UseSpecialReplyPort, ConsumeOnSendError, UserTypeLimit, OnStackLimit,
  };
  Kind kind;
  SourceLoc loc;

  std::string name;        // subsystem name / prefix / demux / waittime value
  uint64_t number = 0;     // subsystem base / UseSpecialReplyPort value
  bool kernel_user = false, kernel_server = false;  // subsystem modifiers
  // Import: "import" "uimport" "simport" "dimport" "iimport"
  std::string import_kind;
  std::string file;        // with <> or "" as written
  std::string text;        // rcsid string, msgoption value

  RoutineDecl routine;
  TypeDecl type;
};

struct File {
  std::vector<Statement> statements;
};

}  // namespace mig::ast
