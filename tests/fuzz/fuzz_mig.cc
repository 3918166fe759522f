// tests/fuzz/fuzz_mig.cc — the mig front end and emitters on arbitrary
// .defs text (as cpp would hand it over: "# line" markers included). The
// lexer, parser and semantic analysis must report errors, never crash; a
// module that passes analysis must go through every emitter (user and server
// stubs, headers, the C++ face, the layout dump).
//
// Input: the text. Diagnostics go to /dev/null.
#include <cstdio>
#include <string>

#include "diag.h"
#include "emit.h"
#include "lexer.h"
#include "parser.h"
#include "sema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  const std::string text(reinterpret_cast<const char*>(data), size);
  mig::Diagnostics diag(devnull);
  auto tokens = mig::lex(text, "fuzz.defs", diag);
  mig::ast::File file = mig::parse(tokens, diag);
  auto module = mig::analyze(file, diag);
  if (!module || diag.errors()) return 0;
  mig::EmitContext cx{*module, module->subsystem + ".h", module->subsystem + "Server.h", "fuzz.defs"};
  mig::dump_layout(*module);
  mig::emit_user_header(cx);
  mig::emit_user(cx);
  mig::emit_server(cx);
  mig::emit_server_header(cx);
  mig::emit_internal_header(cx);
  mig::emit_defines_header(cx);
  mig::emit_cxx(cx);
  return 0;
}
