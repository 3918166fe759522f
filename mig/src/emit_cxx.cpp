// The typed C++ face (-cxx): a header with, for the subsystem,
//
//   namespace mig::<subsystem> {
//     class Client  — one method per routine over the C user stubs:
//                     std::span in, mig::Result<T> out, owners for rights
//                     and out-of-line memory;
//     class Server  — one pure virtual method per routine taking owners,
//                     and dispatch(in, out), built from the same request
//                     checks and unpacking as the C server stubs.
//   }
//
// The server side's contract: every right and region a request carries is
// handed to an owner (mig::SendRight, mig::OolBuffer, ...) before the
// handler runs, so whatever the handler returns nothing leaks; a failed
// request is marked non-complex so that a receive loop that destroys it
// (mach_msg_server) frees nothing twice.
#include <fmt/format.h>

#include <map>

#include "emit.h"
#include "cxx_keywords.h"
#include "emit_common.h"
#include "emit_cxx.h"
#include "parser.h"

namespace mig {

namespace cxx {

Cat category(const Type& t) {
  switch (t.kind) {
    case Type::Kind::Scalar: return Cat::Scalar;
    case Type::Kind::Port: return Cat::Port;
    case Type::Kind::String: return Cat::String;
    case Type::Kind::Struct:
      if (t.has_port_elements()) return Cat::PortArray;
      return t.decays() ? Cat::FixedArray : Cat::Struct;
    case Type::Kind::Array:
      if (t.ool) return t.has_port_elements() ? Cat::OolPorts : Cat::Ool;
      if (t.has_port_elements()) return Cat::PortArray;
      return t.variable ? Cat::VarArray : Cat::FixedArray;
  }
  return Cat::Scalar;
}

// The owner of a right the receiver holds (by the receiver's type name).
std::string received_right(int out_name) {
  switch (out_name) {
    case 16: return "mig::ReceiveRight";
    case 17: return "mig::SendRight";
    case 18: return "mig::SendOnceRight";
    case kPolymorphic: return "mig::AnyRight";
    default: return "";
  }
}

// The owner a sender gives away (MOVE_* dispositions only).
std::string moved_right(int in_name) {
  switch (in_name) {
    case 16: return "mig::ReceiveRight";
    case 17: return "mig::SendRight";
    case 18: return "mig::SendOnceRight";
    default: return "";
  }
}

// The C++ element type of an array argument. The C type of the array (a
// pointer or array typedef) decides, so element types the C headers name
// differently from the .defs (or do not name at all) still work.
std::string elem_type(const Type& t, bool server, Aliases& al) {
  if (t.kind == Type::Kind::String) return "char";
  const Type& e = t.elem ? *t.elem : t;
  if (e.has_port_elements()) return "mach_port_t";
  std::string whole = server ? t.trans_type() : t.user_type();
  std::string def = fmt::format("mig::detail::elem_t<{}, {}>", whole, t.elem_bytes());
  bool ident = !whole.empty() && whole.find_first_of(" *") == std::string::npos;
  if (!ident) return def;
  std::string base = whole;
  if (base.size() > 2 && base.compare(base.size() - 2, 2, "_t") == 0)
    base.resize(base.size() - 2);
  std::string alias = base + "_elem_t";
  auto [it, fresh] = al.defs.emplace(alias, def);
  if (!fresh && it->second != def) return def;  // a clash: spell it out
  return alias;
}

unsigned elem_count(const Type& t) {
  if (t.kind == Type::Kind::Array || t.kind == Type::Kind::String) return t.count;
  if (t.kind == Type::Kind::Struct) return t.has_port_elements() ? t.kpd_count() : t.count;
  return 1;
}

// Routine names that are C++ keywords (launchd's bootstrap has "register")
// or members of Client/Server get a trailing underscore as method names.
std::string cxx_name(const std::string& n) {
  if (is_cxx_keyword(n) || n == "dispatch" || n == "port") return n + "_";
  return n;
}

std::string fresh_local(const Routine& r, std::string base) {
  for (;;) {
    bool taken = false;
    for (const auto& a : r.args) taken |= a->name == base;
    if (!taken) return base;
    base += "_";
  }
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace cxx

namespace {

using namespace cxx;

struct Member {
  std::string type, name;
};

// ------------------------------------------------------------ client ----

class ClientMethod {
 public:
  ClientMethod(const Module& m, const Routine& r, Aliases& al)
      : m_(m), r_(r), al_(al), kr_(fresh_local(r, "kr")) {}

  void build() {
    for (const auto& up : r_.args) {
      const Arg* a = up.get();
      if (!a->user || a->parent) continue;
      main_arg(a);
    }
  }

  std::string result_type() const {
    if (outs_.empty()) return "mig::Result<void>";
    if (outs_.size() == 1) return "mig::Result<" + outs_[0].type + ">";
    return "mig::Result<" + r_.name + "_out>";
  }

  void print_out_struct(Printer& p) const {
    if (outs_.size() < 2) return;
    p("struct {}_out {{", r_.name);
    for (const auto& o : outs_) p("\t{} {};", o.type, o.name);
    p("}};");
    p.blank();
  }

  void print_decl(Printer& p) const {
    p("// {} {} (id {}): {}", routine_kind(r_), r_.name, request_id(m_, r_),
      r_.simple ? "one-way, no reply" : "request and reply");
    p("{} {}({}) const;", result_type(), cxx_name(r_.name), join(params_));
  }

  void print_def(Printer& p) const {
    p("inline {} Client::{}({}) const {{", result_type(), cxx_name(r_.name), join(params_));
    {
      Printer::Indent in(p);
      for (const auto& s : pre_) p.line(s);
      std::vector<std::string> cargs;
      for (Arg* a : r_.user_args()) {
        auto it = cexpr_.find(a);
        cargs.push_back(it != cexpr_.end() ? it->second : a->name);
      }
      p("kern_return_t {} = ::{}{}({});", kr_, m_.user_prefix, r_.name, join(cargs));
      for (const auto& s : post_any_) p.line(s);
      if (outs_.empty()) {
        p("return mig::Result<void>::from({});", kr_);
      } else {
        p("if ({0} != KERN_SUCCESS) return {1}::error({0});", kr_, result_type());
        if (outs_.size() == 1) {
          p("{} {}_r;", outs_[0].type, outs_[0].name);
          for (const auto& s : build_) p.line(s);
          p("return {}_r;", outs_[0].name);
        } else {
          p("{}_out out;", r_.name);
          for (const auto& s : build_) p.line(s);
          p("return out;");
        }
      }
    }
    p("}}");
    p.blank();
  }

 private:
  // Where the result member `name` is assigned.
  std::string dst(const std::string& name) const {
    return outs_.size() == 1 ? name + "_r" : "out." + name;
  }
  void add_out(const std::string& type, const std::string& name) {
    outs_.push_back({type, name});
  }
  // build_ statements are written before outs_ is complete: use a marker
  // resolved at print time.
  std::string D(const std::string& name) { return "@" + name + "@"; }

  void main_arg(const Arg* a) {
    const Type& t = *a->type;
    const std::string& n = a->name;
    switch (a->kind) {
      case ArgKind::RequestPort:
        cexpr_[a] = "port_";
        if (a->poly && a->poly->user) {
          params_.push_back("mach_msg_type_name_t " + a->poly->name);
        }
        return;
      case ArgKind::ReplyPort:
      case ArgKind::WaitTime:
      case ArgKind::SendTime:
      case ArgKind::MsgOption:
        params_.push_back(t.user_type() + " " + n);
        if (a->poly && a->poly->user)
          params_.push_back("mach_msg_type_name_t " + a->poly->name);
        return;
      case ArgKind::UserAuditToken:
      case ArgKind::UserSecToken:
      case ArgKind::ServerAuditToken:  // AuditToken / SecToken: both sides
      case ArgKind::ServerSecToken:
        pre_.push_back(fmt::format("{} {}_v{{}};", t.user_type(), n));
        cexpr_[a] = "&" + n + "_v";
        add_out(t.user_type(), n);
        build_.push_back(fmt::format("{} = {}_v;", D(n), n));
        return;
      default: break;
    }
    bool in = a->is_in(), out = a->is_out();
    Cat c = category(t);
    bool array = c != Cat::Scalar && c != Cat::Struct && c != Cat::Port;
    std::string e = array ? elem_type(t, false, al_) : "";
    unsigned N = elem_count(t);
    if (c == Cat::Port || (c == Cat::PortArray && t.kind == Type::Kind::Struct)) {
      if (c == Cat::PortArray) {  // a C struct of ports: passed through
        params_.push_back(fmt::format("const {}& {}", t.user_type(), n));
        cexpr_[a] = n;
        return;
      }
    }
    switch (c) {
      case Cat::Scalar:
      case Cat::Struct: {
        std::string T = t.user_type();
        if (in) params_.push_back((c == Cat::Struct ? "const " + T + "& " : T + " ") + n);
        if (out) {
          pre_.push_back(fmt::format("{} {}_v{};", T, n, in ? " = " + n : "{}"));
          cexpr_[a] = "&" + n + "_v";
          add_out(T, n);
          build_.push_back(fmt::format("{} = {}_v;", D(n), n));
        } else {
          cexpr_[a] = n;
        }
        return;
      }
      case Cat::FixedArray: {
        // A C array typedef (or, anonymous, N elements): copied through a
        // local of the C type.
        bool named = !t.name.empty() || !t.ctype.empty() || !t.cusertype.empty();
        std::string T = t.user_type();
        std::string V = named ? fmt::format("mig::detail::value_t<{}>", T)
                              : fmt::format("std::array<{}, {}>", e, N);
        if (in) params_.push_back(fmt::format("const {}& {}", V, n));
        if (named)
          pre_.push_back(fmt::format("{} {}_v;", T, n));
        else
          pre_.push_back(fmt::format("{} {}_v[{}];", e, n, N));
        if (in) pre_.push_back(fmt::format("std::memcpy(&{0}_v, &{0}, sizeof({0}_v));", n));
        cexpr_[a] = n + "_v";
        if (out) {
          add_out(V, n);
          build_.push_back(fmt::format("std::memcpy(&{}, &{}_v, sizeof({}_v));", D(n), n, n));
        }
        return;
      }
      case Cat::VarArray: {
        if (in && !out) {
          params_.push_back(fmt::format("std::span<const {}> {}", e, n));
          cexpr_[a] = fmt::format("const_cast<{} *>({}.data())", e, n);
          if (a->count && a->owns_count)
            cexpr_[a->count] = fmt::format("static_cast<mach_msg_type_number_t>({}.size())", n);
          return;
        }
        pre_.push_back(fmt::format("{} {}_v[{}];", e, n, N));
        if (a->count && a->owns_count)
          pre_.push_back(fmt::format("mach_msg_type_number_t {}_n = {};", n, N));
        if (in) {
          params_.push_back(fmt::format("std::span<const {}> {}", e, n));
          pre_.push_back(fmt::format("if ({}.size() > {}) return {}::error(MIG_ARRAY_TOO_LARGE);",
                                     n, N, result_placeholder()));
          pre_.push_back(fmt::format("if (!{0}.empty()) std::memcpy({0}_v, {0}.data(), {0}.size_bytes());", n));
          if (a->count && a->owns_count)
            pre_.push_back(fmt::format("{0}_n = static_cast<mach_msg_type_number_t>({0}.size());", n));
        }
        cexpr_[a] = n + "_v";
        std::string cnt = a->count ? a->count->parent->name + "_n" : std::to_string(N);
        if (a->count && a->owns_count) cexpr_[a->count] = "&" + n + "_n";
        add_out(fmt::format("std::vector<{}>", e), n);
        build_.push_back(fmt::format("{}.assign({}_v, {}_v + {});", D(n), n, n, cnt));
        return;
      }
      case Cat::String: {
        if (in) params_.push_back("std::string_view " + n);
        pre_.push_back(fmt::format("char {}_v[{}] = {{}};", n, N));
        if (in) pre_.push_back(fmt::format("mig::detail::copy_string({0}_v, sizeof({0}_v), {0});", n));
        cexpr_[a] = n + "_v";
        if (out) {
          add_out("std::string", n);
          build_.push_back(fmt::format("{} = std::string({}_v, ::strnlen({}_v, sizeof({}_v)));",
                                       D(n), n, n, n));
        }
        return;
      }
      case Cat::Port: {
        const Type& b = t.port_base();
        if (in) {
          std::string mv = moved_right(b.in_name);
          if (!mv.empty()) {
            params_.push_back(mv + " " + n);
            if (!out) {
              cexpr_[a] = n + ".get()";
              post_any_.push_back(fmt::format(
                  "if (mig::detail::request_was_sent({})) (void){}.release();", kr_, n));
            }
          } else {
            params_.push_back("mach_port_t " + n);
            if (!out) cexpr_[a] = n;
          }
          if (a->poly && a->poly->user && !out)
            params_.push_back("mach_msg_type_name_t " + a->poly->name);
        }
        if (out) {
          std::string init = in ? (moved_right(b.in_name).empty() ? n : n + ".release()")
                                : "MACH_PORT_NULL";
          pre_.push_back(fmt::format("mach_port_t {}_v = {};", n, init));
          cexpr_[a] = "&" + n + "_v";
          std::string rt = received_right(b.out_name);
          if (b.out_name == kPolymorphic && a->poly && a->poly->user) {
            pre_.push_back(fmt::format("mach_msg_type_name_t {}_t = 0;", n));
            cexpr_[a->poly] = "&" + n + "_t";
            add_out("mig::AnyRight", n);
            build_.push_back(fmt::format("{} = mig::AnyRight({}_v, {}_t);", D(n), n, n));
          } else if (!rt.empty() && rt != "mig::AnyRight") {
            add_out(rt, n);
            build_.push_back(fmt::format("{} = {}({}_v);", D(n), rt, n));
          } else {
            add_out("mach_port_t", n);
            build_.push_back(fmt::format("{} = {}_v;", D(n), n));
          }
        }
        return;
      }
      case Cat::PortArray: {
        const Type& b = t.port_base();
        if (in && !out) {
          params_.push_back(fmt::format("std::span<const mach_port_t> {}", n));
          cexpr_[a] = fmt::format("const_cast<mach_port_t *>({}.data())", n);
          if (a->count && a->owns_count)
            cexpr_[a->count] = fmt::format("static_cast<mach_msg_type_number_t>({}.size())", n);
          else if (!t.variable)
            pre_.push_back(fmt::format("if ({}.size() < {}) return {}::error(MIG_ARRAY_TOO_LARGE);",
                                       n, N, result_placeholder()));
          if (a->poly && a->poly->user) params_.push_back("mach_msg_type_name_t " + a->poly->name);
          return;
        }
        pre_.push_back(fmt::format("mach_port_t {}_v[{}] = {{}};", n, N));
        if (a->count && a->owns_count)
          pre_.push_back(fmt::format("mach_msg_type_number_t {}_n = {};", n, N));
        cexpr_[a] = n + "_v";
        if (a->count && a->owns_count) cexpr_[a->count] = "&" + n + "_n";
        std::string cnt = a->count ? a->count->parent->name + "_n" : std::to_string(N);
        std::string rt = received_right(b.out_name);
        if (rt.empty() || rt == "mig::AnyRight") rt = "mig::SendRight";
        add_out(fmt::format("std::vector<{}>", rt), n);
        build_.push_back(fmt::format("for (mach_msg_type_number_t i = 0; i < {}; ++i) "
                                     "{}.emplace_back({}_v[i]);", cnt, D(n), n));
        return;
      }
      case Cat::Ool:
      case Cat::OolPorts: {
        std::string UT = t.user_type();
        bool ports = c == Cat::OolPorts;
        if (in && !out) {
          bool consumed = a->dealloc == Type::Dealloc::Yes && !ports;
          if (consumed) {
            params_.push_back(fmt::format("mig::OolBuffer<{}> {}", e, n));
            post_any_.push_back(fmt::format(
                "if (mig::detail::request_was_sent({})) (void){}.release();", kr_, n));
          } else if (t.variable) {
            params_.push_back(fmt::format("std::span<const {}> {}", e, n));
          } else {
            params_.push_back(fmt::format("std::span<const {}, {}> {}", e, N, n));
          }
          cexpr_[a] = fmt::format("({})({}.data())", UT, n);
          if (a->count && a->owns_count)
            cexpr_[a->count] = fmt::format("static_cast<mach_msg_type_number_t>({}.size())", n);
          if (a->dealloc_arg) {
            params_.push_back("bool " + a->dealloc_arg->name);
            cexpr_[a->dealloc_arg] = a->dealloc_arg->name + " ? TRUE : FALSE";
          }
          if (a->poly && a->poly->user) params_.push_back("mach_msg_type_name_t " + a->poly->name);
          return;
        }
        // out (in/out out-of-line data is sent from and received into
        // separate memory; the input is copied by the kernel)
        if (in) {
          params_.push_back(fmt::format("std::span<const {}> {}", e, n));
          pre_.push_back(fmt::format("{0} {1}_v = ({0})({1}.data());", UT, n));
          if (a->count && a->owns_count)
            pre_.push_back(fmt::format("mach_msg_type_number_t {0}_n = "
                                       "static_cast<mach_msg_type_number_t>({0}.size());", n));
        } else {
          pre_.push_back(fmt::format("{} {}_v{{}};", UT, n));
          if (a->count && a->owns_count) pre_.push_back(fmt::format("mach_msg_type_number_t {}_n = 0;", n));
        }
        cexpr_[a] = "&" + n + "_v";
        if (a->count && a->owns_count) cexpr_[a->count] = "&" + n + "_n";
        std::string cnt = a->count ? a->count->parent->name + "_n" : std::to_string(N);
        if (ports) {
          const Type& b = t.port_base();
          std::string rt = received_right(b.out_name);
          if (a->poly && a->poly->user) {
            pre_.push_back(fmt::format("mach_msg_type_name_t {}_t = 0;", n));
            cexpr_[a->poly] = "&" + n + "_t";
            add_out("mig::OolBuffer<mach_port_t>", n);
            add_out("mach_msg_type_name_t", a->poly->name);
            build_.push_back(fmt::format("{} = mig::OolBuffer<mach_port_t>((mach_port_t *)({}_v), {});",
                                         D(n), n, cnt));
            build_.push_back(fmt::format("{} = {}_t;", D(a->poly->name), n));
          } else {
            if (rt.empty() || rt == "mig::AnyRight") rt = "mig::SendRight";
            add_out(fmt::format("mig::OolPorts<{}>", rt), n);
            build_.push_back(fmt::format("{} = mig::OolPorts<{}>((mach_port_t *)({}_v), {});",
                                         D(n), rt, n, cnt));
          }
        } else {
          add_out(fmt::format("mig::OolBuffer<{}>", e), n);
          build_.push_back(fmt::format("{} = mig::OolBuffer<{}>(({} *)({}_v), {});", D(n), e, e,
                                       n, cnt));
        }
        return;
      }
    }
  }

  // Result<...>::error() in pre_ statements: resolved at print time.
  std::string result_placeholder() const { return "@RESULT@"; }

 public:
  // Replaces the markers once every output is known.
  void resolve() {
    auto fix = [&](std::string& s) {
      for (;;) {
        auto a = s.find('@');
        if (a == std::string::npos) break;
        auto b = s.find('@', a + 1);
        std::string key = s.substr(a + 1, b - a - 1);
        std::string rep = key == "RESULT" ? result_type() : dst(key);
        s.replace(a, b - a + 1, rep);
      }
    };
    for (auto& s : pre_) fix(s);
    for (auto& s : build_) fix(s);
  }

 private:
  const Module& m_;
  const Routine& r_;
  Aliases& al_;
  std::string kr_;  // the stub's result, named apart from the arguments
  std::vector<std::string> params_, pre_, post_any_, build_;
  std::map<const Arg*, std::string> cexpr_;
  std::vector<Member> outs_;
};

}  // namespace

std::string emit_cxx(const EmitContext& cx) {
  const Module& m = cx.m;
  Printer p;
  p.raw(generated_banner(cx, "Typed C++ face"));
  p.raw(
      "//\n"
      "// Client: one method per routine over the C user stubs (link the\n"
      "//   generated User.c). Server: derive, implement every method, and\n"
      "//   call dispatch() on each request (no C server file needed).\n"
      "//\n"
      "//   struct Impl : mig::" + m.subsystem + "::Server { ... };\n"
      "//   Impl impl;\n"
      "//   mach_msg_server([](mach_msg_header_t* in, mach_msg_header_t* out) ...)\n");
  p("#pragma once");
  p.blank();
  p("#include \"{}\"", cx.header_name);
  p("#include <mach/mig.h>");
  p("#include <mig/mig_cxx.h>");
  p.blank();
  p("#include <algorithm>");
  p("#include <array>");
  p("#include <cstring>");
  p("#include <span>");
  p("#include <string>");
  p("#include <string_view>");
  p("#include <vector>");
  p.blank();
  p("#ifndef round_msg");
  p("#define round_msg(x) (((mach_msg_size_t)(x) + sizeof(natural_t) - 1) & "
    "~(sizeof(natural_t) - 1))");
  p("#endif");
  p.line("#define MIG_CXX_RETURN_ERROR_(X, code) { ((mig_reply_error_t *)X)->RetCode = code; "
         "((mig_reply_error_t *)X)->NDR = NDR_record; return; }");
  p.blank();
  p("namespace mig::{} {{", m.subsystem);
  p.blank();
  p("inline constexpr mach_msg_id_t kBase = {};", m.base);
  p("inline constexpr mach_msg_id_t kEnd = {};", m.base + m.routine_count);
  p.blank();

  // Build both sides first: they name the element types they use.
  Aliases aliases;
  std::vector<std::unique_ptr<ClientMethod>> cms;
  for (const auto& r : m.routines) {
    auto c = std::make_unique<ClientMethod>(m, *r, aliases);
    c->build();
    c->resolve();
    cms.push_back(std::move(c));
  }
  ServerSide server(m, aliases);
  if (!aliases.defs.empty()) {
    p("// Element types of the arrays.");
    for (const auto& [alias, def] : aliases.defs) p("using {} = {};", alias, def);
    p.blank();
  }

  // ---- client ----
  for (const auto& c : cms) c->print_out_struct(p);
  p("// Calls the routines of '{}' on a send right the caller keeps.", m.subsystem);
  p("class Client {{");
  p(" public:");
  {
    Printer::Indent in(p);
    p("explicit Client(mach_port_t port) noexcept : port_(port) {{}}");
    p("mach_port_t port() const noexcept {{ return port_; }}");
    p.blank();
    for (const auto& c : cms) {
      c->print_decl(p);
      p.blank();
    }
  }
  p(" private:");
  p("\tmach_port_t port_;");
  p("}};");
  p.blank();
  for (const auto& c : cms) c->print_def(p);

  // ---- server ----
  std::string elements;
  unsigned need = 0;
  for (const auto& r : m.routines)
    if (r->server_trailer_min > need) {
      need = r->server_trailer_min;
      elements = r->server_trailer_elements;
    }
  p("// Serves '{}': implement every routine; rights and out-of-line memory", m.subsystem);
  p("// arrive in owners, so returning early never leaks them.");
  p("class Server {{");
  p(" public:");
  {
    Printer::Indent in(p);
    p("virtual ~Server() = default;");
    p.blank();
    p("// Handles one request; false (MIG_BAD_ID in the reply) for ids outside");
    p("// the subsystem. Replies like <subsystem>_server() does.");
    p("bool dispatch(mach_msg_header_t* InHeadP, mach_msg_header_t* OutHeadP);");
    p.blank();
    p("// Receive buffer sizes and the trailer the routines read.");
    p("static constexpr mach_msg_size_t kMaxRequestSize =");
    p("\t(mach_msg_size_t)(sizeof(union ::__RequestUnion__{}) + sizeof(mach_msg_max_trailer_t));",
      m.user_subsys());
    p("static constexpr mach_msg_size_t kMaxReplySize =");
    p("\t(mach_msg_size_t)sizeof(union ::__ReplyUnion__{});", m.user_subsys());
    p("static constexpr mach_msg_option_t kRcvTrailer = "
      "MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) | MACH_RCV_TRAILER_ELEMENTS({});",
      elements.empty() ? "MACH_RCV_TRAILER_NULL" : elements);
    p.blank();
    server.print_decls(p);
  }
  p("}};");
  p.blank();
  p("namespace detail {{");
  p.blank();
  server.print_trampolines(p);
  ServerStyle st;
  st.cxx = true;
  for (const auto& r : m.routines) print_server_routine(p, m, *r, st);
  p("}}  // namespace detail");
  p.blank();
  p("inline bool Server::dispatch(mach_msg_header_t* InHeadP, mach_msg_header_t* OutHeadP) {{");
  {
    Printer::Indent in(p);
    p("OutHeadP->msgh_bits = MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(InHeadP->msgh_bits), 0);");
    p("OutHeadP->msgh_remote_port = InHeadP->msgh_remote_port;");
    p("OutHeadP->msgh_size = (mach_msg_size_t)sizeof(mig_reply_error_t);");
    p("OutHeadP->msgh_local_port = MACH_PORT_NULL;");
    p("OutHeadP->msgh_id = static_cast<mach_msg_id_t>(static_cast<natural_t>(InHeadP->msgh_id) + 100);");
    p("OutHeadP->msgh_voucher_port = MACH_PORT_NULL;");
    p("switch (InHeadP->msgh_id) {{");
    for (const auto& r : m.routines) {
      p("case {}:", request_id(m, *r));
      p("\tdetail::_X{}(*this, InHeadP, OutHeadP);", r->name);
      p("\treturn true;");
    }
    p("default:");
    p("\t((mig_reply_error_t *)OutHeadP)->NDR = NDR_record;");
    p("\t((mig_reply_error_t *)OutHeadP)->RetCode = MIG_BAD_ID;");
    p("\treturn false;");
    p("}}");
  }
  p("}}");
  p.blank();
  p("}}  // namespace mig::{}", m.subsystem);
  p.blank();
  p("#undef MIG_CXX_RETURN_ERROR_");
  return p.str();
}

}  // namespace mig
