// Internal to sema: the types of a .defs file. Builds a Type from what is
// written (ast::TypeSpec, attributes, flags), checks it (sizes, port rights
// mixed with data, element types that must travel in line), and keeps the
// table of named types that `type` statements fill in file order. Reports
// errors through Diagnostics; every function returns nullptr after an error,
// and a name whose declaration failed is known and null, so that it is
// reported once.
#pragma once

#include <map>
#include <string>

#include "ast.h"
#include "diag.h"
#include "model.h"

namespace mig {

// A flag as written in a .defs file ("dealloc[]"), for messages.
std::string flag_name(ast::Flag f);

class TypeTable {
 public:
  explicit TypeTable(Diagnostics& d) : diag_(d) {}

  // A type statement: the name means the new type from here on.
  TypeRef declare(const ast::TypeDecl& d);

  // The type of an argument: a name of the table, a named declaration
  // ("x : t = spec", for this argument only: the file's 't' keeps its
  // meaning) or an anonymous one ("x : array[*:4] of int", with its own
  // C names and translations).
  TypeRef of_argument(const ast::ArgDecl& ad);

 private:
  TypeRef build(const ast::TypeSpec& ts);
  TypeRef basic(const ast::TypeSpec& ts);
  TypeRef lookup(const std::string& name, const SourceLoc& loc);
  std::string suggest(const std::string& name) const;
  bool inline_fixed(const Type& e, const SourceLoc& loc);
  void apply_attrs(Type& t, const ast::TypeAttrs& a);
  TypeRef make_named(const TypeRef& base, const std::string& name,
                     const SourceLoc& loc, const ast::TypeAttrs& attrs);

  Diagnostics& diag_;
  std::map<std::string, TypeRef> types_;
};

}  // namespace mig
