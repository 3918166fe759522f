// Semantic checks: resolves types, gives every argument its role and
// implicit companions (Cnt, Poly, Dealloc, ...), and computes the message
// layouts. Reports errors/warnings; returns nullptr if there were errors.
#pragma once

#include <memory>

#include "ast.h"
#include "diag.h"
#include "model.h"

namespace mig {

std::unique_ptr<Module> analyze(const ast::File& file, Diagnostics& diag);

// Computes r.request and r.reply (called by analyze; exposed for tests).
void compute_layout(Routine& r);

}  // namespace mig
