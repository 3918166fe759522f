// Lexer: preprocessed .defs text -> tokens carrying file:line:column.
//
// Follows the preprocessor's line markers ("# 12 \"x.defs\" 1") so every
// token points at the original file. Comments are skipped too, so the
// lexer also works on input that was not preprocessed (--no-cpp).
// Keywords are not separate token kinds: MIG keywords are case-insensitive
// identifiers, recognised by the parser with Token::is_kw().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "diag.h"
#include "source.h"

namespace mig {

enum class Tok {
  End,
  Ident,
  Number,
  QString,    // "..." (text without the quotes)
  AngleFile,  // <...> after an import keyword (text without brackets)
  Semi, Comma, Colon, Equal, LBrack, RBrack, LParen, RParen,
  Caret, Star, Plus, Minus, Slash, Bar,
  Other,      // any other character (reported by the parser)
};

struct Token {
  Tok kind = Tok::End;
  std::string text;      // spelling as written
  uint64_t value = 0;    // for Number
  SourceLoc loc;

  // Case-insensitive keyword test (MIG keywords are case-insensitive).
  bool is_kw(std::string_view kw) const;
  // How the token is shown in "found '...'" messages.
  std::string shown() const;
};

const char* tok_name(Tok k);  // "';'", "identifier", ...

// Splits `text` into tokens; reports bad characters to `diag`. The last
// token is always Tok::End. `default_file` names the input until the first
// line marker.
std::vector<Token> lex(const std::string& text, const std::string& default_file,
                       Diagnostics& diag);

}  // namespace mig
