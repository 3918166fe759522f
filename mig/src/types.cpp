// Derived properties of types and arguments, and C declarations.
#include "model.h"
#include "parser.h"

namespace mig {

bool Type::has_port_elements() const {
  switch (kind) {
    case Kind::Port: return true;
    case Kind::Struct:
    case Kind::Array: return elem && elem->has_port_elements();
    default: return false;
  }
}

const Type& Type::port_base() const {
  const Type* t = this;
  while ((t->kind == Kind::Array || t->kind == Kind::Struct) && t->elem)
    t = t->elem.get();
  return *t;
}

unsigned Type::elem_bytes() const {
  switch (kind) {
    case Kind::Array:
    case Kind::Struct: return elem ? elem->value_bytes() : 0;
    case Kind::String: return 1;
    default: return value_bytes();
  }
}

unsigned Type::value_bytes() const {
  switch (kind) {
    case Kind::Scalar:
    case Kind::Port: return (bits + 7) / 8;
    case Kind::Struct:
    case Kind::Array: return count * (elem ? elem->value_bytes() : 0);
    case Kind::String: return count;
  }
  return 0;
}

KpdKind Type::kpd() const {
  switch (kind) {
    case Kind::Port: return KpdKind::Port;
    case Kind::Struct: return has_port_elements() ? KpdKind::Port : KpdKind::None;
    case Kind::Array:
      if (ool) return has_port_elements() ? KpdKind::OolPorts : KpdKind::Ool;
      return has_port_elements() ? KpdKind::Port : KpdKind::None;
    default: return KpdKind::None;
  }
}

unsigned Type::kpd_count() const {
  switch (kind) {
    case Kind::Port: return 1;
    case Kind::Struct:
    case Kind::Array:
      if (ool) return 1;
      return count * (elem ? elem->kpd_count() : 1);
    default: return 0;
  }
}

namespace {

// A C type for an anonymous basic type.
std::string anon_scalar_c_type(const Type& t) {
  if (t.kind == Type::Kind::Port) return "mach_port_t";
  switch (t.in_name) {
    case 15: return "mach_port_name_t";
    case 8: return "char";
    case 9: return "uint8_t";
    case 1: return "int16_t";
    case 2: return "int32_t";
    case 11: return "int64_t";
    case 10: return t.bits == 64 ? "double" : "float";
    case 12: return "char";
    case 0: return t.bits == 32 ? "boolean_t" : "uint8_t";
  }
  switch (t.bits) {
    case 8: return "uint8_t";
    case 16: return "uint16_t";
    case 64: return "uint64_t";
    default: return "uint32_t";
  }
}

}  // namespace

std::string Type::elem_c_type() const {
  if (kind == Kind::String) return "char";
  if ((kind == Kind::Array || kind == Kind::Struct) && elem)
    return elem->user_type();
  return user_type();
}

std::string Type::user_type() const {
  if (!cusertype.empty()) return cusertype;
  if (!ctype.empty()) return ctype;
  if (!name.empty()) return name;
  switch (kind) {
    case Kind::Scalar:
    case Kind::Port: return anon_scalar_c_type(*this);
    case Kind::String: return "char *";
    case Kind::Struct:
    case Kind::Array: return elem_c_type() + " *";
  }
  return "int";
}

std::string Type::server_type() const {
  if (!cservertype.empty()) return cservertype;
  if (!ctype.empty()) return ctype;
  if (!intran_arg.empty()) return intran_arg;
  if (!outtran_type.empty()) return outtran_type;
  if (!name.empty()) return name;
  if ((kind == Kind::Array || kind == Kind::Struct) && elem)
    return elem->server_type() + " *";
  return user_type();
}

std::string Type::trans_type() const {
  if (!intran.empty()) return intran_type;
  return server_type();
}

namespace {

// Arrays and strings decay to pointers in C; they are never passed by an
// extra level of reference.
std::string decl(const std::string& type, bool ref, const std::string& name,
                 bool is_const) {
  std::string s = is_const ? "const " : "";
  s += type;
  if (ref) {
    if (!s.empty() && s.back() == '*')
      s += "*";
    else
      s += " *";
  } else {
    if (s.empty() || s.back() != '*') s += " ";
  }
  return s + name;
}

// "const" applies to in-line arrays and strings, on both sides (Apple's
// WriteVarDecl).
bool const_applies(const Arg& a) {
  return a.is_const && (a.type->kind == Type::Kind::String ||
                        (a.type->kind == Type::Kind::Array && !a.type->ool));
}

}  // namespace

std::string Arg::user_decl() const {
  return decl(type->user_type(), user_ref, name, const_applies(*this));
}

std::string Arg::server_decl() const {
  return decl(type->trans_type(), server_ref, name, const_applies(*this));
}

unsigned Arg::rpc_words() const {
  const Type& t = *type;
  if (is_out()) return 1;  // passed by reference
  const Type* b = &t;
  unsigned n = 1;
  switch (t.kind) {
    case Type::Kind::Scalar: break;
    case Type::Kind::Struct:
      if (t.has_port_elements()) return 1;  // port descriptors
      while ((b->kind == Type::Kind::Struct || b->kind == Type::Kind::Array) && b->elem &&
             !b->ool && !b->variable) {
        n *= b->count;
        b = b->elem.get();
      }
      if (b->kind != Type::Kind::Scalar) return 1;
      break;
    case Type::Kind::Array:  // ^T of a single scalar is counted as T
      if (!t.ool || t.variable || t.count != 1 || !t.elem ||
          t.elem->kind != Type::Kind::Scalar)
        return 1;
      b = t.elem.get();
      break;
    default: return 1;
  }
  return b->bits >= 32 ? n * (b->bits / 32) : 1;
}

std::string Field::decl(bool server) const {
  std::string s = (server ? sctype : ctype) + " " + name;
  if (dim) s += "[" + std::to_string(dim) + "]";
  return s + ";";
}

const Field* Message::find(const Arg* a, Field::Role role) const {
  for (const auto& f : fields)
    if (f.arg == a && f.role == role) return &f;
  return nullptr;
}

bool Message::empty_body() const {
  for (const auto& f : fields)
    if (f.role == Field::Role::Data || f.role == Field::Role::Kpd ||
        f.role == Field::Role::Count)
      return false;
  return true;
}

std::vector<Arg*> Routine::user_args() const {
  std::vector<Arg*> v;
  for (const auto& a : args)
    if (a->user) v.push_back(a.get());
  return v;
}

std::vector<Arg*> Routine::server_args() const {
  std::vector<Arg*> v;
  for (const auto& a : args)
    if (a->server) v.push_back(a.get());
  return v;
}

}  // namespace mig
