#include "sema.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "cxx_keywords.h"
#include "parser.h"

namespace mig {
namespace {

using K = Type::Kind;

bool is_port_name(int n) { return n == kPolymorphic || (n >= 16 && n <= 26); }

std::string flag_name(ast::Flag f) {
  switch (f) {
    case ast::Flag::Dealloc: return "dealloc";
    case ast::Flag::DeallocMaybe: return "dealloc[]";
    case ast::Flag::NotDealloc: return "notdealloc";
    case ast::Flag::ServerCopy: return "servercopy";
    case ast::Flag::CountInOut: return "countinout";
    case ast::Flag::SameCount: return "samecount";
    case ast::Flag::Const: return "const";
    case ast::Flag::PhysicalCopy: return "physicalcopy";
    case ast::Flag::RetCode: return "retcode";
    case ast::Flag::Overwrite: return "overwrite";
    case ast::Flag::Auto: return "auto";
    case ast::Flag::IsLong: return "islong";
    case ast::Flag::IsNotLong: return "isnotlong";
  }
  return "?";
}

TypeRef builtin_scalar(const std::string& name, int msgtype) {
  auto t = std::make_shared<Type>();
  t->kind = K::Scalar;
  t->name = name;
  t->in_name = t->out_name = msgtype;
  t->bits = 32;
  return t;
}

class Sema {
 public:
  explicit Sema(Diagnostics& d) : diag_(d) {
    count_type_ = builtin_scalar("mach_msg_type_number_t", 2);
    poly_type_ = builtin_scalar("mach_msg_type_name_t", 2);
    bool_type_ = builtin_scalar("boolean_t", 0);
  }

  std::unique_ptr<Module> run(const ast::File& f) {
    m_ = std::make_unique<Module>();
    for (const auto& s : f.statements) statement(s);
    if (!have_subsystem_ && !warned_no_subsystem_)  // one message for one problem
      diag_.fatal("no subsystem statement (subsystem <name> <base>;)");
    if (m_->routine_count > 100)
      diag_.warning(m_->subsystem_loc,
                    "subsystem '" + m_->subsystem + "' has " +
                        std::to_string(m_->routine_count) +
                        " routine ids: request ids overlap reply ids "
                        "(request id + 100)");
    if (diag_.errors()) return nullptr;
    return std::move(m_);
  }

 private:
  // ---- statements ------------------------------------------------------
  void statement(const ast::Statement& s) {
    using SK = ast::Statement::Kind;
    switch (s.kind) {
      case SK::Subsystem:
        if (have_subsystem_) {
          diag_.error(s.loc, "subsystem already declared as '" +
                                 m_->subsystem + "'");
          return;
        }
        // (Routines before it were reported already.)
        have_subsystem_ = true;
        m_->subsystem = s.name;
        m_->subsystem_loc = s.loc;
        m_->base = static_cast<unsigned>(s.number);
        return;
      case SK::Routine: routine(s.routine); return;
      case SK::Skip:
        need_subsystem(s.loc);
        ++m_->routine_count;
        return;
      case SK::Type: declare(s.type); return;
      case SK::Import: m_->imports.push_back({s.import_kind, s.file}); return;
      case SK::UserPrefix:
        if (!m_->user_prefix.empty())
          diag_.warning(s.loc, "userprefix given twice; the last one wins");
        m_->user_prefix = s.name;
        return;
      case SK::ServerPrefix:
        if (!m_->server_prefix.empty())
          diag_.warning(s.loc, "serverprefix given twice; the last one wins");
        m_->server_prefix = s.name;
        return;
      case SK::ServerDemux: m_->server_demux = s.name; return;
      case SK::RcsId: m_->rcsid = s.text; return;
      // In force for the routines that follow (Apple's MIG).
      case SK::WaitTime: wait_time_ = s.text; return;
      case SK::NoWaitTime: wait_time_.clear(); return;
      case SK::SendTime: send_time_ = s.text; return;
      case SK::NoSendTime: send_time_.clear(); return;
      case SK::MsgOption: msg_option_ = s.text; return;
      case SK::UseSpecialReplyPort:
        m_->use_special_reply_port = s.number != 0;
        return;
      case SK::ConsumeOnSendError:
        if (s.name != "None" && s.name != "Timeout" && s.name != "Any") {
          diag_.error(s.loc, "expected None, Timeout or Any, found '" +
                                 s.name + "'");
          return;
        }
        m_->consume_on_send_error = s.name;
        return;
      case SK::UserTypeLimit:
      case SK::OnStackLimit: return;  // sizes of stack buffers: accepted
    }
  }

  void need_subsystem(const SourceLoc& loc) {
    if (!have_subsystem_ && !warned_no_subsystem_) {
      diag_.error(loc, "expected a subsystem statement (subsystem <name> "
                       "<base>;) before the first routine");
      warned_no_subsystem_ = true;
    }
  }

  // ---- types -------------------------------------------------------------
  // Returns nullptr after reporting an error.
  TypeRef build(const ast::TypeSpec& ts) {
    using TK = ast::TypeSpec::Kind;
    switch (ts.kind) {
      case TK::Named: {
        auto it = types_.find(ts.name);
        if (it == types_.end()) {
          diag_.error(ts.loc, "unknown type '" + ts.name + "'" + suggest(ts.name));
          types_[ts.name] = nullptr;  // report once
          return nullptr;
        }
        return it->second;  // nullptr if its declaration failed
      }
      case TK::Basic: return basic(ts);
      case TK::Array:
      case TK::VarArray:
      case TK::Struct: {
        TypeRef e = build(*ts.element);
        if (!e) return nullptr;
        if (!inline_fixed(*e, ts.element->loc)) return nullptr;
        auto t = std::make_shared<Type>();
        t->loc = ts.loc;
        t->elem = e;
        if (ts.kind == TK::Struct) {
          t->kind = K::Struct;
          t->count = static_cast<unsigned>(ts.count);
        } else {
          t->kind = K::Array;
          if (ts.kind == TK::Array) {
            t->count = static_cast<unsigned>(ts.count);
          } else {
            t->variable = true;
            t->count = ts.bounded ? static_cast<unsigned>(ts.count) : 0;
            t->ool = !ts.bounded;  // array[] / array[*]: out of line
          }
        }
        if ((ts.kind != TK::VarArray || ts.bounded) && t->count == 0) {
          diag_.error(ts.loc, "array size must be greater than zero");
          return nullptr;
        }
        if (t->count > (1u << 24)) {
          diag_.error(ts.loc, "array size " + std::to_string(t->count) +
                                  " is too large");
          return nullptr;
        }
        return t;
      }
      case TK::Pointer: {
        TypeRef e = build(*ts.element);
        if (!e) return nullptr;
        auto t = std::make_shared<Type>();
        t->loc = ts.loc;
        if (e->kind == K::Array) {
          *t = *e;
          t->name.clear();
          t->ctype.clear();
          t->cusertype.clear();
          t->cservertype.clear();
          t->ool = true;
        } else {
          if (!inline_fixed(*e, ts.element->loc)) return nullptr;
          t->kind = K::Array;
          t->elem = e;
          t->count = 1;
          t->ool = true;
        }
        t->loc = ts.loc;
        return t;
      }
      case TK::CString: {
        auto t = std::make_shared<Type>();
        t->kind = K::String;
        t->loc = ts.loc;
        t->count = static_cast<unsigned>(ts.count);
        t->variable = ts.bounded;
        if (t->count == 0) {
          diag_.error(ts.loc, "c_string size must be greater than zero");
          return nullptr;
        }
        return t;
      }
    }
    return nullptr;
  }

  // "; did you mean 'x'?" for a known type a short edit away.
  std::string suggest(const std::string& name) const {
    std::string best;
    size_t best_d = 3;
    for (const auto& [n, t] : types_) {
      if (!t) continue;
      size_t d = edit_distance(name, n);
      if (d < best_d) {
        best_d = d;
        best = n;
      }
    }
    return best.empty() ? "" : "; did you mean '" + best + "'?";
  }
  static size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                           prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  }

  bool inline_fixed(const Type& e, const SourceLoc& loc) {
    if ((e.kind == K::Array && (e.ool || e.variable)) ||
        (e.kind == K::String && e.variable)) {
      diag_.error(loc, "element type must have a fixed size and travel "
                       "in line (arrays of variable-sized or out-of-line "
                       "types are not supported)");
      return false;
    }
    return true;
  }

  TypeRef basic(const ast::TypeSpec& ts) {
    auto t = std::make_shared<Type>();
    t->loc = ts.loc;
    int in = ts.in_name.number;
    int out = ts.out_name.out_number;
    unsigned bits = ts.in_name.bits ? ts.in_name.bits : ts.out_name.bits;
    if (ts.in_name.loc.line != ts.out_name.loc.line ||
        ts.in_name.loc.column != ts.out_name.loc.column) {
      // "A | B": sizes must agree unless one is polymorphic.
      if (ts.in_name.bits && ts.out_name.bits &&
          ts.in_name.bits != ts.out_name.bits &&
          ts.in_name.number != kPolymorphic &&
          ts.out_name.number != kPolymorphic) {
        diag_.error(ts.out_name.loc, "sizes of '" + ts.in_name.spelling +
                                         "' and '" + ts.out_name.spelling +
                                         "' differ");
        return nullptr;
      }
    }
    if (ts.has_size) bits = ts.size_bits;
    bool pin = is_port_name(in), pout = is_port_name(out);
    if (pin != pout && in != kPolymorphic && out != kPolymorphic) {
      diag_.error(ts.loc, "'" + ts.in_name.spelling + "' and '" +
                              ts.out_name.spelling +
                              "' mix a port right with plain data");
      return nullptr;
    }
    t->kind = (pin || pout) ? K::Port : K::Scalar;
    t->in_name = in;
    t->out_name = out;
    if (t->kind == K::Port) {
      if (ts.has_size) {  // Apple's MIG rejects every long form
        diag_.error(ts.loc, "a port type cannot be declared in the long form "
                            "(" + ts.in_name.spelling + ", <bits>); write " +
                            ts.in_name.spelling);
        return nullptr;
      }
      bits = 32;
    }
    if (bits == 0) {
      diag_.error(ts.loc, "the size of '" + ts.in_name.spelling +
                              "' is unknown; write (" + ts.in_name.spelling +
                              ", <bits>)");
      return nullptr;
    }
    if (bits % 8) {
      diag_.error(ts.loc, "sizes that are not a multiple of 8 bits are not "
                          "supported (" + std::to_string(bits) + " bits)");
      return nullptr;
    }
    t->bits = bits;
    for (const auto& f : ts.flags) {
      switch (f.flag) {
        case ast::Flag::Dealloc: t->dealloc = Type::Dealloc::Yes; break;
        case ast::Flag::NotDealloc: t->dealloc = Type::Dealloc::No; break;
        case ast::Flag::DeallocMaybe: t->dealloc = Type::Dealloc::Maybe; break;
        case ast::Flag::IsLong:
        case ast::Flag::IsNotLong: break;
        default:
          diag_.error(f.loc, "flag '" + flag_name(f.flag) +
                                 "' is not valid in a type declaration");
      }
    }
    return t;
  }

  void apply_attrs(Type& t, const ast::TypeAttrs& a) {
    if (a.ctype) t.ctype = *a.ctype;
    if (a.cusertype) t.cusertype = *a.cusertype;
    if (a.cservertype) t.cservertype = *a.cservertype;
    if (a.intran) {
      t.intran = a.intran->func;
      t.intran_type = a.intran->result_type;
      t.intran_arg = a.intran->arg_type;
      if (t.intran_arg != t.server_type())
        diag_.warning(a.intran->loc,
                      "intran function takes '" + t.intran_arg +
                          "' but the message carries '" + t.server_type() +
                          "'");
    }
    if (a.outtran) {
      t.outtran = a.outtran->func;
      t.outtran_type = a.outtran->result_type;
      t.outtran_arg = a.outtran->arg_type;
    }
    if (a.destructor) t.destructor = a.destructor->func;
  }

  TypeRef make_named(const TypeRef& base, const std::string& name,
                     const SourceLoc& loc, const ast::TypeAttrs& attrs) {
    auto t = std::make_shared<Type>(*base);
    t->name = name;
    t->loc = loc;
    // C names and translations belong to the declaration, not the base.
    t->ctype.clear();
    t->cusertype.clear();
    t->cservertype.clear();
    t->intran.clear();
    t->intran_type.clear();
    t->intran_arg.clear();
    t->outtran.clear();
    t->outtran_type.clear();
    t->outtran_arg.clear();
    t->destructor.clear();
    apply_attrs(*t, attrs);
    return t;
  }

  // Do two types travel the same way and have the same C names?
  static bool same_wire(const Type& a, const Type& b) {
    if (a.kind != b.kind || a.in_name != b.in_name || a.out_name != b.out_name ||
        a.bits != b.bits || a.count != b.count || a.variable != b.variable ||
        a.ool != b.ool || a.user_type() != b.user_type() ||
        a.server_type() != b.server_type())
      return false;
    if (!a.elem || !b.elem) return a.elem == b.elem;
    return same_wire(*a.elem, *b.elem);
  }

  // A type statement: the name means the new type from here on.
  TypeRef declare(const ast::TypeDecl& d) {
    TypeRef base = d.spec ? build(*d.spec) : nullptr;
    if (!base) {
      types_[d.name] = nullptr;
      return nullptr;
    }
    TypeRef t = make_named(base, d.name, d.loc, d.attrs);
    auto it = types_.find(d.name);
    if (it != types_.end() && it->second && !same_wire(*it->second, *t)) {
      diag_.warning(d.loc, "type '" + d.name + "' redefined differently");
      if (it->second->loc.valid())
        diag_.note(it->second->loc, "previous definition is here");
    }
    types_[d.name] = t;
    return t;
  }

  // "arg : name = spec" in an argument list: a type of that name for this
  // argument only (Apple's itTypeDecl without itInsert). The file's 'name'
  // keeps its meaning for every later argument and routine.
  TypeRef declare_in_arg(const ast::TypeDecl& d) {
    TypeRef base = build(*d.spec);
    if (!base) return nullptr;
    return make_named(base, d.name, d.loc, d.attrs);
  }

  // ---- routines --------------------------------------------------------
  void routine(const ast::RoutineDecl& rd) {
    need_subsystem(rd.loc);
    auto r = std::make_unique<Routine>();
    r->name = rd.name;
    r->loc = rd.loc;
    r->simple = rd.simple;
    r->number = m_->routine_count++;
    r->default_wait_time = wait_time_;
    r->default_send_time = send_time_;
    r->default_msg_option = msg_option_;
    if (!routine_names_.insert(rd.name).second) {
      diag_.error(rd.loc, "routine '" + rd.name + "' already declared");
      return;
    }
    if (rd.broken) return;  // its syntax error is reported: no guesses
    int errors_before = diag_.errors();

    std::vector<std::unique_ptr<Arg>> mains;
    std::set<std::string> names;
    bool incomplete = false;
    for (size_t i = 0; i < rd.args.size(); ++i) {
      const ast::ArgDecl& ad = rd.args[i];
      TypeRef t;
      if (ad.named_decl) {
        t = declare_in_arg(*ad.named_decl);
      } else if (ad.anon_spec) {
        TypeRef b = build(*ad.anon_spec);
        if (b) {
          if (ad.anon_attrs.ctype || ad.anon_attrs.cusertype ||
              ad.anon_attrs.cservertype || ad.anon_attrs.intran ||
              ad.anon_attrs.outtran || ad.anon_attrs.destructor) {
            auto c = std::make_shared<Type>(*b);
            apply_attrs(*c, ad.anon_attrs);
            b = c;
          }
        }
        t = b;
      } else {
        auto it = types_.find(ad.type_name);
        if (it == types_.end()) {
          diag_.error(ad.type_loc,
                      "unknown type '" + ad.type_name + "'" + suggest(ad.type_name));
          types_[ad.type_name] = nullptr;
        } else {
          t = it->second;
        }
      }
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
    if (incomplete || diag_.errors() != errors_before) return;

    for (auto& a : mains) roles(*r, *a);
    if (diag_.errors() != errors_before) return;
    if (!r->request_port) {
      diag_.error(rd.loc, "routine '" + rd.name + "' has no request port "
                          "(its first argument, or one marked RequestPort)");
      return;
    }

    // Implicit arguments, right after their parent.
    std::vector<Arg*> with_count;  // for samecount
    for (auto& up : mains) {
      Arg* a = up.get();
      r->args.push_back(std::move(up));
      implicit_args(*r, *a, with_count);
    }
    retcode(*r);
    if (diag_.errors() != errors_before) return;

    trailer(*r);
    compute_layout(*r);
    m_->routines.push_back(std::move(r));
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

  void apply_flag(Arg& a, const ast::FlagUse& f) {
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

  void roles(Routine& r, Arg& a) {
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

  void implicit_args(Routine& r, Arg& a, std::vector<Arg*>& with_count) {
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
  void retcode(Routine& r) {
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

  Diagnostics& diag_;
  std::unique_ptr<Module> m_;
  std::map<std::string, TypeRef> types_;
  std::set<std::string> routine_names_;
  bool have_subsystem_ = false;
  std::string wait_time_, send_time_;  // waittime / sendtime statements
  std::string msg_option_ = "MACH_MSG_OPTION_NONE";
  bool warned_no_subsystem_ = false;
  TypeRef count_type_, poly_type_, bool_type_;
};

}  // namespace

std::unique_ptr<Module> analyze(const ast::File& file, Diagnostics& diag) {
  Sema s(diag);
  return s.run(file);
}

}  // namespace mig
