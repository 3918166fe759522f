#include "parser.h"

#include <array>
#include <cctype>
#include <optional>
#include <set>
#include <string_view>

namespace mig {

namespace {

// Message type names and their sizes, as MIG's lexer knows them.
// PORT_RECEIVE/PORT_SEND/PORT_SEND_ONCE: the sender chooses the
// disposition at run time (polymorphic in), the receiver gets that right.
constexpr MsgTypeInfo kMsgTypes[] = {
    {"MACH_MSG_TYPE_UNSTRUCTURED", 0, 0, 0},
    {"MACH_MSG_TYPE_BIT", 0, 0, 1},
    {"MACH_MSG_TYPE_BOOLEAN", 0, 0, 32},
    {"MACH_MSG_TYPE_INTEGER_8", 9, 9, 8},
    {"MACH_MSG_TYPE_INTEGER_16", 1, 1, 16},
    {"MACH_MSG_TYPE_INTEGER_32", 2, 2, 32},
    {"MACH_MSG_TYPE_INTEGER_64", 11, 11, 64},
    {"MACH_MSG_TYPE_CHAR", 8, 8, 8},
    {"MACH_MSG_TYPE_BYTE", 9, 9, 8},
    {"MACH_MSG_TYPE_REAL", 10, 10, 0},
    {"MACH_MSG_TYPE_REAL_32", 10, 10, 32},
    {"MACH_MSG_TYPE_REAL_64", 10, 10, 64},
    {"MACH_MSG_TYPE_STRING", 12, 12, 0},
    {"MACH_MSG_TYPE_STRING_C", 12, 12, 0},
    {"MACH_MSG_TYPE_PORT_NAME", 15, 15, 32},
    {"MACH_MSG_TYPE_MOVE_RECEIVE", 16, 16, 32},
    {"MACH_MSG_TYPE_MOVE_SEND", 17, 17, 32},
    {"MACH_MSG_TYPE_MOVE_SEND_ONCE", 18, 18, 32},
    {"MACH_MSG_TYPE_COPY_SEND", 19, 17, 32},
    {"MACH_MSG_TYPE_MAKE_SEND", 20, 17, 32},
    {"MACH_MSG_TYPE_MAKE_SEND_ONCE", 21, 18, 32},
    {"MACH_MSG_TYPE_COPY_RECEIVE", 22, 16, 32},
    {"MACH_MSG_TYPE_DISPOSE_RECEIVE", 24, 16, 32},
    {"MACH_MSG_TYPE_DISPOSE_SEND", 25, 17, 32},
    {"MACH_MSG_TYPE_DISPOSE_SEND_ONCE", 26, 18, 32},
    {"MACH_MSG_TYPE_PORT_RECEIVE", kPolymorphic, 16, 32},
    {"MACH_MSG_TYPE_PORT_SEND", kPolymorphic, 17, 32},
    {"MACH_MSG_TYPE_PORT_SEND_ONCE", kPolymorphic, 18, 32},
    {"MACH_MSG_TYPE_POLYMORPHIC", kPolymorphic, kPolymorphic, 32},
};

// Words MIG reserves (case-insensitive); they cannot name things.
const std::set<std::string>& keywords() {
  static const std::set<std::string> k = {
      "routine", "simpleroutine", "subsystem", "msgoption", "userprefix",
      "serverprefix", "serverdemux", "rcsid", "import", "uimport", "simport",
      "dimport", "iimport", "skip", "type", "array", "struct", "of",
      "c_string", "in", "out", "inout", "requestport", "replyport",
      "sreplyport", "ureplyport", "waittime", "nowaittime", "sendtime", "nosendtime",
      "msgseqno", "sectoken", "serversectoken", "usersectoken", "audittoken",
      "serveraudittoken", "useraudittoken", "servercontexttoken",
      "kernelserver", "kerneluser", "ctype", "cusertype", "cservertype",
      "intran", "outtran", "destructor", "polymorphic",
      "usespecialreplyport", "consumeonsenderror", "usertypelimit",
      "onstacklimit", "dealloc", "notdealloc", "servercopy", "countinout",
      "samecount", "const", "physicalcopy", "retcode", "overwrite", "auto",
      "islong", "isnotlong"};
  return k;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct ParseError {};  // thrown to unwind to a recovery point

class Parser {
 public:
  Parser(const std::vector<Token>& toks, Diagnostics& diag)
      : t_(toks), diag_(diag) {}

  ast::File run() {
    ast::File f;
    while (!at(Tok::End)) {
      size_t before = p_;
      broken_type_.reset();
      try {
        statement(f);
      } catch (ParseError&) {
        // A type whose declaration did not parse is still declared, as
        // broken: its uses are not reported as unknown types.
        if (broken_type_) {
          ast::Statement s;
          s.kind = ast::Statement::Kind::Type;
          s.loc = broken_type_->loc;
          s.type = std::move(*broken_type_);
          f.statements.push_back(std::move(s));
        }
        recover_statement();
      }
      if (p_ == before) ++p_;  // never loop without progress
    }
    return f;
  }

 private:
  // The name of the type statement being parsed (spec left empty).
  std::optional<ast::TypeDecl> broken_type_;

  // ---- token helpers -------------------------------------------------
  const Token& cur() const { return t_[p_]; }
  const Token& peek(size_t k = 1) const {
    return t_[std::min(p_ + k, t_.size() - 1)];
  }
  bool at(Tok k) const { return cur().kind == k; }
  bool at_kw(std::string_view kw) const { return cur().is_kw(kw); }
  const Token& take() {
    const Token& t = t_[p_];
    if (p_ + 1 < t_.size()) ++p_;
    return t;
  }

  [[noreturn]] void fail(const std::string& expected) {
    diag_.error(cur().loc, "expected " + expected + ", found " + cur().shown());
    throw ParseError{};
  }
  const Token& expect(Tok k, const std::string& what = "") {
    if (!at(k)) fail(what.empty() ? tok_name(k) : what);
    return take();
  }
  void expect_kw(std::string_view kw) {
    if (!at_kw(kw)) fail("'" + std::string(kw) + "'");
    take();
  }
  bool is_reserved(const Token& t) const {
    return t.kind == Tok::Ident && keywords().count(lower(t.text)) != 0;
  }
  // An identifier that is not a keyword.
  const Token& name(const std::string& what) {
    if (!at(Tok::Ident) || is_reserved(cur())) fail(what);
    return take();
  }

  // Skips to just after the next ';' at statement level.
  void recover_statement() {
    int depth = 0;
    while (!at(Tok::End)) {
      if (at(Tok::LParen)) ++depth;
      if (at(Tok::RParen) && depth > 0) --depth;
      if (at(Tok::Semi) && depth == 0) {
        take();
        return;
      }
      // A statement keyword at the start of a line most likely begins the
      // next statement (a ';' was forgotten): resume there.
      if (depth == 0 && p_ > 0 && cur().loc.line != t_[p_ - 1].loc.line &&
          (at_kw("routine") || at_kw("simpleroutine") || at_kw("type") ||
           at_kw("import") || at_kw("skip") || at_kw("subsystem"))) {
        return;
      }
      take();
    }
  }

  // ---- statements -------------------------------------------------------
  void statement(ast::File& f) {
    if (at(Tok::Semi)) {
      take();
      return;
    }
    ast::Statement s;
    s.loc = cur().loc;
    using K = ast::Statement::Kind;
    if (at_kw("subsystem")) {
      take();
      s.kind = K::Subsystem;
      for (;;) {
        if (at_kw("KernelUser"))
          s.kernel_user = true;
        else if (at_kw("KernelServer"))
          s.kernel_server = true;
        else
          break;
        take();
      }
      s.name = name("subsystem name").text;
      s.number = int_expr("subsystem base number");
    } else if (at_kw("routine") || at_kw("simpleroutine")) {
      s.kind = K::Routine;
      s.routine.simple = at_kw("simpleroutine");
      take();
      s.routine.loc = cur().loc;
      s.routine.name = name("routine name").text;
      arguments(s.routine);
    } else if (at_kw("skip")) {
      take();
      s.kind = K::Skip;
    } else if (at_kw("type")) {
      take();
      s.kind = K::Type;
      type_decl(s.type);
    } else if (at_kw("import") || at_kw("uimport") || at_kw("simport") ||
               at_kw("dimport") || at_kw("iimport")) {
      s.kind = K::Import;
      s.import_kind = lower(take().text);
      if (at(Tok::AngleFile)) {
        s.file = "<" + take().text + ">";
      } else if (at(Tok::QString)) {
        s.file = "\"" + take().text + "\"";
      } else {
        fail("file name (<file.h> or \"file.h\")");
      }
    } else if (at_kw("userprefix") || at_kw("serverprefix") ||
               at_kw("serverdemux")) {
      std::string kw = lower(take().text);
      s.kind = kw == "userprefix"     ? K::UserPrefix
               : kw == "serverprefix" ? K::ServerPrefix
                                      : K::ServerDemux;
      s.name = expect(Tok::Ident, "identifier").text;
    } else if (at_kw("rcsid")) {
      take();
      s.kind = K::RcsId;
      s.text = expect(Tok::QString, "quoted string").text;
    } else if (at_kw("waittime") || at_kw("sendtime")) {
      s.kind = at_kw("waittime") ? K::WaitTime : K::SendTime;
      take();
      s.text = option_text("time-out value");
    } else if (at_kw("nowaittime") || at_kw("nosendtime")) {
      s.kind = at_kw("nowaittime") ? K::NoWaitTime : K::NoSendTime;
      take();
    } else if (at_kw("msgoption")) {
      take();
      s.kind = K::MsgOption;
      s.text = option_text("message option");
    } else if (at_kw("UseSpecialReplyPort")) {
      take();
      s.kind = K::UseSpecialReplyPort;
      s.number = int_expr("0 or 1");
    } else if (at_kw("ConsumeOnSendError")) {
      take();
      s.kind = K::ConsumeOnSendError;
      s.name = expect(Tok::Ident, "None, Timeout or Any").text;
    } else if (at_kw("UserTypeLimit") || at_kw("OnStackLimit")) {
      s.kind = at_kw("UserTypeLimit") ? K::UserTypeLimit : K::OnStackLimit;
      take();
      s.number = int_expr("number");
    } else {
      fail("a statement (subsystem, routine, simpleroutine, type, import, "
           "skip, ...)");
    }
    expect(Tok::Semi, "';'");
    f.statements.push_back(std::move(s));
  }

  // The value of msgoption/waittime: identifiers, numbers and '|' up to ';'.
  std::string option_text(const std::string& what) {
    std::string out;
    if (!(at(Tok::Ident) || at(Tok::Number) || at(Tok::LParen))) fail(what);
    while (!at(Tok::Semi) && !at(Tok::End)) {
      const Token& t = take();
      if (t.kind == Tok::QString)
        out += "\"" + t.text + "\"";
      else
        out += t.text;
    }
    return out;
  }

  // ---- integer expressions: + - * / ( ) ------------------------------
  uint64_t int_expr(const std::string& what) { return add_expr(what); }
  uint64_t add_expr(const std::string& what) {
    uint64_t v = mul_expr(what);
    while (at(Tok::Plus) || at(Tok::Minus)) {
      bool plus = take().kind == Tok::Plus;
      uint64_t r = mul_expr(what);
      v = plus ? v + r : v - r;
    }
    return v;
  }
  uint64_t mul_expr(const std::string& what) {
    uint64_t v = prim_expr(what);
    while (at(Tok::Star) || at(Tok::Slash)) {
      const Token& op = take();
      SourceLoc l = cur().loc;
      uint64_t r = prim_expr(what);
      if (op.kind == Tok::Star) {
        v *= r;
      } else if (r == 0) {
        diag_.error(l, "division by zero in size expression");
        v = 0;
      } else {
        v /= r;
      }
    }
    return v;
  }
  uint64_t prim_expr(const std::string& what) {
    if (at(Tok::LParen)) {
      take();
      uint64_t v = add_expr(what);
      expect(Tok::RParen, "')'");
      return v;
    }
    if (at(Tok::Number)) return take().value;
    if (at(Tok::Ident) && !is_reserved(cur()))
      fail(what + " (is the macro '" + cur().text + "' defined?)");
    fail(what);
  }

  // ---- types -------------------------------------------------------------
  void type_decl(ast::TypeDecl& d) {
    d.loc = cur().loc;
    d.name = name("type name").text;
    broken_type_.emplace();
    broken_type_->name = d.name;
    broken_type_->loc = d.loc;
    expect(Tok::Equal, "'='");
    d.spec = type_spec();
    type_attrs(d.attrs);
  }

  bool at_type_spec_start() const {
    return at(Tok::Caret) || at(Tok::LParen) || at(Tok::Number) ||
           at_kw("array") || at_kw("struct") || at_kw("c_string") ||
           at_kw("polymorphic") ||
           (at(Tok::Ident) && find_msg_type(cur().text));
  }

  ast::TypeSpecPtr type_spec() {
    auto ts = std::make_unique<ast::TypeSpec>();
    ts->loc = cur().loc;
    using K = ast::TypeSpec::Kind;
    if (at(Tok::Caret)) {
      take();
      ts->kind = K::Pointer;
      ts->element = type_spec();
    } else if (at_kw("array")) {
      take();
      expect(Tok::LBrack, "'['");
      if (at(Tok::RBrack)) {
        take();
        ts->kind = K::VarArray;
      } else if (at(Tok::Star)) {
        take();
        ts->kind = K::VarArray;
        if (at(Tok::Colon)) {
          take();
          ts->bounded = true;
          ts->count = int_expr("array bound");
        }
        expect(Tok::RBrack, "']'");
      } else {
        ts->kind = K::Array;
        ts->count = int_expr("array size, '*' or ']'");
        expect(Tok::RBrack, "']'");
      }
      expect_kw("of");
      ts->element = type_spec();
    } else if (at_kw("struct")) {
      take();
      ts->kind = K::Struct;
      expect(Tok::LBrack, "'['");
      ts->count = int_expr("struct size");
      expect(Tok::RBrack, "']'");
      expect_kw("of");
      ts->element = type_spec();
    } else if (at_kw("c_string")) {
      take();
      ts->kind = K::CString;
      expect(Tok::LBrack, "'['");
      if (at(Tok::Star)) {
        take();
        expect(Tok::Colon, "':' (c_string[*:N])");
        ts->bounded = true;
      }
      ts->count = int_expr("string size");
      expect(Tok::RBrack, "']'");
    } else if (at(Tok::LParen)) {
      // (MACH_MSG_TYPE_X, size [, flags])
      take();
      ts->kind = K::Basic;
      ipc_type(*ts);
      expect(Tok::Comma, "','");
      ts->has_size = true;
      ts->size_bits = static_cast<unsigned>(int_expr("size in bits"));
      while (at(Tok::Comma)) {
        take();
        ts->flags.push_back(flag());
      }
      expect(Tok::RParen, "')'");
    } else if (at_kw("polymorphic") || at(Tok::Number) ||
               (at(Tok::Ident) && find_msg_type(cur().text))) {
      ts->kind = K::Basic;
      ipc_type(*ts);
    } else if (at(Tok::Ident) && !is_reserved(cur())) {
      ts->kind = K::Named;
      ts->name = take().text;
    } else {
      fail("a type (type name, MACH_MSG_TYPE_*, array, struct, c_string "
           "or '^')");
    }
    return ts;
  }

  ast::IpcName prim_ipc() {
    ast::IpcName n;
    n.loc = cur().loc;
    if (at_kw("polymorphic")) {
      take();
      n.number = kPolymorphic;
      n.out_number = kPolymorphic;
      n.spelling = "polymorphic";
      n.bits = 32;
    } else if (at(Tok::Number)) {
      const Token& t = take();
      n.number = static_cast<int>(t.value);
      n.out_number = n.number;
      n.spelling = t.text;
      n.bits = 0;
    } else if (at(Tok::Ident) && find_msg_type(cur().text)) {
      const MsgTypeInfo* mi = find_msg_type(take().text);
      n.number = mi->in;
      n.out_number = mi->out;
      n.spelling = mi->name;
      n.bits = mi->bits;
    } else {
      fail("a MACH_MSG_TYPE_* name, a number or 'polymorphic'");
    }
    return n;
  }

  void ipc_type(ast::TypeSpec& ts) {
    ts.in_name = prim_ipc();
    ts.out_name = ts.in_name;
    if (at(Tok::Bar)) {
      take();
      ts.out_name = prim_ipc();
    }
  }

  std::string c_type_name(const std::string& what) {
    std::string s = expect(Tok::Ident, what).text;
    while (at(Tok::Star)) {
      take();
      s += " *";
    }
    return s;
  }

  ast::TransFunc trans_func(bool has_result) {
    ast::TransFunc tf;
    tf.loc = cur().loc;
    if (has_result) tf.result_type = c_type_name("a C type name");
    tf.func = expect(Tok::Ident, "a function name").text;
    expect(Tok::LParen, "'('");
    tf.arg_type = c_type_name("a C type name");
    expect(Tok::RParen, "')'");
    return tf;
  }

  void type_attrs(ast::TypeAttrs& a) {
    for (;;) {
      if (at_kw("ctype") || at_kw("cusertype") || at_kw("cservertype")) {
        std::string kw = lower(take().text);
        expect(Tok::Colon, "':'");
        std::string v = c_type_name("a C type name");
        if (kw == "ctype") a.ctype = v;
        else if (kw == "cusertype") a.cusertype = v;
        else a.cservertype = v;
      } else if (at_kw("intran") || at_kw("outtran")) {
        bool in = at_kw("intran");
        take();
        expect(Tok::Colon, "':'");
        if (in)
          a.intran = trans_func(true);
        else
          a.outtran = trans_func(true);
      } else if (at_kw("destructor")) {
        take();
        expect(Tok::Colon, "':'");
        a.destructor = trans_func(false);
      } else {
        return;
      }
    }
  }

  ast::FlagUse flag() {
    ast::FlagUse f;
    f.loc = cur().loc;
    using F = ast::Flag;
    if (at_kw("dealloc")) {
      take();
      f.flag = F::Dealloc;
      if (at(Tok::LBrack)) {
        take();
        expect(Tok::RBrack, "']' (dealloc[])");
        f.flag = F::DeallocMaybe;
      }
    } else if (at_kw("notdealloc")) { take(); f.flag = F::NotDealloc; }
    else if (at_kw("servercopy")) { take(); f.flag = F::ServerCopy; }
    else if (at_kw("countinout")) { take(); f.flag = F::CountInOut; }
    else if (at_kw("samecount")) { take(); f.flag = F::SameCount; }
    else if (at_kw("const")) { take(); f.flag = F::Const; }
    else if (at_kw("physicalcopy")) { take(); f.flag = F::PhysicalCopy; }
    else if (at_kw("retcode")) { take(); f.flag = F::RetCode; }
    else if (at_kw("overwrite")) { take(); f.flag = F::Overwrite; }
    else if (at_kw("auto")) { take(); f.flag = F::Auto; }
    else if (at_kw("islong")) { take(); f.flag = F::IsLong; }
    else if (at_kw("isnotlong")) { take(); f.flag = F::IsNotLong; }
    else
      fail("an argument flag (dealloc, notdealloc, dealloc[], servercopy, "
           "countinout, samecount, const, physicalcopy, retcode, overwrite, "
           "auto)");
    return f;
  }

  // ---- routines ------------------------------------------------------
  void arguments(ast::RoutineDecl& r) {
    expect(Tok::LParen, "'(' after the routine name");
    if (at(Tok::RParen)) {
      take();
      return;
    }
    for (;;) {
      if (at(Tok::RParen)) {  // tolerate a trailing ';'
        take();
        return;
      }
      try {
        r.args.push_back(argument());
      } catch (ParseError&) {
        r.broken = true;
        // Skip to the end of this argument.
        int depth = 0;
        while (!at(Tok::End)) {
          if (at(Tok::LParen)) ++depth;
          if (at(Tok::RParen)) {
            if (depth == 0) break;
            --depth;
          }
          if (at(Tok::Semi) && depth == 0) break;
          if (depth == 0 && (at_kw("routine") || at_kw("simpleroutine") ||
                             at_kw("type")) &&
              cur().loc.line != t_[p_ - 1].loc.line)
            throw;  // ran into the next statement
          take();
        }
        if (at(Tok::End)) throw;
      }
      if (at(Tok::Semi)) {
        take();
        continue;
      }
      if (at(Tok::RParen)) {
        take();
        return;
      }
      fail("';' or ')' after an argument");
    }
  }

  ast::ArgDecl argument() {
    ast::ArgDecl a;
    using D = ast::ArgDir;
    static const std::pair<const char*, D> dirs[] = {
        {"in", D::In},
        {"out", D::Out},
        {"inout", D::InOut},
        {"requestport", D::RequestPort},
        {"replyport", D::ReplyPort},
        {"sreplyport", D::SReplyPort},
        {"ureplyport", D::UReplyPort},
        {"waittime", D::WaitTime},
        {"sendtime", D::SendTime},
        {"msgoption", D::MsgOption},
        {"msgseqno", D::MsgSeqno},
        {"sectoken", D::SecToken},
        {"serversectoken", D::ServerSecToken},
        {"usersectoken", D::UserSecToken},
        {"audittoken", D::AuditToken},
        {"serveraudittoken", D::ServerAuditToken},
        {"useraudittoken", D::UserAuditToken},
        {"servercontexttoken", D::ServerContextToken},
    };
    for (const auto& [kw, d] : dirs) {
      if (at_kw(kw)) {
        a.dir = d;
        take();
        break;
      }
    }
    a.loc = cur().loc;
    a.name = name("argument name").text;
    expect(Tok::Colon, "':' after the argument name");
    a.type_loc = cur().loc;
    if (at(Tok::Ident) && !is_reserved(cur()) && !find_msg_type(cur().text)) {
      if (peek().kind == Tok::Equal) {
        a.named_decl = std::make_unique<ast::TypeDecl>();
        type_decl(*a.named_decl);
      } else {
        a.type_name = take().text;
        if (at_kw("ctype") || at_kw("cusertype") || at_kw("cservertype") ||
            at_kw("intran") || at_kw("outtran") || at_kw("destructor")) {
          // name followed by attributes: an anonymous refinement
          auto ts = std::make_unique<ast::TypeSpec>();
          ts->kind = ast::TypeSpec::Kind::Named;
          ts->name = a.type_name;
          ts->loc = a.type_loc;
          a.type_name.clear();
          a.anon_spec = std::move(ts);
          type_attrs(a.anon_attrs);
        }
      }
    } else if (at_type_spec_start()) {
      a.anon_spec = type_spec();
      type_attrs(a.anon_attrs);
    } else {
      fail("a type after ':'");
    }
    while (at(Tok::Comma)) {
      take();
      a.flags.push_back(flag());
    }
    return a;
  }

  const std::vector<Token>& t_;
  Diagnostics& diag_;
  size_t p_ = 0;
};

}  // namespace

const MsgTypeInfo* find_msg_type(const std::string& name) {
  for (const auto& m : kMsgTypes)
    if (name == m.name) return &m;
  return nullptr;
}

ast::File parse(const std::vector<Token>& tokens, Diagnostics& diag) {
  Parser p(tokens, diag);
  return p.run();
}

}  // namespace mig
