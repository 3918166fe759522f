// The emitters: one per output file. Each returns the file's text.
#pragma once

#include <string>

#include "model.h"

namespace mig {

struct EmitContext {
  const Module& m;
  std::string header_name;   // file name (no directory) of the user header
  std::string sheader_name;  // of the server header ("" = none)
  std::string input_name;    // the .defs file, for comments
};

std::string emit_user_header(const EmitContext& cx);    // -header
std::string emit_user(const EmitContext& cx);           // -user
std::string emit_server(const EmitContext& cx);         // -server
std::string emit_server_header(const EmitContext& cx);  // -sheader
std::string emit_internal_header(const EmitContext& cx);  // -iheader
std::string emit_defines_header(const EmitContext& cx);   // -dheader
std::string emit_cxx(const EmitContext& cx);            // -cxx
std::string dump_layout(const Module& m);               // --dump-layout

}  // namespace mig
