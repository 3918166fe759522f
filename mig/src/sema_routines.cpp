// Routines and their arguments (see sema_routines.h).
#include "sema_routines.h"

#include <set>

#include "cxx_keywords.h"
#include "parser.h"
#include "sema.h"

namespace mig {
namespace {

using K = Type::Kind;

TypeRef builtin_scalar(const std::string& name, int msgtype) {
  auto t = std::make_shared<Type>();
  t->kind = K::Scalar;
  t->name = name;
  t->in_name = t->out_name = msgtype;
  t->bits = 32;
  return t;
}

ArgKind arg_kind(const ast::ArgDecl& ad, bool first) {
  using D = ast::ArgDir;
  switch (ad.dir) {
    case D::None: return first ? ArgKind::RequestPort : ArgKind::In;
    case D::In: return ArgKind::In;
    case D::Out: return ArgKind::Out;
    case D::InOut: return ArgKind::InOut;
    case D::RequestPort: return ArgKind::RequestPort;
    case D::ReplyPort:
    case D::SReplyPort:
    case D::UReplyPort: return ArgKind::ReplyPort;
    case D::WaitTime: return ArgKind::WaitTime;
    case D::SendTime: return ArgKind::SendTime;
    case D::MsgOption: return ArgKind::MsgOption;
    case D::MsgSeqno: return ArgKind::MsgSeqno;
    case D::SecToken:
    case D::ServerSecToken: return ArgKind::ServerSecToken;
    case D::UserSecToken: return ArgKind::UserSecToken;
    case D::AuditToken:
    case D::ServerAuditToken: return ArgKind::ServerAuditToken;
    case D::UserAuditToken: return ArgKind::UserAuditToken;
    case D::ServerContextToken: return ArgKind::ServerContextToken;
  }
  return ArgKind::In;
}

Arg* add_implicit(Routine& r, Arg& parent, ArgKind kind,
                  const std::string& suffix, TypeRef type) {
  auto a = std::make_unique<Arg>();
  a->defs_name = parent.defs_name + suffix;
  a->name = a->defs_name;
  a->kind = kind;
  a->type = std::move(type);
  a->loc = parent.loc;
  a->parent = &parent;
  Arg* p = a.get();
  r.args.push_back(std::move(a));
  return p;
}

// The trailer elements each side receives with the message it reads.
void trailer(Routine& r) {
  for (const auto& a : r.args) {
    unsigned need = 0;
    std::string elem;
    switch (a->kind) {
      case ArgKind::MsgSeqno: need = 12; elem = "MACH_RCV_TRAILER_SEQNO"; break;
      case ArgKind::ServerSecToken: need = 20; elem = "MACH_RCV_TRAILER_SENDER"; break;
      case ArgKind::ServerAuditToken: need = 52; elem = "MACH_RCV_TRAILER_AUDIT"; break;
      case ArgKind::ServerContextToken: need = 60; elem = "MACH_RCV_TRAILER_CTX"; break;
      case ArgKind::UserSecToken: need = 20; elem = "MACH_RCV_TRAILER_SENDER"; break;
      case ArgKind::UserAuditToken: need = 52; elem = "MACH_RCV_TRAILER_AUDIT"; break;
      default: continue;
    }
    if (a->user) {
      r.user_trailer = true;
      if (need > r.user_trailer_min) {
        r.user_trailer_min = need;
        r.user_trailer_elements = elem;
      }
    }
    if (a->server) {
      r.server_trailer = true;
      if (need > r.server_trailer_min) {
        r.server_trailer_min = need;
        r.server_trailer_elements = elem;
      }
    }
  }
}

}  // namespace

RoutineBuilder::RoutineBuilder(Diagnostics& d, TypeTable& types)
    : diag_(d), types_(types) {
  count_type_ = builtin_scalar("mach_msg_type_number_t", 2);
  poly_type_ = builtin_scalar("mach_msg_type_name_t", 2);
  bool_type_ = builtin_scalar("boolean_t", 0);
}

std::unique_ptr<Routine> RoutineBuilder::build(const ast::RoutineDecl& rd,
                                               unsigned number,
                                               const RoutineDefaults& defaults) {
  auto r = std::make_unique<Routine>();
  r->name = rd.name;
  r->loc = rd.loc;
  r->simple = rd.simple;
  r->number = number;
  r->default_wait_time = defaults.wait_time;
  r->default_send_time = defaults.send_time;
  r->default_msg_option = defaults.msg_option;
  r->consume_on_send_error = defaults.consume_on_send_error;
  int errors_before = diag_.errors();

  std::vector<std::unique_ptr<Arg>> mains;
  std::set<std::string> names;
  bool incomplete = false;
  for (size_t i = 0; i < rd.args.size(); ++i) {
    const ast::ArgDecl& ad = rd.args[i];
    TypeRef t = types_.of_argument(ad);
    if (!names.insert(ad.name).second) {
      diag_.error(ad.loc, "argument '" + ad.name + "' already declared in "
                          "routine '" + rd.name + "'");
      continue;
    }
    if (!t) {  // reported where the type was declared or used
      incomplete = true;
      continue;
    }
    auto a = std::make_unique<Arg>();
    a->defs_name = ad.name;
    a->name = is_cxx_keyword(ad.name) ? ad.name + "_" : ad.name;
    a->loc = ad.loc;
    a->type = t;
    a->kind = arg_kind(ad, i == 0);
    a->dir = ad.dir;
    a->dealloc = t->dealloc;
    for (const auto& f : ad.flags) apply_flag(*a, f);
    mains.push_back(std::move(a));
  }
  if (incomplete || diag_.errors() != errors_before) return nullptr;

  for (auto& a : mains) roles(*r, *a);
  if (diag_.errors() != errors_before) return nullptr;
  if (!r->request_port) {
    diag_.error(rd.loc, "routine '" + rd.name + "' has no request port "
                        "(its first argument, or one marked RequestPort)");
    return nullptr;
  }
  // Apple's MIG warns too: a request given back by a timed-out send keeps
  // the rights and memory the kernel moved, and only the stub can free them.
  if (r->has_send_timeout() && r->consume_on_send_error == "None")
    diag_.warning(rd.loc, std::string(r->simple ? "simpleroutine" : "routine") +
                              " '" + rd.name + "' has a send time-out but "
                              "ConsumeOnSendError is None: a request whose "
                              "send times out may leak its rights and memory "
                              "(write \"ConsumeOnSendError Timeout\" before it)");
  // A reply port the caller gives may not be the special one.
  r->use_special_reply_port = defaults.use_special_reply_port && !r->simple &&
                              !(r->reply_port && r->reply_port->user);

  // Implicit arguments, right after their parent.
  std::vector<Arg*> with_count;  // for samecount
  for (auto& up : mains) {
    Arg* a = up.get();
    r->args.push_back(std::move(up));
    implicit_args(*r, *a, with_count);
  }
  retcode(*r);
  if (diag_.errors() != errors_before) return nullptr;

  trailer(*r);
  compute_layout(*r);
  return r;
}

void RoutineBuilder::apply_flag(Arg& a, const ast::FlagUse& f) {
  using F = ast::Flag;
  switch (f.flag) {
    case F::Dealloc: a.dealloc = Type::Dealloc::Yes; break;
    case F::NotDealloc: a.dealloc = Type::Dealloc::No; break;
    case F::DeallocMaybe: a.dealloc = Type::Dealloc::Maybe; break;
    case F::ServerCopy: a.server_copy_flag = true; break;
    case F::CountInOut: a.count_in_out = true; break;
    case F::SameCount: a.same_count = true; break;
    case F::Const: a.is_const = true; break;
    case F::PhysicalCopy: a.physical_copy = true; break;
    case F::RetCode: a.retcode_flag = f.loc; break;  // see retcode()
    case F::Overwrite:  // warned about below
    case F::Auto:
    case F::IsLong:
    case F::IsNotLong: break;
  }
  const Type& t = *a.type;
  bool ool = t.kind == K::Array && t.ool;
  if ((f.flag == F::Dealloc || f.flag == F::NotDealloc ||
       f.flag == F::DeallocMaybe || f.flag == F::PhysicalCopy ||
       f.flag == F::ServerCopy || f.flag == F::Overwrite) &&
      !ool) {
    if (f.flag == F::DeallocMaybe || f.flag == F::ServerCopy) {
      diag_.error(f.loc, "flag '" + flag_name(f.flag) +
                             "' needs out-of-line data, but argument '" +
                             a.name + "' travels in line");
    } else {
      diag_.warning(f.loc, "flag '" + flag_name(f.flag) +
                               "' has no effect on argument '" + a.name +
                               "' (not out-of-line data)");
    }
  }
  if (f.flag == F::Overwrite && ool)
    diag_.warning(f.loc, "flag 'overwrite' is accepted but the data is "
                         "received into newly allocated memory");
  if ((f.flag == F::CountInOut || f.flag == F::SameCount) && !t.variable) {
    diag_.error(f.loc, "flag '" + flag_name(f.flag) + "' needs a variable-"
                       "sized array, but argument '" + a.name +
                       "' has a fixed size");
  }
  if (f.flag == F::Const && !(t.kind == K::String || (t.kind == K::Array && !t.ool)))
    diag_.warning(f.loc, "flag 'const' only applies to in-line arrays and "
                         "strings; ignored for argument '" + a.name + "'");
}

void RoutineBuilder::roles(Routine& r, Arg& a) {
  const Type& t = *a.type;
  bool decays = t.decays();
  switch (a.kind) {
    case ArgKind::RequestPort:
      if (r.request_port) {
        diag_.error(a.loc, "routine '" + r.name + "' already has a request "
                           "port ('" + r.request_port->name + "')");
        return;
      }
      if (t.kind != K::Port) {
        diag_.error(a.loc, "request port '" + a.name + "' must have a "
                           "port type (e.g. mach_port_t)");
        return;
      }
      r.request_port = &a;
      a.user = a.server = true;
      a.in_request = true;
      break;
    case ArgKind::ReplyPort: {
      if (r.reply_port) {
        diag_.error(a.loc, "routine '" + r.name + "' already has a reply "
                           "port ('" + r.reply_port->name + "')");
        return;
      }
      if (t.kind != K::Port) {
        diag_.error(a.loc, "reply port '" + a.name + "' must have a port "
                           "type");
        return;
      }
      r.reply_port = &a;
      // ReplyPort: both sides name it; UReplyPort: user; SReplyPort: server.
      a.user = a.dir != ast::ArgDir::SReplyPort;
      a.server = a.dir != ast::ArgDir::UReplyPort;
      a.in_request = true;
      break;
    }
    case ArgKind::WaitTime:
      if (r.wait_time || r.send_time) {
        diag_.error(a.loc, "routine '" + r.name + "' already has a time-out "
                           "argument");
        return;
      }
      r.wait_time = &a;
      a.user = true;
      break;
    case ArgKind::SendTime:
      if (r.wait_time || r.send_time) {
        diag_.error(a.loc, "routine '" + r.name + "' already has a time-out "
                           "argument");
        return;
      }
      r.send_time = &a;
      a.user = true;
      break;
    case ArgKind::MsgOption:
      if (r.msg_option) {
        diag_.error(a.loc, "routine '" + r.name + "' already has a MsgOption "
                           "argument");
        return;
      }
      r.msg_option = &a;
      a.user = true;
      break;
    case ArgKind::MsgSeqno:
    case ArgKind::ServerContextToken:
      a.server = true;
      break;
    case ArgKind::ServerSecToken:
    case ArgKind::ServerAuditToken:
      a.server = true;
      // SecToken / AuditToken: both sides, as in Apple's MIG; the user
      // stub reads the token of the reply's trailer.
      if (a.dir != ast::ArgDir::SecToken && a.dir != ast::ArgDir::AuditToken) break;
      [[fallthrough]];
    case ArgKind::UserSecToken:
    case ArgKind::UserAuditToken:
      if (r.simple) {
        diag_.error(a.loc, "simpleroutine '" + r.name + "' has no reply to "
                           "carry a trailer for '" + a.name + "'");
        return;
      }
      a.user = true;
      a.user_ref = true;
      break;
    case ArgKind::In:
      a.user = a.server = true;
      a.in_request = true;
      break;
    case ArgKind::Out:
    case ArgKind::InOut:
      if (r.simple) {
        diag_.error(a.loc, "simpleroutine '" + r.name + "' cannot have "
                           "'out' argument '" + a.name + "'");
        return;
      }
      a.user = a.server = true;
      a.user_ref = a.server_ref = !decays;
      a.in_reply = true;
      a.in_request = a.kind == ArgKind::InOut;
      break;
    default:
      break;
  }
}

void RoutineBuilder::implicit_args(Routine& r, Arg& a,
                                   std::vector<Arg*>& with_count) {
  const Type& t = *a.type;
  bool message_arg = a.kind == ArgKind::In || a.kind == ArgKind::Out ||
                     a.kind == ArgKind::InOut;
  if (message_arg && t.variable) {
    if (t.kind == K::String) {
      // c_string[*:N]: offset and count travel, the caller never sees them.
      a.offset = add_implicit(r, a, ArgKind::Offset, "Offset", count_type_);
      a.count = add_implicit(r, a, ArgKind::Count, "Cnt", count_type_);
      for (Arg* c : {a.offset, a.count}) {
        c->in_request = a.in_request;
        c->in_reply = a.in_reply;
      }
      a.owns_count = true;
    } else if (a.same_count) {
      Arg* prev = nullptr;
      for (auto it = with_count.rbegin(); it != with_count.rend(); ++it) {
        if ((*it)->kind == a.kind) {
          prev = *it;
          break;
        }
      }
      if (!prev) {
        diag_.error(a.loc, "samecount argument '" + a.name + "' has no "
                           "earlier array of the same direction to share "
                           "a count with");
        return;
      }
      if (prev->type->count != t.count)
        diag_.warning(a.loc, "samecount argument '" + a.name + "' and '" +
                                 prev->name + "' have different maximum "
                                 "sizes");
      a.count = prev->count;
      a.owns_count = false;
    } else {
      Arg* c = add_implicit(r, a, ArgKind::Count, "Cnt", count_type_);
      a.count = c;
      a.owns_count = true;
      c->user = a.user;
      c->server = a.server;
      c->in_request = a.in_request;
      c->in_reply = a.in_reply;
      if (a.is_out()) {
        c->user_ref = c->server_ref = true;
        if (a.count_in_out) c->in_request = true;
      }
      with_count.push_back(&a);
    }
    if (a.count_in_out && !a.is_out())
      diag_.warning(a.loc, "countinout has no effect on 'in' argument '" +
                               a.name + "'");
  }

  // Poly: whoever must choose or learn the disposition at run time.
  if (t.has_port_elements() && t.is_polymorphic()) {
    const Type& pb = t.port_base();
    bool in_poly = pb.in_name == kPolymorphic;
    bool out_poly = pb.out_name == kPolymorphic;
    bool user = false, server = false, uref = false, sref = false;
    if (a.kind == ArgKind::RequestPort || a.kind == ArgKind::ReplyPort) {
      user = in_poly && a.user;
    } else if (a.is_in()) {
      user = in_poly;
      server = out_poly;
    } else if (a.is_out()) {
      server = in_poly;
      sref = server;
      user = out_poly;
      uref = user;
    }
    if (user || server) {
      Arg* p = add_implicit(r, a, ArgKind::Poly, "Poly", poly_type_);
      p->user = user;
      p->server = server;
      p->user_ref = uref;
      p->server_ref = sref;
      a.poly = p;
    }
  }

  if (a.dealloc == Type::Dealloc::Maybe && message_arg && t.ool) {
    Arg* d = add_implicit(r, a, ArgKind::Dealloc, "Dealloc", bool_type_);
    if (a.is_in()) {
      d->user = true;
    } else {
      d->server = true;
      d->server_ref = true;
    }
    a.dealloc_arg = d;
  }
  if (a.server_copy_flag && message_arg && t.ool) {
    if (!a.is_in()) {
      diag_.error(a.loc, "servercopy only applies to 'in' arguments");
      return;
    }
    Arg* s = add_implicit(r, a, ArgKind::ServerCopy, "ServerCopy", bool_type_);
    s->server = true;
    a.server_copy = s;
  }
}

// The RetCode flag (Apple's rtProcessRetCodeFlag / rtProcessRetCode): on
// a 32-bit scalar of a simpleroutine whose request is complex, the value
// leaves the request; a non-zero one is sent as a mig_reply_error_t
// instead. A simple request keeps it in its body as any argument.
void RoutineBuilder::retcode(Routine& r) {
  for (const auto& up : r.args) {
    Arg& a = *up;
    if (!a.retcode_flag.valid()) continue;
    const Type& t = *a.type;
    if (t.kind != K::Scalar || t.bits != 32 || !a.is_in()) {
      diag_.warning(a.retcode_flag, "flag 'retcode' ignored: argument '" + a.name +
                                        "' is not a 32-bit in-line value like "
                                        "kern_return_t");
    } else if (!r.simple) {
      diag_.error(a.retcode_flag, "flag 'retcode' is only allowed in a "
                                  "simpleroutine ('" + r.name + "' is a routine)");
    } else if (r.retcode_arg) {
      diag_.warning(a.retcode_flag, "flag 'retcode' ignored: argument '" +
                                        r.retcode_arg->name + "' already carries "
                                        "the return code of '" + r.name + "'");
    } else {
      r.retcode_arg = &a;
    }
  }
  if (!r.retcode_arg) return;
  bool complex = false;
  for (const auto& a : r.args)
    if (!a->parent && a->in_request && a->is_in() && a->type->kpd() != KpdKind::None)
      complex = true;
  if (complex)
    r.retcode_arg->in_request = false;
  else
    r.retcode_arg = nullptr;
}

}  // namespace mig
