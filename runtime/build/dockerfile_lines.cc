// Pass one of the Dockerfile parser: physical lines -> instructions with flags and arguments.
#include <algorithm>
#include <optional>
#include <set>

#include "common/json.h"
#include "runtime/build/dockerfile_internal.h"
#include "runtime/build/text.h"

namespace vic::build::detail {
namespace {

Error parseError(std::string message) { return Error(Errc::kInvalidArgument, std::move(message)); }

// Go's regexp \s: [\t\n\f\r ].
bool isRegexSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// Physical lines, counted from 1, refusing one longer than docker's scanner takes.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool next(std::string_view& line) {
    if (pos_ >= text_.size() || !error_.message().empty()) return false;
    size_t nl = text_.find('\n', pos_);
    size_t end = nl == std::string_view::npos ? text_.size() : nl;
    ++line_;
    if (end - pos_ > kMaxDockerfileLine) {
      error_ = lineError(line_, "dockerfile line greater than max allowed size of " +
                                    std::to_string(kMaxDockerfileLine));
      return false;
    }
    line = text_.substr(pos_, end - pos_);
    pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
    if (line_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    return true;
  }
  int line() const { return line_; }
  const Error& error() const { return error_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 0;
  Error error_{Errc::kInvalidArgument, ""};
};

bool isComment(std::string_view line) {
  line = trimLeftSpace(line);
  return !line.empty() && line[0] == '#';
}

// Appends `line` to `buf` without its continuation escape; false when the line continues (it
// ends in the escape character, not itself escaped, before any trailing blanks).
bool appendLine(std::string_view line, char escape, std::string& buf) {
  size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  bool continues = end > 0 && line[end - 1] == escape && (end == 1 || line[end - 2] != escape);
  buf.append(continues ? line.substr(0, end - 1) : line);
  return !continues;
}

// Leading "# key=value" lines: syntax, escape and check, each at most once. Anything else ends
// them (and is an ordinary comment or line).
class DirectiveParser {
 public:
  Status parse(std::string_view line, int lineNo, Nodes& out) {
    if (done_) return ok();
    auto kv = split(line);
    if (!kv) {
      done_ = true;
      return ok();
    }
    auto [key, value] = *kv;
    if (!seen_.insert(key).second) return lineError(lineNo, "only one " + key + " parser directive can be used");
    if (key == "escape") {
      if (value != "`" && value != "\\") {
        return lineError(lineNo, "invalid escape token '" + value + "' does not match ` or \\");
      }
      out.escape = value[0];
    } else if (key == "syntax") {
      out.syntax = value;
    } else {
      out.check = value;
    }
    return ok();
  }

 private:
  static std::optional<std::pair<std::string, std::string>> split(std::string_view line) {
    if (line.empty() || line[0] != '#') return std::nullopt;
    line = trimLeftSpace(line.substr(1));
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    size_t k = 0;
    while (k < line.size() && (alpha(line[k]) || (k > 0 && line[k] >= '0' && line[k] <= '9'))) ++k;
    if (k == 0) return std::nullopt;
    std::string key = toLower(line.substr(0, k));
    while (k < line.size() && isRegexSpace(line[k])) ++k;
    if (k == line.size() || line[k] != '=') return std::nullopt;
    ++k;
    while (k < line.size() && isRegexSpace(line[k])) ++k;
    std::string_view value = line.substr(k);
    while (!value.empty() && isRegexSpace(value.back())) value.remove_suffix(1);
    if (value.empty() || (key != "syntax" && key != "escape" && key != "check")) return std::nullopt;
    return std::pair{key, std::string(value)};
  }

  bool done_ = false;
  std::set<std::string> seen_;
};

enum class JsonForm { kNotJson, kNotStrings, kStrings };

// A JSON array of strings (exec form)? Go's decoder refuses nesting past 10000; anything else
// that is valid JSON but not an array of strings is docker's error.
JsonForm parseJsonArgs(std::string_view rest, std::vector<std::string>& out) {
  rest = trimLeftSpace(rest);
  if (rest.empty() || rest[0] != '[' || !nlohmann::json::accept(rest)) return JsonForm::kNotJson;
  size_t depth = jsonDepth(rest, 10001);
  if (depth > 10000) return JsonForm::kNotJson;
  if (depth > 1) return JsonForm::kNotStrings;
  nlohmann::json j = parseJson(rest);
  for (const auto& v : j) {
    if (!v.is_string()) return JsonForm::kNotStrings;
  }
  for (const auto& v : j) out.push_back(v.get<std::string>());
  return JsonForm::kStrings;
}

constexpr const char* kNotStringArray = "when using JSON array syntax, arrays must be comprised of strings only";

// RUN, CMD, ENTRYPOINT, SHELL: exec form, or the whole rest as one argument.
Status parseMaybeJson(std::string_view rest, Instruction& ins) {
  if (rest.empty()) return ok();
  JsonForm form = parseJsonArgs(rest, ins.args);
  if (form == JsonForm::kNotStrings) return parseError(kNotStringArray);
  ins.execForm = form == JsonForm::kStrings;
  if (!ins.execForm) ins.args = {std::string(rest)};
  return ok();
}

// COPY, ADD, VOLUME: exec form, or words split at blanks (quotes are not special).
Status parseMaybeJsonToList(std::string_view rest, Instruction& ins) {
  JsonForm form = parseJsonArgs(rest, ins.args);
  if (form == JsonForm::kNotStrings) return parseError(kNotStringArray);
  ins.execForm = form == JsonForm::kStrings;
  if (!ins.execForm) ins.args = splitBlanks(rest);
  return ok();
}

// ENV and LABEL: name=value words, or the legacy "name value" (the rest of the line).
Status parseNameVal(std::string_view rest, std::string_view what, char escape, Instruction& ins) {
  std::vector<std::string> words = parseWords(rest, escape);
  if (words.empty()) return ok();
  if (words[0].find('=') == std::string::npos) {
    size_t i = 0;
    while (i < rest.size() && !isBlank(rest[i])) ++i;
    size_t j = i;
    while (j < rest.size() && isBlank(rest[j])) ++j;
    if (i == rest.size()) return parseError(std::string(what) + " must have two arguments");
    ins.pairs.push_back({std::string(rest.substr(0, i)), std::string(rest.substr(j)), true, true});
    return ok();
  }
  for (const std::string& w : words) {
    size_t eq = w.find('=');
    if (eq == std::string::npos) {
      return parseError("Syntax error - can't find = in " + goQuote(w) + ". Must be of the form: name=value");
    }
    ins.pairs.push_back({w.substr(0, eq), w.substr(eq + 1), true, false});
  }
  return ok();
}

// HEALTHCHECK: the type word, then CMD's arguments as RUN's.
Status parseHealthConfig(std::string_view rest, Instruction& ins) {
  size_t sep = 0;
  while (sep < rest.size() && !isSpace(rest[sep])) ++sep;
  if (sep == 0) return ok();
  size_t next = sep;
  while (next < rest.size() && isSpace(rest[next])) ++next;
  Instruction cmd;
  if (auto s = parseMaybeJson(rest.substr(next), cmd); !s) return s;
  ins.args = {std::string(rest.substr(0, sep))};
  ins.args.insert(ins.args.end(), cmd.args.begin(), cmd.args.end());
  ins.execForm = cmd.execForm;
  return ok();
}

struct KindName {
  std::string_view name;
  Kind kind;
};
constexpr KindName kKinds[] = {
    {"add", Kind::kAdd}, {"arg", Kind::kArg}, {"cmd", Kind::kCmd}, {"copy", Kind::kCopy},
    {"entrypoint", Kind::kEntrypoint}, {"env", Kind::kEnv}, {"expose", Kind::kExpose},
    {"from", Kind::kFrom}, {"healthcheck", Kind::kHealthcheck}, {"label", Kind::kLabel},
    {"maintainer", Kind::kMaintainer}, {"onbuild", Kind::kOnbuild}, {"run", Kind::kRun},
    {"shell", Kind::kShell}, {"stopsignal", Kind::kStopSignal}, {"user", Kind::kUser},
    {"volume", Kind::kVolume}, {"workdir", Kind::kWorkdir},
};

std::optional<Kind> kindOf(std::string_view keyword) {
  std::string lower = toLower(keyword);
  for (const KindName& k : kKinds) {
    if (k.name == lower) return k.kind;
  }
  return std::nullopt;
}

Status parseArgs(Kind kind, std::string_view rest, char escape, Node& node);

// One joined line -> a node (docker's newNodeFromLine); ONBUILD parses its trigger one level
// down, never further (ONBUILD ONBUILD is refused in pass two).
Result<Node> nodeFromLine(std::string_view line, char escape) {
  Node node;
  std::string_view t = trimSpace(line);
  size_t i = 0;
  while (i < t.size() && !isBlank(t[i])) ++i;
  node.ins.keyword = std::string(t.substr(0, i));
  while (i < t.size() && isBlank(t[i])) ++i;
  std::string_view rest = trimSpace(extractFlags(t.substr(i), escape, node.ins.flags));
  node.rawOriginal = std::string(line);
  node.ins.original = std::string(t);
  auto kind = kindOf(node.ins.keyword);
  node.known = kind.has_value();
  if (!kind) return node;
  node.ins.kind = *kind;
  if (auto s = parseArgs(*kind, rest, escape, node); !s) return std::move(s).error();
  return node;
}

Status parseArgs(Kind kind, std::string_view rest, char escape, Node& node) {
  Instruction& ins = node.ins;
  switch (kind) {
    case Kind::kAdd:
    case Kind::kCopy:
    case Kind::kVolume:
      return parseMaybeJsonToList(rest, ins);
    case Kind::kRun:
    case Kind::kCmd:
    case Kind::kEntrypoint:
    case Kind::kShell:
      return parseMaybeJson(rest, ins);
    case Kind::kArg:
      ins.args = parseWords(rest, escape);
      return ok();
    case Kind::kEnv:
      return parseNameVal(rest, "ENV", escape, ins);
    case Kind::kLabel:
      return parseNameVal(rest, "LABEL", escape, ins);
    case Kind::kExpose:
    case Kind::kFrom:
      ins.args = splitBlanks(rest);
      return ok();
    case Kind::kHealthcheck:
      return parseHealthConfig(rest, ins);
    case Kind::kMaintainer:
    case Kind::kStopSignal:
    case Kind::kUser:
    case Kind::kWorkdir:
      if (!rest.empty()) ins.args = {std::string(rest)};
      return ok();
    case Kind::kOnbuild: {
      if (rest.empty()) return ok();
      std::string_view r = trimSpace(rest);
      node.trigger = std::string(r.substr(0, std::min(r.size(), r.find_first_of(" \t\v\f\r"))));
      ins.args = {std::string(rest)};
      if (kindOf(node.trigger) == Kind::kOnbuild) return ok();
      auto sub = nodeFromLine(rest, escape);
      if (!sub) return std::move(sub).error();
      node.triggerExecForm = sub->ins.execForm;
      return ok();
    }
  }
  return ok();
}

// A heredoc word in a RUN/COPY/ADD line: [n]<<[-]NAME outside quotes (docker's lexer keeps blanks
// after "<<" in the word). Returns the word, or "" when there is none.
std::string findHeredoc(std::string_view line) {
  std::vector<std::string> words(1);
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    std::string& w = words.back();
    if (quote) {
      w += c;
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size()) w += line[++i];
    } else if (c == '\'' || c == '"') {
      quote = c;
      w += c;
    } else if (c == '\\' && i + 1 < line.size()) {
      w += c;
      w += line[++i];
    } else if (c == '<' && i + 1 < line.size() && line[i + 1] == '<') {
      w += "<<";
      for (++i; i + 1 < line.size() && (line[i + 1] == ' ' || line[i + 1] == '\t' || line[i + 1] == '\r');) w += line[++i];
    } else if (isSpace(c)) {
      if (!w.empty()) words.emplace_back();
    } else {
      w += c;
    }
  }
  for (const std::string& w : words) {
    size_t k = 0;
    while (k < w.size() && w[k] >= '0' && w[k] <= '9') ++k;
    if (w.compare(k, 2, "<<") != 0) continue;
    k += 2;
    if (k < w.size() && w[k] == '-') ++k;
    while (k < w.size() && isRegexSpace(w[k])) ++k;
    if (k < w.size() && w.find('<', k) == std::string::npos) return w;
  }
  return {};
}

// RUN, COPY, ADD (directly or as an ONBUILD trigger) in shell form with "<<".
bool mayHaveHeredoc(const Node& node) {
  if (!node.known) return false;
  auto kind = node.ins.kind == Kind::kOnbuild ? kindOf(node.trigger) : std::optional(node.ins.kind);
  bool exec = node.ins.kind == Kind::kOnbuild ? node.triggerExecForm : node.ins.execForm;
  if (!kind || exec) return false;
  if (*kind != Kind::kRun && *kind != Kind::kCopy && *kind != Kind::kAdd) return false;
  return node.rawOriginal.find("<<") != std::string::npos;
}

// One instruction's lines joined: its first line, then continuation lines (comments and blank
// lines among them skipped, as docker does).
struct Logical {
  std::string text;
  int start = 0;
  bool emptyContinuation = false;
};

}  // namespace

Error lineError(int line, std::string_view message) {
  return Error(Errc::kInvalidArgument,
               "dockerfile parse error on line " + std::to_string(line) + ": " + std::string(message));
}

Result<Nodes> parseNodes(std::string_view text, char escape) {
  Nodes out;
  out.escape = escape;
  LineReader reader(text);
  DirectiveParser directives;
  std::string_view raw;
  while (reader.next(raw)) {
    std::string_view first = trimLeftSpace(raw);
    if (auto s = directives.parse(first, reader.line(), out); !s) return std::move(s).error();
    if (isComment(first)) continue;
    Logical l;
    l.start = reader.line();
    bool end = appendLine(first, out.escape, l.text);
    if (end && l.text.empty()) continue;
    while (!end && reader.next(raw)) {
      if (isComment(raw)) continue;
      if (trimLeftSpace(raw).empty()) {
        l.emptyContinuation = true;
        continue;
      }
      end = appendLine(raw, out.escape, l.text);
    }
    if (l.emptyContinuation) out.warnings.push_back("Empty continuation line found in: " + l.text);
    auto node = nodeFromLine(l.text, out.escape);
    if (!node) return lineError(l.start, node.error().message());
    node->ins.line = l.start;
    node->ins.endLine = reader.line();
    if (mayHaveHeredoc(*node)) {
      if (std::string word = findHeredoc(node->rawOriginal); !word.empty()) {
        if (word.size() > 64) word = word.substr(0, 64) + "...";
        return lineError(l.start, "heredocs (" + word + ") are not supported by this builder");
      }
    }
    out.nodes.push_back(std::move(*node));
  }
  if (!reader.error().message().empty()) return reader.error();
  return out;
}

}  // namespace vic::build::detail
