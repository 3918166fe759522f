// The server header (-sheader), the internal header (-iheader) and the
// definitions header (-dheader).
#include "emit.h"
#include "emit_common.h"

namespace mig {

std::string emit_server_header(const EmitContext& cx) {
  const Module& m = cx.m;
  Printer p;
  p.raw(generated_banner(cx, "Server header"));
  p("#ifndef\t_{}_server_", m.subsystem);
  p("#define\t_{}_server_", m.subsystem);
  p.blank();
  p("/* Module {} */", m.subsystem);
  p.blank();
  print_std_includes(p);
  p("#include <mach/mig.h>");
  p.blank();
  print_imports(p, m, {"import", "simport"});
  p.blank();
  p("#ifdef __BeforeMigServerHeader");
  p("__BeforeMigServerHeader");
  p("#endif /* __BeforeMigServerHeader */");
  p.blank();
  p("#ifndef MIG_SERVER_ROUTINE");
  p("#define MIG_SERVER_ROUTINE");
  p("#endif");
  p.blank();
  p("#ifdef __cplusplus");
  p("extern \"C\" {{");
  p("#endif");
  print_prototypes(p, m, true);
  p.blank();
  print_mig_external(p);
  p("boolean_t {}(", m.demux());
  p("\t\tmach_msg_header_t *InHeadP,");
  p("\t\tmach_msg_header_t *OutHeadP);");
  p.blank();
  print_mig_external(p);
  p("mig_routine_t {}_routine(", m.demux());
  p("\t\tmach_msg_header_t *InHeadP);");
  p.blank();
  p("/* Description of this subsystem, for use in direct RPC */");
  print_server_subsystem_decl(p, m);
  p.blank();
  p("#ifdef __cplusplus");
  p("}}");
  p("#endif");
  p.blank();
  print_message_types(p, m, true);
  print_name_map(p, m);
  p("#ifdef __AfterMigServerHeader");
  p("__AfterMigServerHeader");
  p("#endif /* __AfterMigServerHeader */");
  p.blank();
  p("#endif\t /* _{}_server_ */", m.subsystem);
  return p.str();
}

std::string emit_internal_header(const EmitContext& cx) {
  const Module& m = cx.m;
  Printer p;
  p.raw(generated_banner(cx, "Internal header (server routine prototypes)"));
  p("#ifndef\t_{}_internal_", m.subsystem);
  p("#define\t_{}_internal_", m.subsystem);
  p.blank();
  print_std_includes(p);
  print_imports(p, m, {"import", "iimport"});
  p.blank();
  p("#ifdef __cplusplus");
  p("extern \"C\" {{");
  p("#endif");
  print_prototypes(p, m, true);
  p.blank();
  p("#ifdef __cplusplus");
  p("}}");
  p("#endif");
  p.blank();
  p("#endif\t /* _{}_internal_ */", m.subsystem);
  return p.str();
}

std::string emit_defines_header(const EmitContext& cx) {
  const Module& m = cx.m;
  Printer p;
  p.raw(generated_banner(cx, "Definitions header"));
  p("#ifndef\t_{}_defines_", m.subsystem);
  p("#define\t_{}_defines_", m.subsystem);
  p.blank();
  print_imports(p, m, {"dimport"});
  p.blank();
  p("#define\t{}_SUBSYSTEM_BASE\t{}", m.subsystem, m.base);
  p("#define\t{}_MSG_COUNT\t{}", m.subsystem, m.routine_count);
  for (const auto& r : m.routines) {
    p("#define\t{}_{}_ID\t{}", m.subsystem, r->name, request_id(m, *r));
  }
  p.blank();
  p("#endif\t /* _{}_defines_ */", m.subsystem);
  return p.str();
}

}  // namespace mig
