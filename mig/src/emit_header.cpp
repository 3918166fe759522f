// The user header (-header): prototypes of the user stubs, the message
// structs (__Request__*/__Reply__*), their unions and the name map.
#include "emit.h"
#include "emit_common.h"

namespace mig {

std::string emit_user_header(const EmitContext& cx) {
  const Module& m = cx.m;
  Printer p;
  p.raw(generated_banner(cx, "User header"));
  p("#ifndef\t_{}_user_", m.subsystem);
  p("#define\t_{}_user_", m.subsystem);
  p.blank();
  p("/* Module {} */", m.subsystem);
  p.blank();
  print_std_includes(p);
  p.blank();
  p("#ifndef\t{}_MSG_COUNT", m.subsystem);
  p("#define\t{}_MSG_COUNT\t{}", m.subsystem, m.routine_count);
  p("#endif\t/* {}_MSG_COUNT */", m.subsystem);
  p.blank();
  print_imports(p, m, {"import", "uimport"});
  p.blank();
  p("#ifdef __BeforeMigUserHeader");
  p("__BeforeMigUserHeader");
  p("#endif /* __BeforeMigUserHeader */");
  p.blank();
  p("#ifdef __cplusplus");
  p("extern \"C\" {{");
  p("#endif");
  print_prototypes(p, m, false);
  p.blank();
  p("#ifdef __cplusplus");
  p("}}");
  p("#endif");
  p.blank();
  print_message_types(p, m, false);
  print_name_map(p, m);
  p("#ifdef __AfterMigUserHeader");
  p("__AfterMigUserHeader");
  p("#endif /* __AfterMigUserHeader */");
  p.blank();
  p("#endif\t /* _{}_user_ */", m.subsystem);
  return p.str();
}

}  // namespace mig
