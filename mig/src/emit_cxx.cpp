// The typed C++ face (-cxx): written in a later step.
#include "emit.h"
#include "emit_common.h"

namespace mig {

std::string emit_cxx(const EmitContext& cx) {
  Printer p;
  p.raw(generated_banner(cx, "C++ face"));
  p("#pragma once");
  return p.str();
}

}  // namespace mig
