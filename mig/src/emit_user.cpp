// The user stubs (-user): one function per routine that builds the request,
// sends it (and for routines waits for the reply on a MIG reply port),
// checks the reply and copies the results out.
#include <fmt/format.h>

#include "emit.h"
#include "emit_common.h"
#include "parser.h"

namespace mig {
namespace {

using Role = Field::Role;

class UserRoutine {
 public:
  UserRoutine(const Module& m, const Routine& r, Printer& p)
      : m_(m), r_(r), p_(p) {}

  void check_reply();
  void stub();

 private:
  void check_reply_body();

  // Value of a user argument (dereferenced when passed by pointer).
  static std::string val(const Arg* a) {
    return a->user_ref ? "*" + a->name : a->name;
  }
  static std::string out_ptr(int pos) { return fmt::format("Out{}P", pos); }
  const Field* count_field(const Message& msg, const Arg* a) const {
    return a->count ? msg.find(a->count, Role::Count) : nullptr;
  }

  void locals();
  void pack_kpd(const Field& f);
  void pack_body();
  void pack_count(const Field& f);
  void pack_data(const Field& f);
  void send_error_instead();
  std::string send_size() const;
  void header();
  void send();
  void unpack();

  const Module& m_;
  const Routine& r_;
  Printer& p_;
};

// ---------------------------------------------------------------- check --

void UserRoutine::check_reply() {
  const Message& msg = r_.reply;
  const std::string fn = "__MIG_check__Reply__" + r_.name + "_t";
  int max_pos = last_pos(msg);

  p_("#if !defined(__MIG_check__Reply__{}_t__defined)", r_.name);
  p_("#define __MIG_check__Reply__{}_t__defined", r_.name);
  p_.blank();
  std::string params = fmt::format("__Reply__{}_t *Out0P", r_.name);
  for (int i = 1; i <= max_pos; ++i)
    params += fmt::format(", __Reply__{}_t **Out{}PP", r_.name, i);
  p_("mig_internal kern_return_t {}({})", fn, params);
  p_("{{");
  {
    Printer::Indent in(p_);
    check_reply_body();
  }
  p_("}}");
  p_("#endif /* !defined(__MIG_check__Reply__{}_t__defined) */", r_.name);
  p_.blank();
}

void UserRoutine::check_reply_body() {
  const Message& msg = r_.reply;
  int max_pos = last_pos(msg);
  bool has_args = !msg.empty_body();
  p_("typedef __Reply__{}_t __Reply __attribute__((unused));", r_.name);
  for (int i = 1; i <= max_pos; ++i) p_("__Reply *Out{}P;", i);
  if (msg.complex) p_("boolean_t msgh_simple;");
  if (has_args) p_("unsigned int msgh_size;");
  if (max_pos > 0) p_("unsigned int msgh_size_delta;");
  p_.blank();
  p_("if (Out0P->Head.msgh_id != {}) {{", reply_id(m_, r_));
  p_("    if (Out0P->Head.msgh_id == MACH_NOTIFY_SEND_ONCE)");
  p_("\t{{ return MIG_SERVER_DIED; }}");
  p_("    else");
  p_("\t{{ return MIG_REPLY_MISMATCH; }}");
  p_("}}");
  p_.blank();

  unsigned var_bytes = var_total_bytes(msg);
  std::string min = var_bytes
                        ? fmt::format("(mach_msg_size_t)(sizeof(__Reply) - {})", var_bytes)
                        : "(mach_msg_size_t)sizeof(__Reply)";
  std::string size_bad =
      msg.num_var ? fmt::format("msgh_size > (mach_msg_size_t)sizeof(__Reply) || msgh_size < {}", min)
                  : "msgh_size != (mach_msg_size_t)sizeof(__Reply)";
  if (!msg.complex) {
    if (!has_args) {
      p_("if ((Out0P->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||");
      p_("    (Out0P->Head.msgh_size != (mach_msg_size_t)sizeof(__Reply)))");
      p_("\t{{ return MIG_TYPE_ERROR ; }}");
      p_.blank();
      p_("return Out0P->RetCode;");
      return;
    }
    p_("msgh_size = Out0P->Head.msgh_size;");
    p_.blank();
    p_("if ((Out0P->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||");
    p_("    (({}) &&", size_bad);
    p_("     (msgh_size != (mach_msg_size_t)sizeof(mig_reply_error_t) ||");
    p_("      Out0P->RetCode == KERN_SUCCESS)))");
    p_("\t{{ return MIG_TYPE_ERROR ; }}");
    p_("if (Out0P->RetCode != KERN_SUCCESS) {{");
    p_("\treturn ((mig_reply_error_t *)Out0P)->RetCode;");
    p_("}}");
  } else {
    p_("msgh_simple = !(Out0P->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX);");
    p_("msgh_size = Out0P->Head.msgh_size;");
    p_.blank();
    p_("if ((msgh_simple || Out0P->msgh_body.msgh_descriptor_count != {} ||",
       msg.descriptors);
    p_("    {}) &&", size_bad);
    p_("    (!msgh_simple || msgh_size != (mach_msg_size_t)sizeof(mig_reply_error_t) ||");
    p_("    ((mig_reply_error_t *)Out0P)->RetCode == KERN_SUCCESS))");
    p_("\t{{ return MIG_TYPE_ERROR ; }}");
    p_("if (msgh_simple) {{");
    p_("\treturn ((mig_reply_error_t *)Out0P)->RetCode;");
    p_("}}");
  }
  p_.blank();

  print_body_checks(p_, msg, min, true);
  p_("return MACH_MSG_SUCCESS;");
}

// ----------------------------------------------------------------- stub --

void UserRoutine::locals() {
  const std::string trailer = r_.user_trailer ? "mach_msg_max_trailer_t" : "mach_msg_trailer_t";
  print_struct(p_, r_.request, "Request", false, "");
  if (!r_.simple) {
    print_struct(p_, r_.reply, "Reply", false, trailer);
    print_struct(p_, r_.reply, "__Reply", false, "");
  }
  print_reply_error_comment(p_);
  p_("union {{");
  p_("\tRequest In;");
  if (!r_.simple) p_("\tReply Out;");
  p_("}} Mess;");
  p_.blank();
  p_("Request *InP = &Mess.In;");
  if (!r_.simple) {
    p_("Reply *Out0P = &Mess.Out;");
    // Later parts of the reply, located by the check function: declared
    // with the type it stores through.
    for (int i = 1; i <= last_pos(r_.reply); ++i)
      p_("__Reply__{} *Out{}P = NULL;", r_.name + "_t", i);
  }
  p_.blank();
  p_("mach_msg_return_t msg_result;");
  if (r_.request.num_var > 0) p_("unsigned int msgh_size{};", r_.retcode_arg ? " = 0" : "");
  if (has_pos_after(r_.request, 0)) p_("unsigned int msgh_size_delta;");
  if (r_.user_trailer) p_("mach_msg_max_trailer_t *TrailerP;");
  if (!r_.simple) p_("kern_return_t check_result;");
  p_.blank();
}

void UserRoutine::pack_kpd(const Field& f) {
  const Arg* a = f.arg;
  const Type& t = *a->type;
  std::string dealloc =
      a->dealloc_arg ? a->dealloc_arg->name
                     : (a->dealloc == Type::Dealloc::Yes ? "TRUE" : "FALSE");
  if (f.kpd == KpdKind::Port) {
    std::string disp = a->poly && a->poly->user ? val(a->poly)
                                                : std::to_string(t.port_base().in_name);
    if (!f.dim) {
      p_("InP->{}.name = {};", f.name, val(a));
      p_("InP->{}.pad1 = 0;", f.name);
      p_("InP->{}.pad2 = 0;", f.name);
      p_("InP->{}.disposition = {};", f.name, disp);
      p_("InP->{}.type = MACH_MSG_PORT_DESCRIPTOR;", f.name);
      p_.blank();
      return;
    }
    std::string elem = t.kind == Type::Kind::Struct
                           ? fmt::format("((mach_port_t *)&{})[i]", val(a))
                           : a->name + "[i]";
    std::string n = std::to_string(f.kpd_count);
    p_("{{");
    Printer::Indent in(p_);
    p_("mach_msg_port_descriptor_t *ptr = &InP->{}[0];", f.name);
    p_("unsigned int i;");
    if (t.variable) {
      n = val(a->count);
      p_("if ({} > {})", n, f.kpd_count);
      p_("\t{{ return MIG_ARRAY_TOO_LARGE; }}");
    }
    p_("for (i = 0; i < {}; ptr++, i++) {{", n);
    p_("\tptr->name = {};", elem);
    p_("\tptr->pad1 = 0;");
    p_("\tptr->pad2 = 0;");
    p_("\tptr->disposition = {};", disp);
    p_("\tptr->type = MACH_MSG_PORT_DESCRIPTOR;");
    p_("}}");
    if (t.variable) {
      p_("for (; i < {}; ptr++, i++) {{", f.kpd_count);
      p_("\tptr->name = MACH_PORT_NULL;");
      p_("\tptr->pad1 = 0;");
      p_("\tptr->pad2 = 0;");
      p_("\tptr->disposition = {};", disp);
      p_("\tptr->type = MACH_MSG_PORT_DESCRIPTOR;");
      p_("}}");
    }
    p_.out();
    p_("}}");
    p_.in();
    p_.blank();
    return;
  }
  p_("InP->{}.address = (void *)({});", f.name, val(a));
  if (f.kpd == KpdKind::Ool) {
    if (t.variable)
      p_("InP->{}.size = {};", f.name, elems_to_bytes(t.elem_bytes(), val(a->count)));
    else
      p_("InP->{}.size = {};", f.name, t.value_bytes());
    p_("InP->{}.deallocate = {};", f.name, dealloc);
    p_("InP->{}.copy = {};", f.name,
       a->physical_copy ? "MACH_MSG_PHYSICAL_COPY" : "MACH_MSG_VIRTUAL_COPY");
    p_("InP->{}.pad1 = 0;", f.name);
    p_("InP->{}.type = MACH_MSG_OOL_DESCRIPTOR;", f.name);
  } else {
    std::string disp = a->poly && a->poly->user ? val(a->poly)
                                                : std::to_string(t.port_base().in_name);
    p_("InP->{}.count = {};", f.name, t.variable ? val(a->count) : std::to_string(t.count));
    p_("InP->{}.disposition = {};", f.name, disp);
    p_("InP->{}.deallocate = {};", f.name, dealloc);
    p_("InP->{}.copy = MACH_MSG_VIRTUAL_COPY;", f.name);
    p_("InP->{}.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;", f.name);
  }
  p_.blank();
}

void UserRoutine::pack_count(const Field& f) {
  const Arg* c = f.arg;
  const Arg* a = c->parent;
  if (a->type->kind == Type::Kind::String) return;  // set with the data
  if (!a->is_in()) {
    // countinout: tell the server how much room the caller has.
    unsigned max = a->type->count;
    if (max && !a->type->ool) {
      p_("if ({} < {})", val(c), max);
      p_("\tInP->{} = {};", f.name, val(c));
      p_("else");
      p_("\tInP->{} = {};", f.name, max);
    } else {
      p_("InP->{} = {};", f.name, val(c));
    }
    p_.blank();
    return;
  }
  p_("InP->{} = {};", f.name, val(c));
  p_.blank();
}

void UserRoutine::pack_data(const Field& f) {
  const Arg* a = f.arg;
  const Type& t = *a->type;
  if (t.kind == Type::Kind::String) {
    if (t.variable) {
      p_("InP->{} = mig_strncpy(InP->{}, {}, {});", a->count->name, f.name, a->name, t.count);
    } else {
      p_("(void) memset(InP->{}, 0, {});", f.name, t.count);
      p_("(void) mig_strncpy(InP->{}, {}, {});", f.name, a->name, t.count);
    }
  } else if (t.kind == Type::Kind::Array && t.variable) {
    std::string cnt = val(a->count);
    p_("if ({} > {}) {{", cnt, t.count);
    p_("\treturn MIG_ARRAY_TOO_LARGE;");
    p_("}}");
    // A caller may pass a null array with a count of 0 (as Mach allows);
    // memcpy's arguments must not be null even then.
    p_("if ({} != 0) {{", cnt);
    p_("\t(void)memcpy((char *) InP->{}, (const char *) {}, {});", f.name, a->name,
       elems_to_bytes(t.elem_bytes(), cnt));
    p_("}}");
  } else if (t.kind == Type::Kind::Array || f.dim) {
    p_("(void)memcpy((char *) InP->{}, (const char *) {}, {});", f.name,
       a->user_ref ? a->name : (t.kind == Type::Kind::Struct ? "&" + a->name : a->name),
       t.value_bytes());
  } else {
    p_("InP->{} = {};", f.name, val(a));
  }
  p_.blank();
}

void UserRoutine::pack_body() {
  const Message& msg = r_.request;
  if (msg.complex) {
    p_("InP->msgh_body.msgh_descriptor_count = {};", msg.descriptors);
    p_.blank();
  }
  for (const auto& f : msg.fields)
    if (f.role == Role::Kpd) pack_kpd(f);
  if (msg.has_ndr) {
    p_("InP->NDR = NDR_record;");
    p_.blank();
  }
  unsigned var_bytes = var_total_bytes(msg);
  std::string min = fmt::format("(mach_msg_size_t)(sizeof(Request) - {})", var_bytes);
  int pos = 0;
  const Field* pending = nullptr;  // last variable field not yet sized
  bool sized = false;
  for (const auto& f : msg.fields) {
    if (f.pos > pos && pending) {
      std::string cnt = pending->arg->type->kind == Type::Kind::String
                            ? "InP->" + pending->arg->count->name
                            : val(pending->arg->count);
      p_("msgh_size_delta = {};", var_bytes_expr(*pending->arg->type, cnt));
      if (!sized)
        p_("msgh_size = {} + msgh_size_delta;", min);
      else
        p_("msgh_size += msgh_size_delta;");
      sized = true;
      p_("InP = (Request *) ((vm_offset_t) InP + msgh_size_delta - {});",
         var_max_bytes(*pending));
      p_.blank();
      pending = nullptr;
      pos = f.pos;
    }
    switch (f.role) {
      case Role::Offset:
        p_("InP->{} = 0;", f.name);
        p_.blank();
        break;
      case Role::Count: pack_count(f); break;
      case Role::Data:
        pack_data(f);
        if (f.variable) pending = &f;
        break;
      default: break;
    }
  }
  if (pending) {
    std::string cnt = pending->arg->type->kind == Type::Kind::String
                          ? "InP->" + pending->arg->count->name
                          : val(pending->arg->count);
    if (!sized)
      p_("msgh_size = {} + ({});", min, var_bytes_expr(*pending->arg->type, cnt));
    else
      p_("msgh_size += {};", var_bytes_expr(*pending->arg->type, cnt));
    p_.blank();
  }
}

// A RetCode argument (Routine::retcode_arg) that is not KERN_SUCCESS
// replaces the request by a mig_reply_error_t carrying it (Apple's
// WriteRetCodeArg): no rights or memory travel.
void UserRoutine::send_error_instead() {
  const Arg* rc = r_.retcode_arg;
  if (!rc) return;
  p_("if ({}) {{", rc->name);
  p_("	((mig_reply_error_t *)InP)->RetCode = {};", rc->name);
  p_("	((mig_reply_error_t *)InP)->NDR = NDR_record;");
  p_("	goto ready_to_send;");
  p_("}}");
  p_.blank();
}

std::string UserRoutine::send_size() const {
  std::string size = r_.request.num_var ? "msgh_size" : "(mach_msg_size_t)sizeof(Request)";
  if (r_.retcode_arg)
    size = fmt::format("({}) ? (mach_msg_size_t)sizeof(mig_reply_error_t) : {}",
                       r_.retcode_arg->name, size);
  return size;
}

void UserRoutine::header() {
  if (r_.retcode_arg) {
    p_.out();
    p_("ready_to_send:");
    p_.in();
  }
  if (has_pos_after(r_.request, 0)) p_("InP = &Mess.In;");
  std::string bits = request_bits(r_, false);
  if (r_.retcode_arg) {
    p_("InP->Head.msgh_bits = {};", bits);
    p_("if (!{})", r_.retcode_arg->name);
    p_("	InP->Head.msgh_bits |= MACH_MSGH_BITS_COMPLEX;");
  } else if (r_.request.complex) {
    p_("InP->Head.msgh_bits = MACH_MSGH_BITS_COMPLEX|{};", bits);
  } else {
    p_("InP->Head.msgh_bits = {};", bits);
  }
  p_("InP->Head.msgh_size = {};", send_size());
  p_("InP->Head.msgh_remote_port = {};", r_.request_port->name);
  if (r_.reply_port && r_.reply_port->user)
    p_("InP->Head.msgh_local_port = {};", r_.reply_port->name);
  else if (r_.simple)
    p_("InP->Head.msgh_local_port = MACH_PORT_NULL;");
  else if (r_.use_special_reply_port)
    p_("InP->Head.msgh_local_port = __MigCanUseSpecialReplyPort ? "
       "mig_get_special_reply_port() : mig_get_reply_port();");
  else
    p_("InP->Head.msgh_local_port = mig_get_reply_port();");
  p_("InP->Head.msgh_id = {};", request_id(m_, r_));
  p_("InP->Head.msgh_voucher_port = MACH_PORT_NULL;");
  p_.blank();
}

void UserRoutine::send() {
  bool rcv_timeout = false;
  std::string wt = wait_time_expr(r_, &rcv_timeout);
  std::string timeout = wt.empty() ? "MACH_MSG_TIMEOUT_NONE" : wt;
  std::string size = send_size();
  std::string opts = user_msg_options(r_);
  if (r_.simple)
    p_("msg_result = mach_msg(&InP->Head, {}, {}, 0, MACH_PORT_NULL, {}, MACH_PORT_NULL);",
       opts, size, timeout);
  else
    p_("msg_result = mach_msg(&InP->Head, {}, {}, (mach_msg_size_t)sizeof(Reply), "
       "InP->Head.msgh_local_port, {}, MACH_PORT_NULL);",
       opts, size, timeout);
  p_.blank();

  // A timed-out send gives the message back: out-of-line memory the kernel
  // moved to a new address would leak. With ConsumeOnSendError Timeout or
  // Any, mach_msg_destroy below frees it (Apple's MIG writes one or the
  // other too): freeing it here as well would free it twice.
  if (!wt.empty() && r_.consume_on_send_error == "None") {
    bool any = false;
    for (const auto& f : r_.request.fields)
      if (f.role == Role::Kpd && f.kpd == KpdKind::Ool) any = true;
    if (any) {
      if (r_.retcode_arg)  // an error went instead: no memory travelled
        p_("if (msg_result == MACH_SEND_TIMED_OUT && !{}) {{", r_.retcode_arg->name);
      else
        p_("if (msg_result == MACH_SEND_TIMED_OUT) {{");
      for (const auto& f : r_.request.fields) {
        if (f.role != Role::Kpd || f.kpd != KpdKind::Ool) continue;
        p_("\tif ((vm_offset_t) InP->{}.address != (vm_offset_t) {})", f.name, val(f.arg));
        p_("\t\tmig_deallocate((vm_offset_t) InP->{0}.address, (vm_size_t) InP->{0}.size);",
           f.name);
      }
      p_("}}");
      p_.blank();
    }
  }
  // As in Apple's MIG (WriteMsgCheckForSendErrors): with Timeout only a
  // send that can time out gives the request back, after
  // MACH_SEND_TIMED_OUT; with Any, after MACH_SEND_INVALID_DEST too, and
  // after no other send error (the kernel may have consumed some of the
  // rights, and nothing says which). A timed-out send gives the rights back
  // to the caller (pseudo-receive: a send right in each header port that
  // held one), an invalid destination leaves them as they were written.
  // mach_msg_destroy releases the remote port, the voucher and the
  // descriptors, not the local port: a send right moved there (a reply port
  // argument) is released first. A request without descriptors still holds
  // its destination right.
  bool consume = r_.consume_on_send_error == "Any" ||
                 (r_.consume_on_send_error == "Timeout" && !wt.empty());
  if (consume) {
    if (r_.consume_on_send_error == "Any") {
      p_("if (msg_result == MACH_SEND_INVALID_DEST ||");
      p_("    msg_result == MACH_SEND_TIMED_OUT) {{");
    } else {
      p_("if (msg_result == MACH_SEND_TIMED_OUT) {{");
    }
    if (r_.reply_port && r_.reply_port->user) {
      p_("\t/* mach_msg_destroy leaves the local port alone */");
      p_("\tif (MACH_MSGH_BITS_LOCAL(InP->Head.msgh_bits) == MACH_MSG_TYPE_MOVE_SEND)");
      p_("\t\t(void) mach_port_deallocate(mach_task_self(), InP->Head.msgh_local_port);");
    }
    p_("\tmach_msg_destroy(&InP->Head);");
    p_("}}");
    p_.blank();
  }
  if (r_.simple) {
    p_("return msg_result;");
    return;
  }
  p_("if (msg_result != MACH_MSG_SUCCESS) {{");
  if (!(r_.reply_port && r_.reply_port->user)) {
    const char* srp = r_.use_special_reply_port ? "SRP" : "";
    if (wt.empty())
      p_("\t__MachMsgErrorWithoutTimeout{}(msg_result);", srp);
    else
      p_("\t__MachMsgErrorWithTimeout{}(msg_result);", srp);
  }
  p_("\treturn msg_result;");
  p_("}}");
  p_.blank();

  std::string extra;
  for (int i = 1; i <= last_pos(r_.reply); ++i) extra += fmt::format(", &Out{}P", i);
  p_("check_result = __MIG_check__Reply__{0}_t((__Reply__{0}_t *)Out0P{1});", r_.name, extra);
  p_("if (check_result != MACH_MSG_SUCCESS) {{");
  p_("\tmach_msg_destroy(&Out0P->Head);");
  p_("\treturn check_result;");
  p_("}}");
  p_.blank();

  if (r_.user_trailer) {
    p_("TrailerP = (mach_msg_max_trailer_t *)((vm_offset_t)Out0P +");
    p_("\tround_msg(Out0P->Head.msgh_size));");
    p_("if (TrailerP->msgh_trailer_type != MACH_MSG_TRAILER_FORMAT_0 ||");
    p_("    TrailerP->msgh_trailer_size < {}) {{", r_.user_trailer_min);
    p_("\tmach_msg_destroy(&Out0P->Head);");
    p_("\treturn MIG_TRAILER_ERROR;");
    p_("}}");
    p_.blank();
  }
}

void UserRoutine::unpack() {
  const Message& msg = r_.reply;
  for (const auto& f : msg.fields) {
    const Arg* a = f.arg;
    if (!a) continue;
    const Type& t = *a->type;
    std::string src = fmt::format("{}->{}", out_ptr(f.pos), f.name);
    switch (f.role) {
      case Role::Kpd:
        if (f.kpd == KpdKind::Port && !f.dim) {
          p_("{} = Out0P->{}.name;", val(a), f.name);
        } else if (f.kpd == KpdKind::Port) {
          std::string n = std::to_string(f.kpd_count);
          if (t.variable) {
            const Field* cf = count_field(msg, a);
            n = fmt::format("{}->{}", out_ptr(cf->pos), cf->name);
          }
          std::string elem = t.kind == Type::Kind::Struct
                                 ? fmt::format("((mach_port_t *){})[i]", a->name)
                                 : a->name + "[i]";
          p_("{{");
          p_("\tconst mach_msg_port_descriptor_t *ptr = &Out0P->{}[0];", f.name);
          p_("\tunsigned int i;");
          p_("\tfor (i = 0; i < {}; ptr++, i++)", n);
          p_("\t\t{} = ptr->name;", elem);
          p_("}}");
        } else {
          p_("{} = ({})(Out0P->{}.address);", val(a), t.user_type(), f.name);
        }
        if (a->poly && a->poly->user) {
          p_("{} = Out0P->{}{}.disposition;", val(a->poly), f.name, f.dim ? "[0]" : "");
        }
        p_.blank();
        break;
      case Role::Count: {
        const Arg* parent = a->parent;
        if (parent->type->kind == Type::Kind::String) break;
        if (parent->type->kpd() == KpdKind::None) break;  // with the data
        p_("{} = {};", val(a), src);
        p_.blank();
        break;
      }
      case Role::Data:
        if (t.kind == Type::Kind::String) {
          p_("(void) mig_strncpy({}, {}, {});", a->name, src, t.count);
        } else if (t.kind == Type::Kind::Array && t.variable) {
          const Field* cf = count_field(msg, a);
          std::string cnt = fmt::format("{}->{}", out_ptr(cf->pos), cf->name);
          std::string cap = a->count_in_out ? val(a->count) : std::to_string(t.count);
          unsigned e = t.elem_bytes();
          if (a->owns_count) {
            p_("if ({} > {}) {{", cnt, cap);
            p_("\t(void)memcpy((char *) {}, (const char *) {}, {});", a->name, src,
               elems_to_bytes(e, cap));
            p_("\t{} = {};", val(a->count), cnt);
            p_("\treturn MIG_ARRAY_TOO_LARGE;");
            p_("}}");
          }
          p_("if ({} != 0) {{", cnt);  // the caller's array may be null when it asked for none
          p_("\t(void)memcpy((char *) {}, (const char *) {}, {});", a->name, src,
             elems_to_bytes(e, cnt));
          p_("}}");
          if (a->owns_count) p_("{} = {};", val(a->count), cnt);
        } else if (t.kind == Type::Kind::Array || f.dim) {
          p_("(void)memcpy((char *) {}, (const char *) {}, {});", a->name, src,
             t.value_bytes());
        } else {
          p_("{} = {};", val(a), src);
        }
        p_.blank();
        break;
      default: break;
    }
  }
  for (const auto& ap : r_.args) {
    const Arg* a = ap.get();
    if (!a->user) continue;
    if (a->kind == ArgKind::UserAuditToken || a->kind == ArgKind::ServerAuditToken)
      p_("{} = TrailerP->msgh_audit;", val(a));
    else if (a->kind == ArgKind::UserSecToken || a->kind == ArgKind::ServerSecToken)
      p_("{} = TrailerP->msgh_sender;", val(a));
  }
}

void UserRoutine::stub() {
  p_("/* {} {} */", routine_kind(r_), r_.name);
  p_("mig_external kern_return_t {}{}", m_.user_prefix, r_.name);
  {
    std::vector<std::string> decls;
    for (Arg* a : r_.user_args()) decls.push_back(a->user_decl());
    p_("(");
    for (size_t i = 0; i < decls.size(); ++i)
      p_("\t{}{}", decls[i], i + 1 < decls.size() ? "," : "");
    p_(")");
  }
  p_("{{");
  {
    Printer::Indent in(p_);
    locals();
    send_error_instead();
    pack_body();
    header();
    send();
    if (!r_.simple) {
      unpack();
      p_("return KERN_SUCCESS;");
    }
  }
  p_("}}");
  p_.blank();
}

// The reply port after a failed mach_msg: a send that never left keeps the
// port for the next call; anything else (the reply may still come) gets a
// fresh one. One-line macros keep the generated file easy to scan.
void print_error_macros(Printer& p, bool srp) {
  for (int timeout = 1; timeout >= 0; --timeout) {
    std::string name = std::string(timeout ? "__MachMsgErrorWithTimeout"
                                           : "__MachMsgErrorWithoutTimeout") +
                       (srp ? "SRP" : "");
    std::string put = srp ? "if (!__MigCanUseSpecialReplyPort) "
                            "mig_put_reply_port(InP->Head.msgh_local_port);"
                          : "mig_put_reply_port(InP->Head.msgh_local_port);";
    std::string dealloc =
        srp ? "if (__MigCanUseSpecialReplyPort) "
              "mig_dealloc_special_reply_port(InP->Head.msgh_local_port); "
              "else mig_dealloc_reply_port(InP->Head.msgh_local_port);"
            : "mig_dealloc_reply_port(InP->Head.msgh_local_port);";
    p("#ifndef\t{}", name);
    p.line("#define\t" + name +
           "(_R_) { switch (_R_) { case MACH_SEND_INVALID_DATA: "
           "case MACH_SEND_INVALID_DEST: case MACH_SEND_INVALID_HEADER: " +
           put + " break; default: " + dealloc + " } }");
    p("#endif\t/* {} */", name);
    p.blank();
  }
}

}  // namespace

std::string emit_user(const EmitContext& cx) {
  const Module& m = cx.m;
  Printer p;
  p.raw(generated_banner(cx, "User stubs"));
  p.blank();
  p("#define\t__MIG_check__Reply__{}_subsystem__ 1", m.subsystem);
  p.blank();
  p("#include \"{}\"", cx.header_name);
  p("#include <mach/mig.h>");
  // mach_port_deallocate and mach_task_self, for the ConsumeOnSendError
  // blocks (Apple's MIG includes it on the same condition).
  if (m.has_consume_on_send_error) p("#include <mach/mach.h>");
  p.blank();
  print_mig_defaults(p);
  p("#ifdef __cplusplus");
  p("extern \"C\" {{");
  p("#endif /* __cplusplus */");
  p("extern void mach_msg_destroy(mach_msg_header_t *);");
  p("#ifdef __cplusplus");
  p("}}");
  p("#endif /* __cplusplus */");
  p.blank();
  if (m.has_use_special_reply_port) {
    p("#ifndef __MigCanUseSpecialReplyPort");
    p("#define __MigCanUseSpecialReplyPort 0");
    p("#define mig_get_special_reply_port() MACH_PORT_NULL");
    p("#define mig_dealloc_special_reply_port(port) ((void)(port))");
    p("#endif /* __MigCanUseSpecialReplyPort */");
    p("#ifndef __MigSpecialReplyPortMsgOption");
    p("#define __MigSpecialReplyPortMsgOption MACH_MSG_OPTION_NONE");
    p("#endif /* __MigSpecialReplyPortMsgOption */");
    p.blank();
  }
  print_error_macros(p, false);
  if (m.has_use_special_reply_port) print_error_macros(p, true);
  if (!m.rcsid.empty()) {
    p("static const char {}_user_rcsid[] __attribute__((unused)) = \"{}\";", m.subsystem,
      m.rcsid);
    p.blank();
  }
  // The stubs get C linkage from their prototypes in the header.
  for (const auto& r : m.routines) {
    UserRoutine u(m, *r, p);
    if (!r->simple) u.check_reply();
    u.stub();
  }
  return p.str();
}

}  // namespace mig
