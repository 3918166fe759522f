#include "lexer.h"

#include <cctype>
#include <cstdlib>
#include <map>

namespace mig {

bool Token::is_kw(std::string_view kw) const {
  if (kind != Tok::Ident || text.size() != kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(kw[i])))
      return false;
  return true;
}

std::string Token::shown() const {
  switch (kind) {
    case Tok::End: return "end of file";
    case Tok::QString: return "\"" + text + "\"";
    case Tok::AngleFile: return "<" + text + ">";
    default: return "'" + text + "'";
  }
}

const char* tok_name(Tok k) {
  switch (k) {
    case Tok::End: return "end of file";
    case Tok::Ident: return "identifier";
    case Tok::Number: return "number";
    case Tok::QString: return "quoted string";
    case Tok::AngleFile: return "file name";
    case Tok::Semi: return "';'";
    case Tok::Comma: return "','";
    case Tok::Colon: return "':'";
    case Tok::Equal: return "'='";
    case Tok::LBrack: return "'['";
    case Tok::RBrack: return "']'";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::Caret: return "'^'";
    case Tok::Star: return "'*'";
    case Tok::Plus: return "'+'";
    case Tok::Minus: return "'-'";
    case Tok::Slash: return "'/'";
    case Tok::Bar: return "'|'";
    case Tok::Other: return "character";
  }
  return "token";
}

namespace {

class Lexer {
 public:
  Lexer(const std::string& text, const std::string& file, Diagnostics& diag)
      : s_(text), diag_(diag) {
    file_ = intern(file);
  }

  std::vector<Token> run() {
    std::vector<Token> out;
    bool at_line_start = true;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\n') {
        advance_line();
        at_line_start = true;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++i_;
        continue;
      }
      if (c == '#' && at_line_start) {
        directive();
        continue;
      }
      at_line_start = false;
      if (c == '/' && peek(1) == '*') {
        block_comment();
        continue;
      }
      if (c == '/' && peek(1) == '/') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
        continue;
      }
      Token t;
      t.loc = loc();
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t b = i_;
        while (i_ < s_.size() &&
               (std::isalnum(static_cast<unsigned char>(s_[i_])) ||
                s_[i_] == '_'))
          ++i_;
        t.kind = Tok::Ident;
        t.text = s_.substr(b, i_ - b);
        bool import = t.is_kw("import") || t.is_kw("uimport") ||
                      t.is_kw("simport") || t.is_kw("dimport") ||
                      t.is_kw("iimport");
        out.push_back(std::move(t));
        if (import) angle_file(out);
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t b = i_;
        while (i_ < s_.size() &&
               (std::isalnum(static_cast<unsigned char>(s_[i_]))))
          ++i_;
        t.kind = Tok::Number;
        t.text = s_.substr(b, i_ - b);
        std::string digits = t.text;
        // Accept C integer suffixes (u, l) as cpp output may carry them.
        while (!digits.empty() &&
               (digits.back() == 'u' || digits.back() == 'U' ||
                digits.back() == 'l' || digits.back() == 'L'))
          digits.pop_back();
        char* end = nullptr;
        t.value = std::strtoull(digits.c_str(), &end, 0);
        if (digits.empty() || (end && *end)) {
          diag_.error(t.loc, "malformed number '" + t.text + "'");
        }
        out.push_back(std::move(t));
        continue;
      }
      if (c == '"') {
        ++i_;
        size_t b = i_;
        while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\n') {
          if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
          ++i_;
        }
        t.kind = Tok::QString;
        t.text = s_.substr(b, i_ - b);
        if (i_ < s_.size() && s_[i_] == '"')
          ++i_;
        else
          diag_.error(t.loc, "missing terminating '\"' character");
        out.push_back(std::move(t));
        continue;
      }
      ++i_;
      t.text = std::string(1, c);
      switch (c) {
        case ';': t.kind = Tok::Semi; break;
        case ',': t.kind = Tok::Comma; break;
        case ':': t.kind = Tok::Colon; break;
        case '=': t.kind = Tok::Equal; break;
        case '[': t.kind = Tok::LBrack; break;
        case ']': t.kind = Tok::RBrack; break;
        case '(': t.kind = Tok::LParen; break;
        case ')': t.kind = Tok::RParen; break;
        case '^': t.kind = Tok::Caret; break;
        case '*': t.kind = Tok::Star; break;
        case '+': t.kind = Tok::Plus; break;
        case '-': t.kind = Tok::Minus; break;
        case '/': t.kind = Tok::Slash; break;
        case '|': t.kind = Tok::Bar; break;
        default: {
          unsigned char uc = static_cast<unsigned char>(c);
          diag_.error(t.loc, std::isprint(uc)
                                 ? "stray '" + t.text + "' in the input"
                                 : "stray byte " + std::to_string(uc) + " in the input");
          continue;
        }
      }
      out.push_back(std::move(t));
    }
    Token end;
    end.kind = Tok::End;
    end.loc = loc();
    out.push_back(std::move(end));
    return out;
  }

 private:
  char peek(size_t k) const {
    return i_ + k < s_.size() ? s_[i_ + k] : '\0';
  }
  SourceLoc loc() const {
    SourceLoc l;
    l.file = file_;
    l.line = line_;
    l.column = static_cast<int>(i_ - line_start_) + 1;
    return l;
  }
  void advance_line() {
    ++i_;
    ++line_;
    line_start_ = i_;
  }
  std::shared_ptr<const std::string> intern(const std::string& f) {
    auto it = files_.find(f);
    if (it != files_.end()) return it->second;
    auto p = std::make_shared<const std::string>(f);
    files_.emplace(f, p);
    return p;
  }

  void block_comment() {
    SourceLoc start = loc();
    i_ += 2;
    while (i_ < s_.size()) {
      if (s_[i_] == '*' && peek(1) == '/') {
        i_ += 2;
        return;
      }
      if (s_[i_] == '\n')
        advance_line();
      else
        ++i_;
    }
    diag_.error(start, "unterminated comment");
  }

  // A line starting with '#': a preprocessor line marker
  //   # 12 "file" flags      or      #line 12 "file"
  // Anything else (#pragma, #ident, unprocessed directives) is skipped.
  void directive() {
    size_t eol = s_.find('\n', i_);
    if (eol == std::string::npos) eol = s_.size();
    std::string line = s_.substr(i_ + 1, eol - i_ - 1);
    size_t p = 0;
    auto skip_ws = [&] {
      while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
    };
    skip_ws();
    if (line.compare(p, 4, "line") == 0) {
      p += 4;
      skip_ws();
    }
    bool handled = false;
    if (p < line.size() && std::isdigit(static_cast<unsigned char>(line[p]))) {
      long n = std::strtol(line.c_str() + p, nullptr, 10);
      while (p < line.size() && std::isdigit(static_cast<unsigned char>(line[p])))
        ++p;
      skip_ws();
      if (p < line.size() && line[p] == '"') {
        size_t q = line.find('"', p + 1);
        if (q != std::string::npos) file_ = intern(line.substr(p + 1, q - p - 1));
      }
      // The marker names the number of the *next* line.
      i_ = eol;
      if (i_ < s_.size()) {
        ++i_;
        line_start_ = i_;
      }
      line_ = static_cast<int>(n);
      handled = true;
    } else {
      std::string word;
      while (p < line.size() && std::isalpha(static_cast<unsigned char>(line[p])))
        word += line[p++];
      if (word != "pragma" && word != "ident" && !word.empty()) {
        diag_.warning(loc(), "preprocessor directive '#" + word +
                                 "' ignored (was the input preprocessed?)");
      }
    }
    if (!handled) {
      i_ = eol;  // the newline is consumed by the main loop
    }
  }

  // After an import keyword: <file> is one token.
  void angle_file(std::vector<Token>& out) {
    size_t j = i_;
    while (j < s_.size() && (s_[j] == ' ' || s_[j] == '\t')) ++j;
    if (j < s_.size() && s_[j] == '<') {
      size_t q = s_.find_first_of(">\n", j + 1);
      if (q != std::string::npos && s_[q] == '>') {
        i_ = j;
        Token t;
        t.loc = loc();
        t.kind = Tok::AngleFile;
        t.text = s_.substr(j + 1, q - j - 1);
        i_ = q + 1;
        out.push_back(std::move(t));
      }
    }
  }

  const std::string& s_;
  Diagnostics& diag_;
  std::map<std::string, std::shared_ptr<const std::string>> files_;
  std::shared_ptr<const std::string> file_;
  size_t i_ = 0;
  size_t line_start_ = 0;
  int line_ = 1;
};

}  // namespace

std::vector<Token> lex(const std::string& text, const std::string& default_file,
                       Diagnostics& diag) {
  Lexer l(text, default_file, diag);
  return l.run();
}

}  // namespace mig
