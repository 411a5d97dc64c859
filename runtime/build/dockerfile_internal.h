// The two passes of the Dockerfile parser, as docker has them: lines -> nodes (directives,
// comments, continuations, each instruction's flags and arguments: buildkit's parser package),
// then nodes -> checked instructions and stages (its instructions package). Internal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/build/dockerfile.h"

namespace vic::build::detail {

struct Node {
  Instruction ins;          // kind, keyword, original, lines, flags, args, execForm, pairs
  bool known = false;       // false: ins.keyword is no instruction docker knows
  std::string rawOriginal;  // docker's Node.Original: the joined line, untrimmed on the right
  std::string trigger;      // ONBUILD: the trigger's keyword as written
  bool triggerExecForm = false;
};

struct Nodes {
  std::vector<Node> nodes;
  char escape = '\\';
  std::string syntax;
  std::string check;
  std::vector<std::string> warnings;
};

// "dockerfile parse error on line <line>: <message>"
Error lineError(int line, std::string_view message);

// Pass one over `text`, starting with `escape` (a "# escape=" directive may change it).
Result<Nodes> parseNodes(std::string_view text, char escape);

// The --flag words at the front of `line` (docker's extractBuilderFlags: quotes and escapes
// removed, "--" alone ends them); returns what follows them.
std::string_view extractFlags(std::string_view line, char escape, std::vector<Flag>& flags);
// docker's parseWords: `rest` split at unquoted whitespace, quotes and escapes kept.
std::vector<std::string> parseWords(std::string_view rest, char escape);
// Words separated by runs of [\t\v\f\r ] (quotes are not special).
std::vector<std::string> splitBlanks(std::string_view rest);

// Pass two for one node: docker's per-instruction checks; fills the typed fields.
Status checkNode(Node& node);

}  // namespace vic::build::detail
