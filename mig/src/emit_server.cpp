// The server stubs (-server): for each routine a request check and an _X
// stub that unpacks the request, calls <serverprefix><routine> and packs
// the reply; then the subsystem table and the demux functions
// <subsystem>_server and <subsystem>_server_routine.
//
// Ownership: when the server routine returns KERN_SUCCESS it owns the
// rights and out-of-line memory of the request. When it returns an error
// the stub leaves the request untouched and the receive loop destroys it
// (mach_msg_server() does, as on macOS); the C++ face (-cxx) hands every
// right and region to an owner instead, so nothing leaks either way.
#include <fmt/format.h>

#include "emit.h"
#include "emit_common.h"
#include "parser.h"

namespace mig {
namespace {

using Role = Field::Role;

std::string in_ptr(int pos) { return fmt::format("In{}P", pos); }

class ServerRoutine {
 public:
  ServerRoutine(const Module& m, const Routine& r, Printer& p, const ServerStyle& st)
      : m_(m), r_(r), p_(p), st_(st) {}

  void check_request();
  void stub();

 private:
  void check_body();
  void locals_and_extract();
  void trailer_check();
  void prepare_args();
  void call_routine(const std::string& rc);
  void error_form(const std::string& rc);
  std::string call_arg(const Arg* a);
  void pack_reply();
  bool reply_direct(const Arg* a) const {
    // Out data written straight into the reply message: fields before the
    // first variable-length one (their place does not move).
    const Field* f = r_.reply.find(a, Role::Data);
    if (!f) f = r_.reply.find(a, Role::Count);
    if (!f) return false;
    const Type& t = *(a->parent ? a->parent->type : a->type);
    if (a->kind == ArgKind::Count) return f->pos == 0;
    return f->pos == 0 && (t.kind == Type::Kind::Array || t.kind == Type::Kind::String);
  }
  std::string field_ref(const Message& msg, const Arg* a, Role role, bool request) const {
    const Field* f = msg.find(a, role);
    if (!f) return "/* missing */ 0";
    return fmt::format("{}->{}", request ? in_ptr(f->pos) : out_ptr(f->pos), f->name);
  }
  // The reply is reached through OutP (fixed part) and Out<k>P, the place
  // fields after the k-th variable-length field moved to.
  static std::string out_ptr(int pos) {
    return pos == 0 ? std::string("OutP") : fmt::format("Out{}P", pos);
  }

  const Module& m_;
  const Routine& r_;
  Printer& p_;
  const ServerStyle& st_;
  bool error_form_ = false;  // writing error_form()
};

// ------------------------------------------------------ request check ---

void ServerRoutine::check_request() {
  int max_pos = last_pos(r_.request);
  if (!st_.cxx) {
    p_("#if !defined(__MIG_check__Request__{}_t__defined)", r_.name);
    p_("#define __MIG_check__Request__{}_t__defined", r_.name);
    p_.blank();
  }
  std::string params = fmt::format(
      "__attribute__((__unused__)) __Request__{}_t *In0P", r_.name);
  for (int i = 1; i <= max_pos; ++i)
    params += fmt::format(", __attribute__((__unused__)) __Request__{}_t **In{}PP",
                          r_.name, i);
  p_("{} kern_return_t __MIG_check__Request__{}_t({})",
     st_.cxx ? "inline" : "mig_internal", r_.name, params);
  p_("{{");
  {
    Printer::Indent in(p_);
    check_body();
  }
  p_("}}");
  if (!st_.cxx)
    p_("#endif /* !defined(__MIG_check__Request__{}_t__defined) */", r_.name);
  p_.blank();
}

void ServerRoutine::check_body() {
  const Message& msg = r_.request;
  int max_pos = last_pos(msg);
  p_("typedef __Request__{}_t __Request;", r_.name);
  for (int i = 1; i <= max_pos; ++i) p_("__Request *In{}P;", i);
  if (msg.num_var) p_("unsigned int msgh_size;");
  if (max_pos > 0) p_("unsigned int msgh_size_delta;");
  p_.blank();

  unsigned var_bytes = var_total_bytes(msg);
  std::string min = fmt::format("(mach_msg_size_t)(sizeof(__Request) - {})", var_bytes);
  std::string size_bad =
      msg.num_var ? fmt::format("(msgh_size < {}) ||  (msgh_size > (mach_msg_size_t)sizeof(__Request))", min)
                  : "(In0P->Head.msgh_size != (mach_msg_size_t)sizeof(__Request))";
  if (msg.num_var) p_("msgh_size = In0P->Head.msgh_size;");
  if (!msg.complex) {
    p_("if ((In0P->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||");
    p_("    {})", size_bad);
  } else {
    p_("if (!(In0P->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||");
    p_("    (In0P->msgh_body.msgh_descriptor_count != {}) ||", msg.descriptors);
    p_("    {})", size_bad);
  }
  p_("\treturn MIG_BAD_ARGUMENTS;");
  p_.blank();

  print_body_checks(p_, msg, min, false);

  // Strings must be terminated inside the message.
  bool any_string = false;
  for (const auto& f : msg.fields)
    if (f.role == Role::Data && f.arg->type->kind == Type::Kind::String) any_string = true;
  if (any_string) {
    p_("{{");
    p_("\tchar * msg_limit = ((char *) In0P) + In0P->Head.msgh_size;");
    p_("\tsize_t memchr_limit;");
    p_.blank();
    for (const auto& f : msg.fields) {
      if (f.role != Role::Data || f.arg->type->kind != Type::Kind::String) continue;
      std::string x = fmt::format("{}->{}", in_ptr(f.pos), f.name);
      p_("\tmemchr_limit = (size_t)((msg_limit - {0}) < {1} ? (msg_limit - {0}) : {1});",
         x, f.arg->type->count);
      p_("\tif (( memchr({}, '\\0', memchr_limit) == NULL ))", x);
      p_("\t\treturn MIG_BAD_ARGUMENTS; /* string length exceeds buffer length! */");
    }
    p_("}}");
    p_.blank();
  }
  p_("return MACH_MSG_SUCCESS;");
}

// -------------------------------------------------------------- stub ----

// Translated arguments with a destructor live in a local: translated after
// the request is checked, destroyed after the call.
bool trans_needs_local(const Arg* a) {
  return !a->type->intran.empty() && !a->type->destructor.empty() &&
         ((a->is_in() && !a->is_out()) || a->kind == ArgKind::RequestPort);
}

std::string ServerRoutine::call_arg(const Arg* a) {
  const Type& t = *a->type;
  if (a == r_.retcode_arg) return error_form_ ? "ErrorCode" : "KERN_SUCCESS";
  auto tr = [&](const std::string& e) {
    if (!t.intran.empty()) return t.intran + "(" + e + ")";
    return e;
  };
  switch (a->kind) {
    case ArgKind::RequestPort:
      return trans_needs_local(a) ? a->name : tr("In0P->Head.msgh_local_port");
    case ArgKind::ReplyPort: return tr("In0P->Head.msgh_remote_port");
    case ArgKind::MsgSeqno: return "TrailerP->msgh_seqno";
    case ArgKind::ServerSecToken: return "TrailerP->msgh_sender";
    case ArgKind::ServerAuditToken: return "TrailerP->msgh_audit";
    case ArgKind::ServerContextToken: return "TrailerP->msgh_context";
    case ArgKind::ServerCopy:
      return fmt::format("(In0P->{}.copy == MACH_MSG_PHYSICAL_COPY)", a->parent->name);
    case ArgKind::Dealloc: return "&" + a->name;
    case ArgKind::Poly:
      if (a->server_ref) return "&" + a->name;
      return fmt::format("In0P->{}{}.disposition", a->parent->name,
                         a->parent->type->kind == Type::Kind::Port ? "" : "[0]");
    case ArgKind::Count: {
      const Arg* parent = a->parent;
      if (parent->is_out()) {
        if (reply_direct(a)) return "&" + field_ref(r_.reply, a, Role::Count, false);
        return "&" + a->name;
      }
      return field_ref(r_.request, a, Role::Count, true);
    }
    case ArgKind::In: {
      if (trans_needs_local(a)) return a->name;
      switch (t.kpd()) {
        case KpdKind::Port:
          if (t.kind == Type::Kind::Port) return tr(fmt::format("In0P->{}.name", a->name));
          return a->name;  // copied into a local array
        case KpdKind::Ool:
        case KpdKind::OolPorts:
          return fmt::format("({})(In0P->{}.address)", t.trans_type(), a->name);
        default: return tr(field_ref(r_.request, a, Role::Data, true));
      }
    }
    case ArgKind::Out:
    case ArgKind::InOut:
      if (reply_direct(a)) return field_ref(r_.reply, a, Role::Data, false);
      if (t.decays()) return a->name;
      return "&" + a->name;
    default: return a->name;
  }
}

void ServerRoutine::locals_and_extract() {
  // Locals for values that do not live at a fixed place of the reply.
  for (const auto& up : r_.args) {
    const Arg* a = up.get();
    const Type& t = *a->type;
    if (trans_needs_local(a)) {
      p_("{} {};", t.trans_type(), a->name);
      continue;
    }
    if (a->kind == ArgKind::In && t.kpd() == KpdKind::Port && t.kind != Type::Kind::Port) {
      // An in-line array of ports arrives as descriptors: gather the names.
      p_("{} {}[{}];", t.port_base().server_type(), a->name, t.kpd_count());
      continue;
    }
    if (a->kind == ArgKind::Dealloc && a->server) {
      p_("boolean_t {} = FALSE;", a->name);
      continue;
    }
    if (a->kind == ArgKind::Poly && a->server_ref) {
      p_("mach_msg_type_name_t {};", a->name);
      continue;
    }
    if (a->kind == ArgKind::Count && a->parent->is_out() && a->server && !reply_direct(a)) {
      p_("mach_msg_type_number_t {};", a->name);
      continue;
    }
    if ((a->kind == ArgKind::Out || a->kind == ArgKind::InOut) && !reply_direct(a)) {
      const Field* f = r_.reply.find(a, Role::Data);
      if (t.kpd() == KpdKind::Port && t.kind != Type::Kind::Port) {
        p_("{} {}[{}];", t.port_base().server_type(), a->name, t.kpd_count());
      } else if (f && f->dim) {
        p_("{} {}[{}];", f->sctype, a->name, f->dim);
      } else {
        std::string ty = !t.outtran.empty() ? t.outtran_arg : t.trans_type();
        p_("{} {};", ty, a->name);
      }
    }
  }
}

void ServerRoutine::pack_reply() {
  const Message& msg = r_.reply;
  // Counts the server returned must fit the arrays.
  for (const auto& up : r_.args) {
    const Arg* a = up.get();
    if (!a->is_out() || !a->count || !a->owns_count) continue;
    const Type& t = *a->type;
    if (t.ool || t.kind == Type::Kind::String || !t.variable) continue;
    std::string cnt = reply_direct(a->count) ? field_ref(msg, a->count, Role::Count, false)
                                             : a->name + "Cnt";
    p_("if ({} > {}) {{", cnt, t.count);
    p_("\t{}(OutP, MIG_ARRAY_TOO_LARGE);", st_.ret_err());
    p_("}}");
  }

  auto count_val = [&](const Arg* a) -> std::string {
    // The element count of out argument `a` after the call.
    const Arg* c = a->count;
    if (!c) return std::to_string(a->type->count);
    if (reply_direct(c)) return field_ref(msg, c, Role::Count, false);
    return c->name;
  };

  for (const auto& f : msg.fields) {
    if (f.role != Role::Kpd) continue;
    const Arg* a = f.arg;
    const Type& t = *a->type;
    // The C++ face hands its OolBuffer over: the kernel frees it after
    // sending, whatever the .defs say.
    std::string dealloc = st_.cxx ? "TRUE"
                          : a->dealloc_arg ? a->dealloc_arg->name
                          : (a->dealloc == Type::Dealloc::Yes ? "TRUE" : "FALSE");
    std::string disp = a->poly && a->poly->server ? a->poly->name
                                                  : std::to_string(t.port_base().in_name);
    if (f.kpd == KpdKind::Port && !f.dim) {
      std::string v = t.outtran.empty() ? a->name
                                        : fmt::format("(mach_port_t){}({})", t.outtran, a->name);
      p_("OutP->{}.name = {};", f.name, v);
      p_("OutP->{}.pad1 = 0;", f.name);
      p_("OutP->{}.pad2 = 0;", f.name);
      p_("OutP->{}.disposition = {};", f.name, disp);
      p_("OutP->{}.type = MACH_MSG_PORT_DESCRIPTOR;", f.name);
    } else if (f.kpd == KpdKind::Port) {
      std::string n = t.variable ? count_val(a) : std::to_string(f.kpd_count);
      std::string elem = t.kind == Type::Kind::Struct
                             ? fmt::format("((mach_port_t *)&{})[i]", a->name)
                             : a->name + "[i]";
      p_("{{");
      p_("\tmach_msg_port_descriptor_t *ptr = &OutP->{}[0];", f.name);
      p_("\tunsigned int i;");
      p_("\tfor (i = 0; i < {}; ptr++, i++) {{", f.kpd_count);
      p_("\t\tptr->name = i < {} ? {} : MACH_PORT_NULL;", n, elem);
      p_("\t\tptr->pad1 = 0;");
      p_("\t\tptr->pad2 = 0;");
      p_("\t\tptr->disposition = {};", disp);
      p_("\t\tptr->type = MACH_MSG_PORT_DESCRIPTOR;");
      p_("\t}}");
      p_("}}");
    } else if (f.kpd == KpdKind::Ool) {
      p_("OutP->{}.address = (void *)({});", f.name, a->name);
      if (t.variable)
        p_("OutP->{}.size = {};", f.name, elems_to_bytes(t.elem_bytes(), count_val(a)));
      else
        p_("OutP->{}.size = {};", f.name, t.value_bytes());
      p_("OutP->{}.deallocate = {};", f.name, dealloc);
      p_("OutP->{}.copy = {};", f.name,
         a->physical_copy ? "MACH_MSG_PHYSICAL_COPY" : "MACH_MSG_VIRTUAL_COPY");
      p_("OutP->{}.pad1 = 0;", f.name);
      p_("OutP->{}.type = MACH_MSG_OOL_DESCRIPTOR;", f.name);
    } else {
      p_("OutP->{}.address = (void *)({});", f.name, a->name);
      p_("OutP->{}.count = {};", f.name, t.variable ? count_val(a) : std::to_string(t.count));
      p_("OutP->{}.disposition = {};", f.name, disp);
      p_("OutP->{}.deallocate = {};", f.name, dealloc);
      p_("OutP->{}.copy = MACH_MSG_VIRTUAL_COPY;", f.name);
      p_("OutP->{}.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;", f.name);
    }
    p_.blank();
  }
  if (msg.has_ndr) {
    p_("OutP->NDR = NDR_record;");
    p_.blank();
  }

  unsigned var_bytes = var_total_bytes(msg);
  std::string min = fmt::format("(mach_msg_size_t)(sizeof(Reply) - {})", var_bytes);
  const Field* pending = nullptr;
  bool sized = false;
  int pos = 0;
  auto var_count = [&](const Field& vf) {
    const Field* cf = msg.find(vf.arg->count, Role::Count);
    return fmt::format("{}->{}", out_ptr(cf->pos), cf->name);
  };
  for (const auto& f : msg.fields) {
    if (f.pos > pos && pending) {
      p_("msgh_size_delta = {};", var_bytes_expr(*pending->arg->type, var_count(*pending)));
      if (!sized)
        p_("msgh_size = {} + msgh_size_delta;", min);
      else
        p_("msgh_size += msgh_size_delta;");
      sized = true;
      p_("{} = (Reply *) ((vm_offset_t) {} + msgh_size_delta - {});", out_ptr(f.pos),
         out_ptr(pos), var_max_bytes(*pending));
      p_.blank();
      pending = nullptr;
      pos = f.pos;
    }
    const Arg* a = f.arg;
    std::string dst = fmt::format("{}->{}", out_ptr(f.pos), f.name);
    switch (f.role) {
      case Role::Offset:
        p_("{} = 0;", dst);
        break;
      case Role::Count: {
        const Arg* parent = a->parent;
        if (parent->type->kind == Type::Kind::String) break;
        if (!reply_direct(a)) p_("{} = {};", dst, a->name);
        break;
      }
      case Role::Data: {
        const Type& t = *a->type;
        bool direct = reply_direct(a);
        std::string cnt_dst =
            a->count ? fmt::format("{}->{}", out_ptr(f.pos), a->count->name) : "";
        if (t.kind == Type::Kind::String) {
          if (direct) {
            if (t.variable) {
              p_("{}[{}] = '\\0';", dst, t.count - 1);
              p_("{} = (mach_msg_type_number_t) strlen({}) + 1;", cnt_dst, dst);
            }
          } else if (t.variable) {
            p_("{} = mig_strncpy({}, {}, {});", cnt_dst, dst, a->name, t.count);
          } else {
            p_("(void)memcpy((char *) {}, (const char *) {}, {});", dst, a->name, t.count);
          }
        } else if (direct) {
          // written in place by the server routine
        } else if (t.kind == Type::Kind::Array && t.variable) {
          p_("(void)memcpy((char *) {}, (const char *) {}, {});", dst, a->name,
             elems_to_bytes(t.elem_bytes(), count_val(a)));
        } else if (t.kind == Type::Kind::Array || f.dim) {
          p_("(void)memcpy((char *) {}, (const char *) {}, {});", dst,
             t.kind == Type::Kind::Struct ? "&" + a->name : a->name, t.value_bytes());
        } else if (!t.outtran.empty()) {
          p_("{} = {}({});", dst, t.outtran, a->name);
        } else {
          p_("{} = {};", dst, a->name);
        }
        if (f.variable) pending = &f;
        break;
      }
      default: break;
    }
  }
  if (pending) {
    std::string bytes = var_bytes_expr(*pending->arg->type, var_count(*pending));
    if (!sized)
      p_("msgh_size = {} + ({});", min, bytes);
    else
      p_("msgh_size += {};", bytes);
    sized = true;
  }
  p_("OutP->Head.msgh_size = {};", sized ? "msgh_size" : "(mach_msg_size_t)sizeof(Reply)");
  if (msg.complex) {
    p_("OutP->Head.msgh_bits |= MACH_MSGH_BITS_COMPLEX;");
    p_("OutP->msgh_body.msgh_descriptor_count = {};", msg.descriptors);
  }
}

void ServerRoutine::stub() {
  p_("/* {} {} */", routine_kind(r_), r_.name);
  if (st_.cxx) {
    p_("inline void _X{}(Server& self, mach_msg_header_t *InHeadP, "
       "mach_msg_header_t *OutHeadP)", r_.name);
  } else {
    p_("mig_internal void _X{}", r_.name);
    p_("\t(mach_msg_header_t *InHeadP, mach_msg_header_t *OutHeadP)");
  }
  p_("{{");
  Printer::Indent in(p_);
  print_struct(p_, r_.request, "Request", true,
               r_.server_trailer ? "mach_msg_max_trailer_t" : "mach_msg_trailer_t");
  p_("typedef __Request__{}_t __Request;", r_.name);
  p_("typedef __Reply__{}_t Reply __attribute__((unused));", r_.name);
  p_.blank();
  print_reply_error_comment(p_);
  int max_pos = last_pos(r_.request);
  p_("Request *In0P = (Request *) InHeadP;");
  // Later parts of the request, located by the check function: declared
  // with the type it stores through.
  for (int i = 1; i <= max_pos; ++i) p_("__Request__{}_t *In{}P;", r_.name, i);
  p_("Reply *OutP = (Reply *) OutHeadP;");
  if (!r_.simple)
    for (int i = 1; i <= last_pos(r_.reply); ++i) p_("Reply *Out{}P;", i);
  bool reply_var = !r_.simple && r_.reply.num_var > 0;
  if (reply_var) p_("unsigned int msgh_size;");
  if (!r_.simple && has_pos_after(r_.reply, 0)) p_("unsigned int msgh_size_delta;");
  if (r_.server_trailer) p_("mach_msg_max_trailer_t *TrailerP;");
  p_("kern_return_t check_result;");
  bool local_rc = !r_.reply_has_retcode;
  if (local_rc) p_("kern_return_t RetCode;");
  locals_and_extract();
  p_.blank();

  std::string rc = local_rc ? "RetCode" : "OutP->RetCode";
  if (r_.retcode_arg) error_form(rc);

  std::string extra;
  for (int i = 1; i <= max_pos; ++i) extra += fmt::format(", &In{}P", i);
  p_("check_result = __MIG_check__Request__{}_t((__Request *)In0P{});", r_.name, extra);
  p_("if (check_result != MACH_MSG_SUCCESS)");
  p_("\t{{ {}(OutP, check_result); }}", st_.ret_err());
  p_.blank();

  trailer_check();
  prepare_args();
  call_routine(rc);
  if (r_.simple) return;
  p_("if ({} != KERN_SUCCESS) {{", rc);
  p_("\t{}(OutP, {});", st_.ret_err(), rc);
  p_("}}");
  p_.blank();
  pack_reply();
}

// The trailer the request came with (MsgSeqno, Server*Token).
void ServerRoutine::trailer_check() {
  if (r_.server_trailer) {
    p_("TrailerP = (mach_msg_max_trailer_t *)((vm_offset_t)In0P +");
    p_("\tround_msg(In0P->Head.msgh_size));");
    p_("if (TrailerP->msgh_trailer_type != MACH_MSG_TRAILER_FORMAT_0 ||");
    p_("    TrailerP->msgh_trailer_size < {})", r_.server_trailer_min);
    p_("\t{{ {}(OutP, MIG_TRAILER_ERROR); }}", st_.ret_err());
    p_.blank();
  }
}

// Translate arguments now that the request is known to be well formed;
// gather in-line port arrays; initialise in/out values and counts.
void ServerRoutine::prepare_args() {
  for (const auto& up : r_.args) {
    const Arg* a = up.get();
    const Type& t = *a->type;
    if (trans_needs_local(a)) {
      std::string src = a->kind == ArgKind::RequestPort
                            ? "In0P->Head.msgh_local_port"
                            : (t.kind == Type::Kind::Port
                                   ? fmt::format("In0P->{}.name", a->name)
                                   : field_ref(r_.request, a, Role::Data, true));
      p_("{} = {}({});", a->name, t.intran, src);
    }
    if (a->kind == ArgKind::In && t.kpd() == KpdKind::Port && t.kind != Type::Kind::Port) {
      std::string n = std::to_string(t.kpd_count());
      if (t.variable) n = field_ref(r_.request, a->count, Role::Count, true);
      std::string elem = t.kind == Type::Kind::Struct
                             ? fmt::format("((mach_port_t *)&{})[i]", a->name)
                             : a->name + "[i]";
      p_("{{");
      p_("\tunsigned int i;");
      p_("\tfor (i = 0; i < {}; i++)", n);
      p_("\t\t{} = In0P->{}[i].name;", elem, a->name);
      p_("}}");
    }
    if (a->kind == ArgKind::InOut) {
      // The server sees the value it was sent and may change it.
      std::string dst = reply_direct(a) ? field_ref(r_.reply, a, Role::Data, false) : a->name;
      if (t.kind == Type::Kind::Port) {
        p_("{} = In0P->{}.name;", dst, a->name);
      } else if (t.kpd() == KpdKind::Ool || t.kpd() == KpdKind::OolPorts) {
        p_("{} = ({})(In0P->{}.address);", dst, t.trans_type(), a->name);
      } else if (t.kpd() == KpdKind::Port) {
        // in-line port arrays in/out: rare; start from null names
        p_("(void)memset(&{}, 0, sizeof({}));", a->name, a->name);
      } else {
        const Field* inf = r_.request.find(a, Role::Data);
        std::string src = fmt::format("{}->{}", in_ptr(inf->pos), inf->name);
        if (t.kind == Type::Kind::String) {
          p_("(void) mig_strncpy({}, {}, {});", dst, src, t.count);
        } else if (t.kind == Type::Kind::Array && t.variable) {
          const Field* cf = r_.request.find(a->count, Role::Count);
          p_("(void)memcpy((char *) {}, (const char *) {}, {});", dst, src,
             elems_to_bytes(t.elem_bytes(), fmt::format("{}->{}", in_ptr(cf->pos), cf->name)));
        } else if (t.kind == Type::Kind::Array || inf->dim) {
          p_("(void)memcpy((char *) {}, (const char *) {}, {});",
             t.kind == Type::Kind::Struct ? "&" + dst : dst, src, t.value_bytes());
        } else {
          p_("{} = {};", dst, src);
        }
      }
    }
    if (a->kind == ArgKind::Count && a->parent->is_out() && a->server) {
      const Arg* parent = a->parent;
      std::string dst = reply_direct(a) ? field_ref(r_.reply, a, Role::Count, false) : a->name;
      const Field* req = r_.request.find(a, Role::Count);
      if (parent->kind == ArgKind::InOut && req) {
        p_("{} = {}->{};", dst, in_ptr(req->pos), req->name);
      } else {
        unsigned max = parent->type->ool ? 0 : parent->type->count;
        p_("{} = {};", dst, max);
        if (req && parent->count_in_out && max) {
          p_("if ({}->{} < {})", in_ptr(req->pos), req->name, dst);
          p_("\t{} = {}->{};", dst, in_ptr(req->pos), req->name);
        }
      }
    }
    if (a->kind == ArgKind::Poly && a->server_ref)
      p_("{} = {};", a->name, a->parent->type->port_base().out_name == kPolymorphic
                                  ? std::string("MACH_MSG_TYPE_MOVE_SEND")
                                  : std::to_string(a->parent->type->port_base().out_name));
  }
}

// Calls the server routine, storing its result in `rc`.
void ServerRoutine::call_routine(const std::string& rc) {
  std::vector<std::string> call;
  for (Arg* a : r_.server_args()) call.push_back(call_arg(a));
  std::string args;
  for (size_t i = 0; i < call.size(); ++i) args += (i ? ", " : "") + call[i];
  if (st_.cxx)
    p_("{} = call_{}(self{}{});", rc, r_.name, args.empty() ? "" : ", ", args);
  else
    p_("{} = {}{}({});", rc, m_.server_prefix, r_.name, args);
  for (const auto& up : r_.args) {
    if (trans_needs_local(up.get()))
      p_("{}({});", up->type->destructor, up->name);
  }
  if (st_.cxx) {
    // The handler's owners took every right and region of the request:
    // whoever destroys a failed request must find nothing left to free.
    p_("if ({} != KERN_SUCCESS)", rc);
    p_("\tIn0P->Head.msgh_bits &= ~(mach_msg_bits_t)MACH_MSGH_BITS_COMPLEX;");
  }
}

// A simpleroutine whose RetCode argument the sender had set: the request
// is a mig_reply_error_t. As Apple's MIG, the routine is called with that
// code and every other message argument zero (request port and trailer as
// sent); nothing travelled, so nothing is released.
void ServerRoutine::error_form(const std::string& rc) {
  p_("if (!(In0P->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) &&");
  p_("    In0P->Head.msgh_size == (mach_msg_size_t)sizeof(mig_reply_error_t)) {{");
  {
    Printer::Indent in(p_);
    p_("Request Zero;");
    p_("kern_return_t ErrorCode = ((mig_reply_error_t *)In0P)->RetCode;");
    p_.blank();
    trailer_check();
    p_("(void)memset(&Zero, 0, sizeof(Zero));");
    p_("Zero.Head = In0P->Head;");
    p_("In0P = &Zero;");
    for (int i = 1; i <= last_pos(r_.request); ++i)
      p_("In{}P = (__Request__{}_t *)&Zero;", i, r_.name);
    p_.blank();
    error_form_ = true;
    prepare_args();
    call_routine(rc);
    error_form_ = false;
    p_("return;");
  }
  p_("}}");
  p_.blank();
}

}  // namespace

void print_server_routine(Printer& p, const Module& m, const Routine& r,
                          const ServerStyle& st) {
  ServerRoutine s(m, r, p, st);
  s.check_request();
  s.stub();
  p("}}");
  p.blank();
}

std::string emit_server(const EmitContext& cx) {
  const Module& m = cx.m;
  Printer p;
  p.raw(generated_banner(cx, "Server stubs"));
  p.blank();
  p("/* Module {} */", m.subsystem);
  p.blank();
  p("#define\t__MIG_check__Request__{}_subsystem__ 1", m.subsystem);
  p.blank();
  bool sheader = !cx.sheader_name.empty();
  if (sheader) {
    p("#include \"{}\"", cx.sheader_name);
  } else {
    print_std_includes(p);
    print_imports(p, m, {"import", "simport"});
  }
  p("#include <mach/mig.h>");
  p.blank();
  print_mig_defaults(p);
  p("#ifndef\tMIG_RETURN_ERROR");
  p.line("#define\tMIG_RETURN_ERROR(X, code)\t{ ((mig_reply_error_t *)X)->RetCode = code; "
         "((mig_reply_error_t *)X)->NDR = NDR_record; return; }");
  p("#endif\t/* MIG_RETURN_ERROR */");
  p.blank();
  if (!m.rcsid.empty()) {
    p("static const char {}_server_rcsid[] __attribute__((unused)) = \"{}\";", m.subsystem,
      m.rcsid);
    p.blank();
  }
  if (!sheader) print_message_types(p, m, true);

  // Declarations with C linkage; the definitions below inherit it.
  if (!sheader) {
    p("#ifdef __cplusplus");
    p("extern \"C\" {{");
    p("#endif");
    print_prototypes(p, m, true);
    p.blank();
    p("mig_external boolean_t {}", m.demux());
    p("\t(mach_msg_header_t *InHeadP, mach_msg_header_t *OutHeadP);");
    p.blank();
    p("mig_external mig_routine_t {}_routine", m.demux());
    p("\t(mach_msg_header_t *InHeadP);");
    p.blank();
    print_server_subsystem_decl(p, m);
    p.blank();
    p("#ifdef __cplusplus");
    p("}}");
    p("#endif");
    p.blank();
  }
  p("/* Forward Declarations */");
  p.blank();
  for (const auto& r : m.routines) {
    p("mig_internal void _X{}", r->name);
    p("\t(mach_msg_header_t *InHeadP, mach_msg_header_t *OutHeadP);");
    p.blank();
  }

  ServerStyle st;
  for (const auto& r : m.routines) print_server_routine(p, m, *r, st);

  // The subsystem table.
  p("/* Description of this subsystem, for use in direct RPC */");
  p("const struct {0} {0} = {{", m.server_subsys());
  p("\t{}_routine,", m.demux());
  p("\t{},", m.base);
  p("\t{},", m.base + m.routine_count);
  p("\t(mach_msg_size_t)sizeof(union __ReplyUnion__{}),", m.server_subsys());
  p("\t(vm_address_t)0,");
  p("\t{{");
  {
    size_t ri = 0;
    for (unsigned n = 0; n < std::max(1u, m.routine_count); ++n) {
      const Routine* r = ri < m.routines.size() && m.routines[ri]->number == n
                             ? m.routines[ri++].get()
                             : nullptr;
      unsigned argc = 0;
      if (r)
        for (const Arg* a : r->server_args()) argc += a->rpc_words();
      if (r)
        p("\t\t{{ (mig_impl_routine_t) 0,\n\t\t  (mig_stub_routine_t) _X{}, {}, 0, "
          "(routine_arg_descriptor_t)0, (mach_msg_size_t)sizeof(__Reply__{}_t)}},",
          r->name, argc, r->name);
      else
        p("\t\t{{0, 0, 0, 0, 0, 0}},");
    }
  }
  p("\t}}");
  p("}};");
  p.blank();

  // The demux.
  int last = static_cast<int>(m.base + m.routine_count) - 1;
  p("mig_external boolean_t {}", m.demux());
  p("\t(mach_msg_header_t *InHeadP, mach_msg_header_t *OutHeadP)");
  p("{{");
  {
    Printer::Indent in(p);
    print_reply_error_comment(p);
  }
  p("\tmig_routine_t routine;");
  p.blank();
  p("\tOutHeadP->msgh_bits = MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(InHeadP->msgh_bits), 0);");
  p("\tOutHeadP->msgh_remote_port = InHeadP->msgh_remote_port;");
  p("\t/* Minimal size: routine() will update it if different */");
  p("\tOutHeadP->msgh_size = (mach_msg_size_t)sizeof(mig_reply_error_t);");
  p("\tOutHeadP->msgh_local_port = MACH_PORT_NULL;");
  // Unsigned: a client may send any id, and INT_MAX + 100 in int is undefined.
  p("\tOutHeadP->msgh_id = (mach_msg_id_t)((natural_t)InHeadP->msgh_id + 100);");
  p("\tOutHeadP->msgh_voucher_port = MACH_PORT_NULL;");
  p.blank();
  p("\tif ((InHeadP->msgh_id > {}) || (InHeadP->msgh_id < {}) ||", last, m.base);
  p("\t    ((routine = {}.routine[InHeadP->msgh_id - {}].stub_routine) == 0)) {{",
    m.server_subsys(), m.base);
  p("\t\t((mig_reply_error_t *)OutHeadP)->NDR = NDR_record;");
  p("\t\t((mig_reply_error_t *)OutHeadP)->RetCode = MIG_BAD_ID;");
  p("\t\treturn FALSE;");
  p("\t}}");
  p("\t(*routine) (InHeadP, OutHeadP);");
  p("\treturn TRUE;");
  p("}}");
  p.blank();
  p("mig_external mig_routine_t {}_routine", m.demux());
  p("\t(mach_msg_header_t *InHeadP)");
  p("{{");
  p("\tint msgh_id;");
  p.blank();
  p("\tmsgh_id = (int)((natural_t)InHeadP->msgh_id - {});", m.base);
  p.blank();
  p("\tif ((msgh_id > {}) || (msgh_id < 0))", static_cast<int>(m.routine_count) - 1);
  p("\t\treturn 0;");
  p.blank();
  p("\treturn {}.routine[msgh_id].stub_routine;", m.server_subsys());
  p("}}");
  return p.str();
}

}  // namespace mig
