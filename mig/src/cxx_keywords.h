// The reserved words of C++20. An argument of a .defs file may be named
// after one ("new", "class"): it is then spelled with a trailing '_' in
// every output, so that the headers also compile as C++ (the names of
// parameters and struct members are not part of the ABI).
#pragma once

#include <string_view>

namespace mig {

bool is_cxx_keyword(std::string_view word);

}  // namespace mig
