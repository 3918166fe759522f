// pagers/pager-test/text.h — how the kit writes numbers and differing
// bytes in its findings.
//
//   hex(v): "0x" and v in lower-case hexadecimal.
//   word_difference(base, got, want, len): the first 8-byte word where the
//     len bytes at object offset `base` differ, as "word at 0x<offset> is
//     0x<got>, expected 0x<want>" (little-endian words); "" if equal.
#pragma once

#include <cstdint>
#include <string>

namespace pagerkit {

std::string hex(uint64_t v);
std::string word_difference(uint64_t base, const uint8_t* got, const uint8_t* want, uint64_t len);

}  // namespace pagerkit
