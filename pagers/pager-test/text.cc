// pagers/pager-test/text.cc — see text.h.
#include "text.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace pagerkit {

namespace {

uint64_t word_at(const uint8_t* p) {
  uint64_t w = 0;
  for (int b = 7; b >= 0; --b) w = (w << 8) | p[b];
  return w;
}

}  // namespace

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string word_difference(uint64_t base, const uint8_t* got, const uint8_t* want, uint64_t len) {
  for (uint64_t i = 0; i + 8 <= len; i += 8) {
    if (memcmp(got + i, want + i, 8) == 0) continue;
    char b[128];
    snprintf(b, sizeof b, "word at 0x%" PRIx64 " is 0x%016" PRIx64 ", expected 0x%016" PRIx64, base + i,
             word_at(got + i), word_at(want + i));
    return b;
  }
  return "";
}

}  // namespace pagerkit
