// Word-level scanning of one instruction line, as docker's parser does it: the --flags before
// the arguments, and the words of ENV/LABEL/ARG (quotes and escapes kept for expansion later).
#include "runtime/build/dockerfile_internal.h"
#include "runtime/build/text.h"

namespace vic::build::detail {

// --flag words before the arguments (docker's extractBuilderFlags): quotes and escapes are
// removed from them; "--" alone ends them. Returns what follows the flags.
std::string_view extractFlags(std::string_view line, char escape, std::vector<Flag>& flags) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  char quote = 0;
  bool blankOk = false;
  auto push = [&] {
    std::string_view w = std::string_view(word).substr(2);
    size_t eq = w.find('=');
    flags.push_back(eq == std::string_view::npos ? Flag{std::string(w), "", false}
                                                 : Flag{std::string(w.substr(0, eq)), std::string(w.substr(eq + 1)), true});
  };
  const size_t n = line.size();
  for (size_t pos = 0; pos <= n; ++pos) {
    char ch = pos < n ? line[pos] : '\0';
    if (phase == kSpaces) {
      if (pos == n) break;
      if (isSpace(ch)) continue;
      if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') return line.substr(pos);
      phase = kWord;
    }
    if (pos == n) {
      if (word != "--" && (blankOk || !word.empty())) push();
      break;
    }
    if (phase == kWord && isSpace(ch)) {
      phase = kSpaces;
      if (word == "--") return line.substr(pos);
      if (blankOk || !word.empty()) push();
      word.clear();
      blankOk = false;
      continue;
    }
    if (phase == kWord && (ch == '\'' || ch == '"')) {
      quote = ch;
      blankOk = true;
      phase = kQuote;
      continue;
    }
    if (phase == kQuote && ch == quote) {
      phase = kWord;
      continue;
    }
    if (ch == escape) {
      if (pos + 1 == n) {  // an escape at the end is skipped
        phase = kWord;
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return {};
}

// docker's parseWords: words split at unquoted whitespace, quotes and escapes kept.
std::vector<std::string> parseWords(std::string_view rest, char escape) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool blankOk = false;
  const size_t n = rest.size();
  for (size_t pos = 0; pos <= n; ++pos) {
    char ch = pos < n ? rest[pos] : '\0';
    if (phase == kSpaces) {
      if (pos == n) break;
      if (isSpace(ch)) continue;
      phase = kWord;
    }
    if (pos == n) {
      if (blankOk || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == kWord) {
      if (isSpace(ch)) {
        phase = kSpaces;
        if (blankOk || !word.empty()) words.push_back(word);
        word.clear();
        blankOk = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blankOk = true;
        phase = kQuote;
      }
      if (ch == escape) {
        if (pos + 1 == n) continue;  // an escape at the end is dropped
        word += ch;                  // kept, with what it escapes
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    if (ch == quote) phase = kWord;
    if (ch == escape && quote != '\'') {  // nothing escapes inside '...'
      if (pos + 1 == n) {
        phase = kWord;
        continue;
      }
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  return words;
}

std::vector<std::string> splitBlanks(std::string_view rest) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && isBlank(rest[i])) ++i;
    size_t start = i;
    while (i < rest.size() && !isBlank(rest[i])) ++i;
    if (i > start) out.emplace_back(rest.substr(start, i - start));
  }
  return out;
}

}  // namespace vic::build::detail
