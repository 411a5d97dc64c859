#include "runtime/vicadmin/static_files.h"

namespace vic::vicadmin {

namespace {

constexpr std::string_view kCss = R"css(/* vicadmin: one stylesheet, no framework. */
:root { --ok: #1b7f3b; --fail: #b3261e; --ink: #1d232a; --muted: #5f6b76; --line: #d9dee3; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
header { padding: 10px 20px; background: #22303c; color: #fff; }
header .brand { font-weight: 600; letter-spacing: .02em; }
header .vch { margin-left: 8px; padding: 1px 8px; border-radius: 10px; background: #3d5466; }
nav { display: flex; flex-wrap: wrap; gap: 2px; padding: 0 20px; background: #fff; border-bottom: 1px solid var(--line); }
nav a { padding: 9px 12px; color: var(--ink); text-decoration: none; border-bottom: 2px solid transparent; }
nav a.active, nav a:hover { border-bottom-color: #2f6fae; }
nav form { margin-left: auto; }
nav button { margin: 6px 0; }
main { padding: 16px 20px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 14px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid var(--line); }
thead th { background: #eef1f4; font-weight: 600; }
table.facts { width: auto; min-width: 480px; }
table.facts th { width: 180px; color: var(--muted); font-weight: 500; }
tr.check td.verdict { font-weight: 700; width: 56px; }
tr.check.ok td.verdict { color: #fff; background: var(--ok); }
tr.check.fail td.verdict { color: #fff; background: var(--fail); }
tr.check.fail td.reason { color: var(--fail); }
.summary { padding: 8px 12px; border-radius: 4px; color: #fff; display: inline-block; }
.summary.ok { background: var(--ok); }
.summary.fail { background: var(--fail); }
.alert { padding: 8px 12px; border-left: 4px solid var(--fail); background: #fdecea; color: var(--fail); }
.empty, .hint { color: var(--muted); }
td.state.running { color: var(--ok); font-weight: 600; }
td.state.exited, td.state.dead { color: var(--muted); }
svg.spark { background: #f0f3f6; border: 1px solid var(--line); }
svg.spark polyline { fill: none; stroke-width: 1.5; }
svg.spark.cpu polyline { stroke: #2f6fae; }
svg.spark.mem polyline { stroke: #8a4baf; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
pre#log { background: #111820; color: #dfe6ec; padding: 10px; max-height: 75vh; overflow: auto; font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; word-break: break-all; }
form.login { display: flex; gap: 8px; align-items: center; background: #fff; padding: 14px; border: 1px solid var(--line); max-width: 560px; }
form.login input { flex: 1; padding: 6px; }
button { padding: 5px 12px; }
)css";

constexpr std::string_view kJs = R"js(// vicadmin: follows a log view's new lines over server-sent events. The page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var pre = document.getElementById("log");
  if (!pre || !pre.dataset.follow || !window.EventSource) return;
  var atBottom = function () { return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40; };
  pre.scrollTop = pre.scrollHeight;
  var source = new EventSource(pre.dataset.follow);
  source.onmessage = function (ev) {
    var stick = atBottom();
    pre.appendChild(document.createTextNode(ev.data + "\n"));
    if (stick) pre.scrollTop = pre.scrollHeight;
  };
  source.addEventListener("end", function () { source.close(); });
});
)js";

}  // namespace

std::optional<StaticFile> staticFile(std::string_view path) {
  if (path == "/static/vicadmin.css") return StaticFile{"text/css; charset=utf-8", kCss};
  if (path == "/static/vicadmin.js") return StaticFile{"text/javascript; charset=utf-8", kJs};
  return std::nullopt;
}

}  // namespace vic::vicadmin
