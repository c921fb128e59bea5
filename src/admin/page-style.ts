/** The admin pages' stylesheet, inlined under the CSP nonce (no external assets). */
export const STYLE = `
:root { --ink: #1c2024; --muted: #80838d; --line: #e8e8ec; --bg: #f3f4f6; --card: #fff; --accent: #3e63dd;
  --critical: #d6409f; --high: #f76b15; --medium: #3e63dd; --low: #12a594; --bad: #e5484d; --ok: #30a46c; --warn: #ffc53d;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header.top { position: sticky; top: 0; z-index: 5; display: flex; gap: .7rem; align-items: center; flex-wrap: wrap; padding: .6rem 1.2rem; background: #15181e; color: #fff; box-shadow: 0 1px 3px #0004; }
header.top h1 { font-size: 1.1rem; margin: 0 .4rem 0 0; letter-spacing: .01em; } header.top h1 a { color: #fff; }
header.top h1 span { color: #b0b4ba; font-weight: 500; }
.spacer { flex: 1; }
.pill { padding: .1rem .65rem; border-radius: 1rem; background: #2e333d; font-size: .85rem; white-space: nowrap; }
#status[data-status="running"] { background: #1f4d36; } #status[data-status="stopping"], #status[data-status="stopped"] { background: #6b2a2a; }
#load[data-level="elevated"], .level-elevated { background: #ad5700; color: #fff; } #load[data-level="critical"], .level-critical { background: var(--bad); color: #fff; }
.pill.bad { background: var(--bad); color: #fff; } .pill.bad[data-count="0"] { background: #2e333d; color: #b0b4ba; }
.meter { display: inline-flex; align-items: center; gap: .45rem; font-size: .85rem; white-space: nowrap; }
.meter .bar { width: 5rem; height: .45rem; border-radius: .3rem; background: #2e333d; overflow: hidden; display: inline-block; }
.meter .bar i { display: block; height: 100%; background: #46a758; }
header .muted { color: #9ba1ab; font-size: .85rem; }
body[data-state="error"] #updated { color: #ff9592; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; padding: 1rem 1.2rem 2rem; max-width: 1800px; margin: 0 auto; }
section { background: var(--card); border-radius: 8px; padding: .8rem 1rem; box-shadow: 0 1px 2px #0000000f, 0 0 0 1px #0000000a; min-width: 0; }
section.wide { grid-column: 1 / -1; }
.scroll { overflow-x: auto; }
h2 { font-size: .95rem; margin: .1rem 0 .6rem; display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
h3 { font-size: .85rem; margin: .9rem 0 .35rem; color: #60646c; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .28rem .55rem; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: top; }
th { font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
th.num, td.num { text-align: right; }
td.wrap { white-space: normal; overflow-wrap: anywhere; min-width: 12rem; }
td.hot { background: #fff1e7; } td.very-hot { background: #ffe5e5; }
tbody tr:hover td { background: #f8f9fb; }
code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: .85em; }
.muted { color: var(--muted); font-weight: normal; }
.error { color: var(--bad); }
.tier { display: inline-block; padding: 0 .45rem; border-radius: .7rem; font-size: .78rem; color: #fff; }
.tier-critical { background: var(--critical); } .tier-high { background: var(--high); } .tier-medium { background: var(--medium); } .tier-low { background: var(--low); }
.status { font-size: .8rem; padding: 0 .45rem; border-radius: .7rem; background: #edeef0; }
.status-failed, .status-expired { background: #ffe5e5; color: #ce2c31; } .status-completed { background: #e6f6eb; color: #218358; }
.status-running { background: #e6edfe; color: #3a5bc7; } .status-cancelled, .status-skipped { background: #f0f0f3; color: #60646c; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .8rem; background: none; box-shadow: none; padding: 0; }
.kpi { background: var(--card); border-radius: 8px; padding: .65rem .9rem; box-shadow: 0 1px 2px #0000000f, 0 0 0 1px #0000000a; }
.kpi b { display: block; font-size: 1.45rem; font-variant-numeric: tabular-nums; font-weight: 650; }
.kpi span { color: var(--muted); font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; }
.kpi.bad b { color: var(--bad); }
.kpi { position: relative; overflow: hidden; } .kpi svg.spark { position: absolute; right: .7rem; top: .7rem; width: 40%; height: 1.5rem; }
.charts-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .6rem 1.4rem; }
figure.chart { margin: 0; min-width: 0; position: relative; }
figure.chart figcaption { font-size: .8rem; font-weight: 600; color: #60646c; display: flex; gap: .8rem; flex-wrap: wrap; align-items: baseline; }
figure.chart svg { display: block; width: 100%; height: auto; overflow: visible; }
.legend { display: inline-flex; gap: .7rem; flex-wrap: wrap; font-weight: normal; color: var(--muted); }
h2 .legend { font-size: .78rem; }
.legend i { display: inline-block; width: .8rem; height: .2rem; border-radius: .1rem; vertical-align: middle; margin-right: .25rem; }
.legend i.dash { height: 0; border-top: 2px dashed; background: none !important; }
svg .grid line { stroke: #eceef1; } svg .axis text { fill: #8b8d98; font-size: 10px; font-variant-numeric: tabular-nums; }
svg .hover line { stroke: #8b8d98; stroke-dasharray: 2 2; }
.tip { position: absolute; pointer-events: none; background: #15181ee8; color: #fff; font-size: .75rem; padding: .35rem .5rem; border-radius: 4px; white-space: nowrap; z-index: 3; }
.tip b { font-weight: 600; }
.empty-chart { fill: #b9bbc6; font-size: 12px; }
.btn { font: inherit; font-size: .8rem; padding: .18rem .6rem; border-radius: 5px; border: 1px solid #d9d9e0; background: #fff; color: var(--ink); cursor: pointer; }
.btn:hover { background: #f3f4f6; } .btn.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.btn.danger { color: #ce2c31; border-color: #f4a9aa; } .btn.danger:hover { background: #fff0f0; }
header .btn { background: #2e333d; color: #fff; border-color: #3f4550; }
.actions-row { display: flex; gap: .4rem; flex-wrap: wrap; align-items: center; margin: .3rem 0; }
.actions-row.top { align-items: baseline; } .stack { display: flex; flex-direction: column; } .stack .actions-row { margin: 0 0 .3rem; }
input, select { font: inherit; font-size: .85rem; padding: .18rem .4rem; border: 1px solid #d9d9e0; border-radius: 5px; background: #fff; }
input[type="number"] { width: 6rem; }
textarea { font: .8rem/1.4 ui-monospace, "SF Mono", Menlo, Consolas, monospace; padding: .35rem .5rem; border: 1px solid #d9d9e0; border-radius: 5px; max-width: 100%; margin: .3rem 0; }
.note { background: #f9f9fb; border: 1px solid var(--line); border-radius: 6px; padding: .45rem .65rem; color: #60646c; font-size: .85rem; margin: .4rem 0; }
.note.off { background: #fff8e6; border-color: #f3d673; color: #6a4d00; }
#toast { position: fixed; right: 1.2rem; bottom: 1.2rem; max-width: 32rem; z-index: 10; padding: .7rem 1rem; border-radius: 8px; background: #15181e; color: #fff; box-shadow: 0 4px 16px #0003; }
#toast[data-ok="false"] { background: #ce2c31; }
dialog { border: none; border-radius: 10px; padding: 1.1rem 1.3rem; box-shadow: 0 10px 40px #0005; max-width: 30rem; }
dialog::backdrop { background: #15181e80; }
dialog h3 { margin-top: 0; color: var(--ink); font-size: 1rem; } dialog .actions-row { justify-content: flex-end; margin-top: 1rem; }
.pager { display: flex; gap: .5rem; align-items: center; justify-content: flex-end; margin-top: .4rem; font-size: .85rem; }
.tree, .tree ul { list-style: none; padding-left: 1rem; margin: 0; } .tree li { margin: .15rem 0; } .kind { color: #5a67d8; }
.list { padding-left: 1.2rem; margin: 0; } tr.self td:first-child { font-weight: bold; }
.trees { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: .4rem 1.2rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
form.search { display: flex; gap: .4rem; flex-wrap: wrap; align-items: center; margin-bottom: .5rem; }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 1.2rem; border-left: 2px solid var(--line); }
ol.timeline li { position: relative; padding: .35rem 0 .6rem .6rem; }
ol.timeline li::before { content: ""; position: absolute; left: -1.72rem; top: .62rem; width: .7rem; height: .7rem; border-radius: 50%; background: #fff; border: 2px solid var(--muted); }
ol.timeline li[data-kind="accepted"]::before, ol.timeline li[data-kind="due"]::before { border-color: var(--accent); }
ol.timeline li[data-kind="attempt"]::before, ol.timeline li[data-kind="running"]::before { border-color: var(--high); background: #fff1e7; }
ol.timeline li[data-kind="attempt"][data-ok="true"]::before { border-color: var(--ok); }
ol.timeline li[data-ok="false"]::before { border-color: var(--bad); background: #ffe5e5; }
ol.timeline li[data-kind="ended"][data-ok="true"]::before { border-color: var(--ok); background: #e6f6eb; }
ol.timeline time { color: var(--muted); font-size: .8rem; font-variant-numeric: tabular-nums; margin-right: .5rem; }
.errbox { background: #fff0f0; border: 1px solid #fdbdbe; color: #a4262c; border-radius: 6px; padding: .35rem .55rem; margin-top: .3rem; font-size: .85rem; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.value { background: #f9f9fb; border: 1px solid var(--line); border-radius: 6px; padding: .5rem .65rem; margin: .3rem 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: .8rem; max-height: 16rem; overflow: auto; }
@media (max-width: 1000px) { main, .charts-grid { grid-template-columns: minmax(0, 1fr); } }
`;
