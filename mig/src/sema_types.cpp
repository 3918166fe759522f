// Types: from what a .defs file writes to a checked Type, and the table of
// named types (see sema_types.h).
#include "sema_types.h"

#include <algorithm>
#include <vector>

#include "parser.h"

namespace mig {
namespace {

using K = Type::Kind;

bool is_port_name(int n) { return n == kPolymorphic || (n >= 16 && n <= 26); }

size_t edit_distance(const std::string& a, const std::string& b) {
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

// Do two types travel the same way and have the same C names?
bool same_wire(const Type& a, const Type& b) {
  if (a.kind != b.kind || a.in_name != b.in_name || a.out_name != b.out_name ||
      a.bits != b.bits || a.count != b.count || a.variable != b.variable ||
      a.ool != b.ool || a.user_type() != b.user_type() ||
      a.server_type() != b.server_type())
    return false;
  if (!a.elem || !b.elem) return a.elem == b.elem;
  return same_wire(*a.elem, *b.elem);
}

}  // namespace

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

// Returns nullptr after reporting an error.
TypeRef TypeTable::build(const ast::TypeSpec& ts) {
  using TK = ast::TypeSpec::Kind;
  switch (ts.kind) {
    case TK::Named: return lookup(ts.name, ts.loc);
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

// The type of that name; reported (once) when there is none.
TypeRef TypeTable::lookup(const std::string& name, const SourceLoc& loc) {
  auto it = types_.find(name);
  if (it == types_.end()) {
    diag_.error(loc, "unknown type '" + name + "'" + suggest(name));
    types_[name] = nullptr;  // report once
    return nullptr;
  }
  return it->second;  // nullptr if its declaration failed
}

// "; did you mean 'x'?" for a known type a short edit away.
std::string TypeTable::suggest(const std::string& name) const {
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

bool TypeTable::inline_fixed(const Type& e, const SourceLoc& loc) {
  if ((e.kind == K::Array && (e.ool || e.variable)) ||
      (e.kind == K::String && e.variable)) {
    diag_.error(loc, "element type must have a fixed size and travel "
                     "in line (arrays of variable-sized or out-of-line "
                     "types are not supported)");
    return false;
  }
  return true;
}

TypeRef TypeTable::basic(const ast::TypeSpec& ts) {
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

void TypeTable::apply_attrs(Type& t, const ast::TypeAttrs& a) {
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

TypeRef TypeTable::make_named(const TypeRef& base, const std::string& name,
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

TypeRef TypeTable::declare(const ast::TypeDecl& d) {
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

TypeRef TypeTable::of_argument(const ast::ArgDecl& ad) {
  if (ad.named_decl) {
    // Apple's itTypeDecl without itInsert: the table is left alone.
    const ast::TypeDecl& d = *ad.named_decl;
    TypeRef base = build(*d.spec);
    if (!base) return nullptr;
    return make_named(base, d.name, d.loc, d.attrs);
  }
  if (ad.anon_spec) {
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
    return b;
  }
  return lookup(ad.type_name, ad.type_loc);
}

}  // namespace mig
