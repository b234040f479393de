// The page's stylesheet (inlined: the page loads nothing).

/** Lane and writer colours: thread i's steps and the tokens process i wrote share a hue. */
export const LANE_COLORS = ['#0b7285', '#6741d9', '#c2410c', '#2b8a3e', '#c2255c', '#7c5e10'];
const TOKEN_FILLS = ['#e3f4f6', '#ece7fb', '#fdebe0', '#e6f4e8', '#fbe6ee', '#f3eddc'];

const lanes = LANE_COLORS.map((c, i) => `.lane-${i}{--lane:${c}}`).join('');
const tokens = TOKEN_FILLS.map((c, i) => `.tok-${i}{fill:${c};stroke:${LANE_COLORS[i]}}`).join('');

export const STYLE = `
:root{--bg:#f5f6f8;--panel:#fff;--ink:#1d2330;--muted:#5f6b7a;--line:#d9dee6;--accent:#1c5fd4;--chg:#f59f00;--chgbg:#fff6db;--bad:#d62f2f;--badbg:#fdeaea;--ok:#2b8a3e;
--sans:"DejaVu Sans","Segoe UI",system-ui,-apple-system,sans-serif;--mono:"DejaVu Sans Mono",ui-monospace,"SF Mono",Menlo,Consolas,monospace}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 var(--sans)}
a{color:var(--accent)}
code,.mono{font-family:var(--mono)}
header{padding:18px 28px 12px;background:var(--panel);border-bottom:1px solid var(--line)}
header h1{margin:0 0 4px;font-size:20px;font-weight:700;letter-spacing:-.01em}
header .desc{margin:0 0 8px;color:var(--muted);max-width:110ch}
.facts{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px;color:var(--muted)}
.facts b{color:var(--ink);font-weight:600}
.verdict{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:700;background:#e7f5ea;color:var(--ok)}
.verdict.bad{background:var(--badbg);color:var(--bad)}
.controls{position:sticky;top:0;z-index:5;display:flex;align-items:center;gap:12px;padding:9px 28px;background:#fbfcfd;border-bottom:1px solid var(--line)}
.controls button{font:inherit;font-size:13px;padding:4px 12px;border:1px solid var(--line);border-radius:6px;background:var(--panel);cursor:pointer}
.controls button:hover{border-color:var(--accent)}
.controls input[type=range]{flex:1;max-width:520px;accent-color:var(--accent)}
#pos{font-weight:700;min-width:9ch;font-variant-numeric:tabular-nums}
.hint{color:var(--muted);font-size:12px}
kbd{font:11px var(--mono);border:1px solid var(--line);border-bottom-width:2px;border-radius:4px;padding:0 4px;background:var(--panel)}
.layout{display:grid;grid-template-columns:minmax(380px,470px) 1fr;gap:20px;padding:16px 28px 40px;align-items:start}
.layout.two{grid-template-columns:minmax(460px,540px) 1fr}
.timeline{position:sticky;top:52px;max-height:calc(100vh - 70px);overflow:auto;background:var(--panel);border:1px solid var(--line);border-radius:10px}
.tl{display:grid;gap:0}
.tl .head{position:sticky;top:0;z-index:2;background:var(--panel);font-size:12px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);padding:8px 8px 6px;border-bottom:1px solid var(--line)}
.tl .head.lane{color:var(--lane);border-bottom:2px solid var(--lane)}
.tl .num{padding:8px 4px 0 8px;font:12px var(--mono);color:var(--muted);text-align:right;text-decoration:none}
.tl .cell{padding:4px 6px;min-width:0;border-left:1px dashed #e4e7ec}
.tl .r.sel{background:#eef4ff}
.tl .r.sel .num{color:var(--accent);font-weight:700}
.tl .r{display:contents}
.row-bg{grid-column:1/-1}
.step{border:1px solid var(--line);border-left:4px solid var(--lane);border-radius:6px;padding:5px 8px;background:var(--panel);cursor:pointer;font-size:13px}
.step:hover{border-color:var(--lane)}
.sel .step{box-shadow:0 0 0 2px var(--accent)}
.step .stmt{font-family:var(--mono);font-size:12.5px;word-break:break-word}
.step .ln{color:var(--muted);font:11px var(--mono);margin-right:6px}
.step .who{font-size:11px;font-weight:700;color:var(--lane);margin-right:6px}
.ev{margin:3px 0 0;padding:0;list-style:none;font-size:12px;color:#394150}
.ev li{margin:2px 0;padding-left:10px;text-indent:-10px;word-break:break-word}
.ev .fn{font-family:var(--mono);font-weight:700;color:#22303f}
.ev li.dec{color:var(--ink)}
.ev li.dec .fn{color:#8a3b00}
.cite{font:11px var(--mono);white-space:nowrap}
.obs{font:12px var(--mono);color:#0b5d3a;margin-top:2px}
.note{font-size:12px;color:#7a5b00;margin-top:2px}
.viol{color:var(--bad);font-weight:700;font-size:12px;margin-top:3px}
.step.vstep{border-color:var(--bad);background:var(--badbg)}
.step.beyond{opacity:.75;border-style:dashed}
.diffmark{display:inline-block;margin:2px 0 4px;padding:1px 8px;border-radius:9px;background:var(--chg);color:#3b2600;font-size:11px;font-weight:700}
.r.diff .cell{background:var(--chgbg)}
.gap{color:var(--muted);font-size:12px;font-style:italic;padding:6px 4px}
.stopped{color:var(--bad);font-size:12px;padding:6px;border:1px dashed var(--bad);border-radius:6px;background:var(--badbg)}
.final{padding:10px 12px;border-top:1px solid var(--line);font-size:13px}
.final p{margin:4px 0}
.stage{min-width:0}
.frame[hidden]{display:none}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px 16px 10px;margin-bottom:16px}
.panel.diff{border-color:var(--chg);box-shadow:0 0 0 2px var(--chgbg)}
.panel h2{margin:0;font-size:16px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
.panel h2 .era{font:700 15px var(--mono);color:var(--accent)}
.panel .what{margin:6px 0 8px;font-size:14px}
.panel .what .stmt{font-family:var(--mono);background:#f1f3f6;padding:1px 6px;border-radius:4px}
.decisions{margin:0 0 8px;padding:8px 12px;background:#fbf7ef;border:1px solid #efe3c8;border-radius:8px;font-size:13px}
.decisions:empty{display:none}
.decisions li{list-style:none;margin:2px 0}
.decisions li.dec{font-weight:600}
.decisions li.dec::before{content:'decision';display:inline-block;margin-right:8px;padding:0 6px;border-radius:4px;background:#8a3b00;color:#fff;font-size:10px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;vertical-align:1px}
.decisions ul{margin:0;padding:0}
.vbox{margin:0 0 8px;padding:8px 12px;border-radius:8px;background:var(--badbg);border:1px solid #f3b4b4;color:#8c1d1d;font-size:13px}
.vbox b{color:var(--bad)}
.nostep{margin:0 0 8px;color:var(--muted);font-style:italic;font-size:13px}
.diagram{display:block;width:100%;height:auto;max-width:980px}
.changes{margin:6px 0 0;font-size:12px;color:var(--muted)}
.changes summary{cursor:pointer}
.changes ul{margin:4px 0 0;padding-left:18px;font-family:var(--mono)}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:var(--muted);margin:4px 0 0}
.legend i{display:inline-block;width:22px;height:0;border-top:2px solid;vertical-align:middle;margin-right:4px}
/* SVG */
.diagram text{font-family:var(--sans);font-size:12px;fill:var(--ink)}
.diagram .mono{font-family:var(--mono)}
.diagram .small{font-size:11.5px}
.diagram .title{font-weight:700;font-size:13px}
.diagram .label{font-weight:600}
.diagram .sub{fill:var(--muted);font-size:11px}
.diagram .kern{fill:#8a3b00;font-style:italic}
.diagram .colhead{font-size:11px;font-weight:700;letter-spacing:.08em;fill:#8792a2}
.diagram .count{font:700 26px var(--mono);fill:var(--ink)}
.diagram .count.changed{fill:#b35c00}
.diagram .was{font-size:11px;fill:#b35c00}
.diagram rect{stroke-width:1.2}
.diagram .proc{fill:#fafbfc;stroke:#b9c1cd}
.diagram .proc.dead{fill:#f1f1f1;stroke-dasharray:4 3}
.diagram .vma{fill:#fff;stroke:#d3d9e2}
.diagram .cpu{fill:#fff;stroke:#d3d9e2;stroke-dasharray:3 2}
.diagram .pte,.diagram .tlb{fill:#f6f8fa;stroke:#dfe3e8}
.diagram .tlb.stale{fill:#fdeeee;stroke:#e08585}
.diagram .page{fill:#fff;stroke:#5c6b80;stroke-width:1.6}
.diagram .page.zero{fill:#f4f5f7;stroke:#b9c1cd}
.diagram .page.freed{fill:#f4f5f7;stroke:#b9c1cd;stroke-dasharray:4 3;opacity:.8}
.diagram .holder{fill:#fbf9ff;stroke:#9d8fd0}
.diagram .holder.uffd{fill:#f8fbff;stroke:#9db4d8}
.diagram .ref{fill:#fff;stroke:#9d8fd0}
.diagram .ref.pin{stroke:#c2255c}
.diagram .chg{fill:var(--chgbg);stroke:var(--chg);stroke-width:2.4}
.diagram .viol{stroke:var(--bad);stroke-width:3}
.diagram .page.viol,.diagram .holder.viol,.diagram .ref.viol{fill:var(--badbg)}
.diagram .chip{stroke:none}
.diagram .chipt{font-size:10px;font-weight:700;fill:#fff}
.diagram .c-w{fill:#c2410c}.diagram .c-ro{fill:#1c5fd4}.diagram .c-flag{fill:#6b7685}.diagram .c-excl{fill:#2b8a3e}
.diagram .c-pin{fill:#c2255c}.diagram .c-uffd{fill:#7048e8}.diagram .c-stale{fill:var(--bad)}
.diagram .tok{stroke-width:1}.diagram .tok-zero{fill:#f1f3f5;stroke:#ced4da}
${tokens}
.diagram .edge{fill:none;stroke-width:1.8}
.diagram .e-w{stroke:#c2410c}.diagram .e-ro{stroke:#1c5fd4}.diagram .e-tlb{stroke:#8792a2;stroke-dasharray:5 4}
.diagram .e-stale{stroke:var(--bad);stroke-dasharray:5 4}.diagram .e-ref{stroke:#7b61c9}.diagram .e-pin{stroke:#c2255c;stroke-width:2.4}
.diagram .ah{stroke:none}.diagram .ah.e-w{fill:#c2410c}.diagram .ah.e-ro{fill:#1c5fd4}.diagram .ah.e-tlb{fill:#8792a2}.diagram .ah.e-stale{fill:var(--bad)}.diagram .ah.e-ref{fill:#7b61c9}.diagram .ah.e-pin{fill:#c2255c}
.diagram .vbadge rect{fill:var(--bad)}.diagram .vbadge text{fill:#fff;font-weight:700;font-size:11.5px}
${lanes}
`;
