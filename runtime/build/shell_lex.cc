#include "runtime/build/shell_lex.h"

#include <optional>

#include "runtime/build/shell_pattern.h"
#include "runtime/build/text.h"

namespace vic::build {
namespace {

using detail::isSpace;

constexpr int kEof = -1;

Error lexError(std::string message) { return Error(Errc::kInvalidArgument, std::move(message)); }

// docker's word splitting at one level: unquoted whitespace ends a word; quoted or escaped text
// is added raw (an empty "" marks a word as started but adds no word by itself).
struct Words {
  std::vector<std::string> words;
  std::string buf;
  bool inWord = false;

  void addChar(char c) {
    if (isSpace(c)) {
      if (inWord && !buf.empty()) {
        words.push_back(std::move(buf));
        buf.clear();
        inWord = false;
      }
      return;
    }
    addRawChar(c);
  }
  void addRawChar(char c) {
    buf += c;
    inWord = true;
  }
  void addString(std::string_view s) {
    for (char c : s) addChar(c);
  }
  void addRawString(std::string_view s) {
    buf += s;
    inWord = true;
  }
  std::vector<std::string> finish() {
    if (!buf.empty()) words.push_back(std::move(buf));
    return std::move(words);
  }
};

struct Processed {
  std::string text;
  std::vector<std::string> words;
};

class Lexer {
 public:
  Lexer(std::string_view src, const Vars& vars, char escape) : src_(src), vars_(vars), esc_(escape) {}

  Result<Processed> run() { return processStopOn(kEof, false, 0); }

 private:
  int peek() const { return pos_ < src_.size() ? static_cast<unsigned char>(src_[pos_]) : kEof; }
  int next() { return pos_ < src_.size() ? static_cast<unsigned char>(src_[pos_++]) : kEof; }

  Result<Processed> processStopOn(int stop, bool rawEscapes, int depth);
  Result<std::string> singleQuote();
  Result<std::string> doubleQuote(bool rawEscapes, int depth);
  Result<std::string> dollar(int depth);
  Result<std::string> modifier(const std::string& name, int ch, bool nullIsUnset, int depth);
  Result<std::string> replace(const std::string& name, int depth);
  Result<std::string> nested(int stop, bool rawEscapes, int depth, const char* missing);
  std::string processName();
  std::optional<std::string> lookup(const std::string& name) const {
    auto it = vars_.find(name);
    if (it == vars_.end()) return std::nullopt;
    return it->second;
  }
  // `c` (a byte just read) with the rest of its UTF-8 sequence, for messages
  std::string charText(int c) const {
    std::string out(1, static_cast<char>(c));
    for (size_t i = pos_; c >= 0x80 && i < src_.size() && (src_[i] & 0xC0) == 0x80; ++i) out += src_[i];
    return out;
  }
  Status grow(size_t size) const {
    if (size <= kMaxExpandedBytes) return ok();
    return lexError("expansion exceeds " + std::to_string(kMaxExpandedBytes) + " bytes");
  }

  std::string_view src_;
  const Vars& vars_;
  char esc_;
  size_t pos_ = 0;
  size_t steps_ = kMaxPatternSteps;
};

// Processes until `stop` (consumed) or the end: quotes, escapes and $ expansions.
Result<Processed> Lexer::processStopOn(int stop, bool rawEscapes, int depth) {
  Processed out;
  Words words;
  const int esc = static_cast<unsigned char>(esc_);
  while (peek() != kEof) {
    int ch = peek();
    if (stop != kEof && ch == stop) {
      next();
      out.words = words.finish();
      return out;
    }
    if (ch == '$' || ch == '\'' || ch == '"') {
      auto part = ch == '$' ? dollar(depth) : ch == '\'' ? singleQuote() : doubleQuote(rawEscapes, depth);
      if (!part) return std::move(part).error();
      out.text += *part;
      if (ch == '$') {
        words.addString(*part);
      } else {
        words.addRawString(*part);
      }
    } else {
      next();
      if (ch == esc) {
        if (rawEscapes) {
          words.addRawChar(static_cast<char>(ch));
          out.text += static_cast<char>(ch);
        }
        ch = next();
        if (ch == kEof) break;  // an escape at the end is dropped
        words.addRawChar(static_cast<char>(ch));
      } else {
        words.addChar(static_cast<char>(ch));
      }
      out.text += static_cast<char>(ch);
    }
    if (auto g = grow(out.text.size()); !g) return std::move(g).error();
  }
  if (stop != kEof) {
    return lexError("unexpected end of statement while looking for matching " + std::string(1, static_cast<char>(stop)));
  }
  out.words = words.finish();
  return out;
}

Result<std::string> Lexer::singleQuote() {
  next();
  std::string out;
  for (;;) {
    int ch = next();
    if (ch == kEof) return lexError("unexpected end of statement while looking for matching single-quote");
    if (ch == '\'') return out;
    out += static_cast<char>(ch);
  }
}

Result<std::string> Lexer::doubleQuote(bool rawEscapes, int depth) {
  next();
  std::string out;
  const int esc = static_cast<unsigned char>(esc_);
  for (;;) {
    int ch = peek();
    if (ch == kEof) return lexError("unexpected end of statement while looking for matching double-quote");
    if (ch == '"') {
      next();
      return out;
    }
    if (ch == '$') {
      auto value = dollar(depth);
      if (!value) return std::move(value).error();
      out += *value;
    } else {
      ch = next();
      if (ch == esc) {
        if (rawEscapes) out += static_cast<char>(ch);
        int after = peek();
        if (after == kEof) continue;  // reported as the missing quote
        if (after == '"' || after == '$' || after == esc) ch = next();  // others stay literal
      }
      out += static_cast<char>(ch);
    }
    if (auto g = grow(out.size()); !g) return std::move(g).error();
  }
}

// A name: letters, digits and '_' (bytes past ASCII count as letters); all digits when it starts
// with one ($10 is positional parameter 10); one character for a special parameter.
std::string Lexer::processName() {
  std::string name;
  while (peek() != kEof) {
    int ch = peek();
    bool digit = ch >= '0' && ch <= '9';
    if (name.empty() && digit) {
      while (peek() >= '0' && peek() <= '9') name += static_cast<char>(next());
      return name;
    }
    if (name.empty() && (ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' || ch == '$' || ch == '!')) {
      return std::string(1, static_cast<char>(next()));
    }
    bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch >= 0x80;
    if (!letter && !digit && ch != '_') break;
    name += static_cast<char>(next());
  }
  return name;
}

// The text up to `stop` inside ${...}; an error at the end of the input is `missing`.
Result<std::string> Lexer::nested(int stop, bool rawEscapes, int depth, const char* missing) {
  if (depth + 1 > kMaxExpansionDepth) {
    return lexError("${} nested more than " + std::to_string(kMaxExpansionDepth) + " deep");
  }
  auto word = processStopOn(stop, rawEscapes, depth + 1);
  if (!word) {
    if (peek() == kEof) return lexError(missing);
    return std::move(word).error();
  }
  return std::move(word->text);
}

Result<std::string> Lexer::dollar(int depth) {
  next();
  if (peek() != '{') {
    std::string name = processName();
    if (name.empty()) return std::string("$");
    return lookup(name).value_or("");
  }
  next();
  int first = peek();
  if (first == kEof) return lexError("syntax error: missing '}'");
  if (first == '{' || first == '}' || first == ':') return lexError("syntax error: bad substitution");
  std::string name = processName();
  int ch = next();
  if (ch == kEof) return lexError("syntax error: missing '}'");
  if (ch == '}') return lookup(name).value_or("");
  if (ch == '/') return replace(name, depth);
  bool nullIsUnset = ch == ':';
  if (!nullIsUnset && ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%') {
    return lexError("unsupported modifier (" + charText(ch) + ") in substitution");
  }
  return modifier(name, nullIsUnset ? next() : ch, nullIsUnset, depth);
}

// ${name<op>word} and ${name:<op>word}, `op` read already.
Result<std::string> Lexer::modifier(const std::string& name, int op, bool nullIsUnset, int depth) {
  std::string ops = (nullIsUnset ? ":" : "") + (op == kEof ? std::string() : charText(op));
  bool pattern = op == '#' || op == '%';
  if (nullIsUnset && pattern) return lexError("unsupported modifier (" + ops + ") in substitution");
  auto word = nested('}', pattern, depth, "syntax error: missing '}'");
  if (!word) return std::move(word).error();
  auto value = lookup(name);
  bool empty = !value || (nullIsUnset && value->empty());
  switch (op) {
    case '-':
      return empty ? *word : *value;
    case '+':
      return empty ? std::string() : *word;
    case '?':
      if (!value) return lexError(name + ": " + (word->empty() ? "is not allowed to be unset" : *word));
      if (empty) return lexError(name + ": " + (word->empty() ? "is not allowed to be empty" : *word));
      return *value;
    case '#':
    case '%': {
      std::string_view glob = *word;
      bool greedy = !glob.empty() && glob[0] == static_cast<char>(op);
      if (greedy) glob.remove_prefix(1);
      return detail::trimShellPattern(value.value_or(""), glob, op == '%', greedy, steps_);
    }
    default:
      return lexError("unsupported modifier (" + ops + ") in substitution");
  }
}

// ${name/glob/text} and ${name//glob/text}, the first '/' read already.
Result<std::string> Lexer::replace(const std::string& name, int depth) {
  bool all = peek() == '/';
  if (all) next();
  auto glob = nested('/', true, depth, "syntax error: missing '/' in ${}");
  if (!glob) return std::move(glob).error();
  auto text = nested('}', true, depth, "syntax error: missing '}'");
  if (!text) return std::move(text).error();
  return detail::replaceShellPattern(lookup(name).value_or(""), *glob, *text, all, steps_);
}

Result<Processed> process(std::string_view word, const Vars& vars, char escape) {
  auto out = Lexer(word, vars, escape).run();
  if (!out) return Error(Errc::kInvalidArgument, "failed to process " + detail::goQuote(word) + ": " + out.error().message());
  return out;
}

}  // namespace

Result<std::string> expandWord(std::string_view word, const Vars& vars, char escape) {
  auto out = process(word, vars, escape);
  if (!out) return std::move(out).error();
  return std::move(out->text);
}

Result<std::vector<std::string>> expandWords(std::string_view text, const Vars& vars, char escape) {
  auto out = process(text, vars, escape);
  if (!out) return std::move(out).error();
  return std::move(out->words);
}

}  // namespace vic::build
