// Recursive-descent parser: tokens -> ast::File.
//
// Errors are reported as "expected X, found 'tok'"; the parser then skips
// to the next ';' (or, inside an argument list, to the next ';' or ')') and
// goes on, so one run reports several errors.
#pragma once

#include <vector>

#include "ast.h"
#include "diag.h"
#include "lexer.h"

namespace mig {

ast::File parse(const std::vector<Token>& tokens, Diagnostics& diag);

// The MACH_MSG_TYPE_* table used by the parser (exposed for tests/tools).
struct MsgTypeInfo {
  const char* name;
  int in;        // value when sending (MACH_MSG_TYPE_POLYMORPHIC = -1)
  int out;       // value seen by the receiver
  unsigned bits; // default size
};
const MsgTypeInfo* find_msg_type(const std::string& name);

constexpr int kPolymorphic = -1;

}  // namespace mig
