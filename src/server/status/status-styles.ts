// The status page's stylesheet, inlined into the page (no external CSS or fonts: the machine may be offline). System
// fonts only; colours carry state (green caught up, amber lagging, red stale or failed, grey unknown) and every state
// also has a word, so the page reads without colour too. Must never: reference a URL.

export const STATUS_STYLES = `
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa;
  --ok: #1a7f37; --ok-bg: #dafbe1; --warn: #9a6700; --warn-bg: #fff8c5; --bad: #cf222e; --bad-bg: #ffebe9;
  --unknown: #59636e; --unknown-bg: #eff2f5; --accent: #0969da;
}
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 16px; padding: 14px 24px; border-bottom: 1px solid var(--line); background: var(--panel); position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 18px; margin: 0; }
header .meta { color: var(--muted); }
header .refresh { margin-left: auto; color: var(--muted); user-select: none; }
main { padding: 8px 24px 24px; max-width: 1280px; }
footer { padding: 0 24px 24px; max-width: 1280px; color: var(--muted); font-size: 12px; }
h2 { font-size: 16px; margin: 28px 0 8px; display: flex; align-items: center; gap: 10px; }
h2 .count { font-weight: normal; color: var(--muted); }
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.state { font-weight: 600; padding: 3px 10px; border-radius: 999px; text-transform: uppercase; font-size: 12px; letter-spacing: .04em; }
.state.ok { color: var(--ok); background: var(--ok-bg); }
.state.lagging { color: var(--warn); background: var(--warn-bg); }
.state.stale, .state.degraded { color: var(--bad); background: var(--bad-bg); }
.problems { margin: 16px 0 0; padding: 10px 14px 10px 30px; background: var(--warn-bg); border: 1px solid #d4a72c66; border-radius: 6px; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 4px; }
.stat { min-width: 150px; padding: 10px 14px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); display: flex; flex-direction: column; }
.stat .label { color: var(--muted); font-size: 12px; }
.stat .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.stat.bad .value { color: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 4px 0; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--panel); white-space: nowrap; }
tbody th { font-weight: 600; }
tbody tr:hover { background: #f6f8fa80; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.behind td[data-field="lag"], .bad { color: var(--bad); font-weight: 600; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.pill.caught-up { color: var(--ok); background: var(--ok-bg); }
.pill.lagging { color: var(--warn); background: var(--warn-bg); }
.pill.stale { color: var(--bad); background: var(--bad-bg); }
.pill.unknown { color: var(--unknown); background: var(--unknown-bg); }
.tag { font-size: 11px; font-weight: normal; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; }
.error { margin: 8px 0; padding: 8px 12px; border: 1px solid #ff818266; background: var(--bad-bg); border-radius: 6px; color: var(--bad); }
.error-text { color: var(--bad); }
.empty { color: var(--muted); font-style: italic; }
.button { font-size: 13px; font-weight: normal; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; background: var(--panel); }
#freshness-chart { display: block; max-width: 960px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
#freshness-chart .grid { stroke: #eaeef2; }
#freshness-chart .axis, #freshness-chart .tick-mark { stroke: #8c959f; }
#freshness-chart .tick { fill: var(--muted); font-size: 11px; }
#freshness-chart .axis-label { fill: var(--fg); font-size: 12px; }
.legend { list-style: none; padding: 0; margin: 8px 0; display: flex; flex-wrap: wrap; gap: 6px 18px; }
.legend li { display: flex; align-items: center; gap: 6px; }
`;
