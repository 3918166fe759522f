// The server side of the typed C++ face: one pure virtual method per
// routine taking owners, and the trampolines that turn the C server
// signature (what the shared server stub code calls) into a call of it.
#include <fmt/format.h>

#include "emit_cxx.h"
#include "emit_common.h"
#include "parser.h"

namespace mig::cxx {

struct ServerSide::Method {
  Method(const Module& m, const Routine& r, Aliases& al) : m_(m), r_(r), al_(al) {}

  void build() {
    for (const auto& up : r_.args) {
      const Arg* a = up.get();
      if (!a->server || a->parent) continue;
      main_arg(a);
    }
  }

  void print_decl(Printer& p) const {
    p("// {} {} (id {})", routine_kind(r_), r_.name, request_id(m_, r_));
    p("virtual kern_return_t {}({}) = 0;", cxx_name(r_.name), join(vparams_));
  }

  void print_trampoline(Printer& p) const {
    std::vector<std::string> cparams{"Server& self"};
    for (Arg* a : r_.server_args()) cparams.push_back(a->server_decl());
    p("inline kern_return_t call_{}({})", r_.name, join(cparams));
    p("{{");
    {
      Printer::Indent in(p);
      for (const auto& s : pre_) p.line(s);
      const std::string kr = fresh_local(r_, "kr");
      p("kern_return_t {} = self.{}({});", kr, cxx_name(r_.name), join(vargs_));
      if (!post_.empty()) {
        p("if ({0} != KERN_SUCCESS) return {0};", kr);
        for (const auto& s : post_) p.line(s);
      }
      p("return {};", kr);
    }
    p("}}");
    p.blank();
  }

 private:
  void main_arg(const Arg* a) {
    const Type& t = *a->type;
    const std::string& n = a->name;
    switch (a->kind) {
      case ArgKind::RequestPort:
      case ArgKind::ReplyPort:
      case ArgKind::MsgSeqno:
      case ArgKind::ServerSecToken:
      case ArgKind::ServerAuditToken:
      case ArgKind::ServerContextToken:
        vparams_.push_back(t.trans_type() + " " + n);
        vargs_.push_back(n);
        return;
      default: break;
    }
    bool in = a->is_in(), out = a->is_out();
    Cat c = category(t);
    bool array = c != Cat::Scalar && c != Cat::Struct && c != Cat::Port;
    std::string e = array ? elem_type(t, true, al_) : "";
    unsigned N = elem_count(t);
    bool raw = !t.intran.empty() || !t.outtran.empty();
    if (raw || (c == Cat::PortArray && t.kind == Type::Kind::Struct)) {
      // Translated types and C structs of ports: as in C.
      vparams_.push_back(a->server_decl());
      vargs_.push_back(n);
      return;
    }
    std::string cnt_name = a->count ? a->count->name : "";
    switch (c) {
      case Cat::Scalar:
      case Cat::Struct: {
        std::string T = t.trans_type();
        if (!out) {
          vparams_.push_back((c == Cat::Struct ? "const " + T + "& " : T + " ") + n);
          vargs_.push_back(n);
        } else {
          vparams_.push_back(T + "& " + n);
          vargs_.push_back("*" + n);
        }
        return;
      }
      case Cat::FixedArray: {
        bool named = !t.name.empty() || !t.ctype.empty() || !t.cservertype.empty();
        std::string V = named ? fmt::format("mig::detail::value_t<{}>", t.trans_type())
                              : fmt::format("std::array<{}, {}>", e, N);
        pre_.push_back(fmt::format("{} {}_v;", V, n));
        if (in) pre_.push_back(fmt::format("std::memcpy(&{0}_v, {0}, sizeof({0}_v));", n));
        vparams_.push_back(fmt::format("{}{}& {}", out ? "" : "const ", V, n));
        vargs_.push_back(n + "_v");
        if (out) post_.push_back(fmt::format("std::memcpy({0}, &{0}_v, sizeof({0}_v));", n));
        return;
      }
      case Cat::VarArray:
        if (!out) {
          vparams_.push_back(fmt::format("std::span<const {}> {}", e, n));
          vargs_.push_back(fmt::format("std::span<const {}>({}, {})", e, n, cnt_name));
        } else {
          vparams_.push_back(fmt::format("std::vector<{}>& {}", e, n));
          pre_.push_back(fmt::format("std::vector<{}> {}_v;", e, n));
          if (in) pre_.push_back(fmt::format("{0}_v.assign({0}, {0} + *{1});", n, cnt_name));
          vargs_.push_back(n + "_v");
          if (a->owns_count) {
            post_.push_back(fmt::format("if ({}_v.size() > *{}) return MIG_ARRAY_TOO_LARGE;", n,
                                        cnt_name));
            post_.push_back(fmt::format("*{} = static_cast<mach_msg_type_number_t>({}_v.size());",
                                        cnt_name, n));
          } else {
            post_.push_back(fmt::format("if ({}_v.size() != *{}) return MIG_BAD_ARGUMENTS;", n,
                                        cnt_name));
          }
          post_.push_back(fmt::format("if (!{0}_v.empty()) std::memcpy({0}, {0}_v.data(), "
                                      "{0}_v.size() * sizeof({1}));", n, e));
        }
        return;
      case Cat::String:
        if (!out) {
          vparams_.push_back("std::string_view " + n);
          vargs_.push_back(fmt::format("std::string_view({})", n));
        } else {
          vparams_.push_back("std::string& " + n);
          pre_.push_back(fmt::format("std::string {0}_v{1};", n, in ? "(" + n + ")" : ""));
          vargs_.push_back(n + "_v");
          post_.push_back(fmt::format("mig::detail::copy_string({}, {}, {}_v);", n, N, n));
        }
        return;
      case Cat::Port: {
        const Type& b = t.port_base();
        if (!out) {
          std::string rt = received_right(b.out_name);
          vparams_.push_back(rt + " " + n);
          if (rt == "mig::AnyRight")
            vargs_.push_back(a->poly && a->poly->server
                                 ? fmt::format("mig::AnyRight({}, {})", n, a->poly->name)
                                 : fmt::format("mig::AnyRight({}, MACH_MSG_TYPE_PORT_SEND)", n));
          else
            vargs_.push_back(fmt::format("{}({})", rt, n));
          return;
        }
        std::string mv = moved_right(b.in_name);
        if (b.in_name == kPolymorphic && a->poly && a->poly->server) {
          vparams_.push_back("mach_port_t& " + n);
          vparams_.push_back("mach_msg_type_name_t& " + a->poly->name);
          vargs_.push_back("*" + n);
          vargs_.push_back("*" + a->poly->name);
        } else if (!mv.empty()) {
          vparams_.push_back(mv + "& " + n);
          pre_.push_back(fmt::format("{} {}_v{};", mv, n, in ? "(*" + n + ")" : ""));
          vargs_.push_back(n + "_v");
          post_.push_back(fmt::format("*{0} = {0}_v.release();", n));
        } else {
          vparams_.push_back("mach_port_t& " + n);
          if (!in) pre_.push_back(fmt::format("*{} = MACH_PORT_NULL;", n));
          vargs_.push_back("*" + n);
        }
        return;
      }
      case Cat::PortArray: {
        const Type& b = t.port_base();
        if (!out) {
          std::string rt = received_right(b.out_name);
          if (rt.empty() || rt == "mig::AnyRight") rt = "mig::SendRight";
          vparams_.push_back(fmt::format("std::vector<{}> {}", rt, n));
          std::string cnt = t.variable ? cnt_name : std::to_string(N);
          pre_.push_back(fmt::format("std::vector<{}> {}_v;", rt, n));
          pre_.push_back(fmt::format("for (mach_msg_type_number_t i = 0; i < {}; ++i) "
                                     "{}_v.emplace_back({}[i]);", cnt, n, n));
          vargs_.push_back(fmt::format("std::move({}_v)", n));
          return;
        }
        vparams_.push_back(fmt::format("std::vector<mach_port_t>& {}", n));
        pre_.push_back(fmt::format("std::vector<mach_port_t> {}_v;", n));
        vargs_.push_back(n + "_v");
        std::string cap = a->count ? "*" + cnt_name : std::to_string(N);
        post_.push_back(fmt::format("if ({}_v.size() > {}) return MIG_ARRAY_TOO_LARGE;", n, cap));
        if (a->count && a->owns_count)
          post_.push_back(fmt::format("*{} = static_cast<mach_msg_type_number_t>({}_v.size());",
                                      cnt_name, n));
        post_.push_back(fmt::format("for (size_t i = 0; i < {1}; ++i) "
                                    "{0}[i] = i < {0}_v.size() ? {0}_v[i] : MACH_PORT_NULL;",
                                    n, N));
        return;
      }
      case Cat::Ool:
      case Cat::OolPorts: {
        bool ports = c == Cat::OolPorts;
        std::string TT = t.trans_type();
        std::string cnt = t.variable ? (a->count ? cnt_name : "0") : std::to_string(N);
        if (!out) {
          if (ports) {
            const Type& b = t.port_base();
            std::string rt = received_right(b.out_name);
            if (rt == "mig::AnyRight" || rt.empty()) {
              vparams_.push_back(fmt::format("mig::OolBuffer<mach_port_t> {}", n));
              vargs_.push_back(fmt::format("mig::OolBuffer<mach_port_t>((mach_port_t *)({}), {})", n, cnt));
            } else {
              vparams_.push_back(fmt::format("mig::OolPorts<{}> {}", rt, n));
              vargs_.push_back(fmt::format("mig::OolPorts<{}>((mach_port_t *)({}), {})", rt, n, cnt));
            }
          } else {
            vparams_.push_back(fmt::format("mig::OolBuffer<{}> {}", e, n));
            vargs_.push_back(fmt::format("mig::OolBuffer<{}>(({} *)({}), {})", e, e, n, cnt));
          }
          if (a->server_copy) {
            vparams_.push_back("bool " + a->server_copy->name);
            vargs_.push_back(a->server_copy->name + " != 0");
          }
          return;
        }
        std::string be = ports ? "mach_port_t" : e;
        vparams_.push_back(fmt::format("mig::OolBuffer<{}>& {}", be, n));
        if (in)
          pre_.push_back(fmt::format("mig::OolBuffer<{0}> {1}_v(({0} *)(*{1}), {2});", be, n,
                                     t.variable ? "*" + cnt_name : std::to_string(N)));
        else
          pre_.push_back(fmt::format("mig::OolBuffer<{}> {}_v;", be, n));
        vargs_.push_back(n + "_v");
        if (t.variable) {
          if (a->count && a->owns_count)
            post_.push_back(fmt::format("*{} = static_cast<mach_msg_type_number_t>({}_v.size());",
                                        cnt_name, n));
          else if (a->count)
            post_.push_back(fmt::format("if ({}_v.size() != *{}) return MIG_BAD_ARGUMENTS;", n,
                                        cnt_name));
        } else {
          post_.push_back(fmt::format("if ({}_v.size() != {}) return MIG_ARRAY_TOO_LARGE;", n, N));
        }
        if (a->dealloc_arg) post_.push_back(fmt::format("*{} = TRUE;", a->dealloc_arg->name));
        if (a->poly && a->poly->server && a->poly->server_ref) {
          vparams_.push_back("mach_msg_type_name_t& " + a->poly->name);
          vargs_.push_back("*" + a->poly->name);
        }
        post_.push_back(fmt::format("*{} = ({})({}_v.release());", n, TT, n));
        return;
      }
    }
  }

  const Module& m_;
  const Routine& r_;
  Aliases& al_;
  std::vector<std::string> vparams_, vargs_, pre_, post_;
};


ServerSide::ServerSide(const Module& m, Aliases& al) {
  for (const auto& r : m.routines) {
    auto s = std::make_unique<Method>(m, *r, al);
    s->build();
    methods_.push_back(std::move(s));
  }
}

ServerSide::~ServerSide() = default;

void ServerSide::print_decls(Printer& p) const {
  for (const auto& s : methods_) {
    s->print_decl(p);
    p.blank();
  }
}

void ServerSide::print_trampolines(Printer& p) const {
  for (const auto& s : methods_) s->print_trampoline(p);
}

}  // namespace mig::cxx
