// The C preprocessor stage. Like Apple's mig(1), the .defs input first goes
// through cpp ($CPP, or "cc -E -x c") with the -D/-U/-I flags; the output
// keeps "# line" markers so diagnostics name the original file and line.
#pragma once

#include <optional>
#include <string>

#include "diag.h"
#include "options.h"

namespace mig {

// Returns the preprocessed text, or nullopt after reporting an error.
std::optional<std::string> preprocess(const Options& opts, Diagnostics& diag);

// Reads a whole file ("-" = stdin) without preprocessing.
std::optional<std::string> read_file(const std::string& path,
                                     Diagnostics& diag);

}  // namespace mig
