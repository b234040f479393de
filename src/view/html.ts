// The viewer page: one self-contained HTML file (inline style and script, no remote loads,
// a Content-Security-Policy that forbids them) with the timeline on the left and, per step,
// the state diagram of each era on the right.
import { createHash } from 'node:crypto';
import type { ViewDoc } from './doc.js';
import type { EraRun, ViewEvent, ViewStep } from './record.js';
import { commitUrl, esc, scriptJson } from './escape.js';
import { renderDiagram } from './svg.js';
import { STYLE } from './style.js';
import { CLIENT_SCRIPT } from './client.js';

/** The page's Content-Security-Policy: nothing remote, only this page's own script (by hash) and inline style. */
export function contentSecurityPolicy(script: string): string {
  const hash = createHash('sha256').update(script, 'utf8').digest('base64');
  return `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
}

function citeHtml(cite: string, commit: string | null): string {
  const url = commit ? commitUrl(commit) : null;
  if (!url || !commit) return `<span class="cite">${esc(cite)}</span>`;
  const at = cite.indexOf(commit);
  return `<span class="cite">${esc(cite.slice(0, at))}<a href="${esc(url)}" rel="noreferrer noopener" target="_blank">${esc(commit)}</a>${esc(cite.slice(at + commit.length))}</span>`;
}

function eventsHtml(events: readonly ViewEvent[], cls = 'ev'): string {
  if (!events.length) return '';
  const items = events.map((e) => `<li${e.cite ? ' class="dec"' : ''}><span class="fn">${esc(e.fn)}</span>: ${esc(e.text)}${e.cite ? ' ' + citeHtml(e.cite, e.commit) : ''}</li>`);
  return `<ul class="${cls}">${items.join('')}</ul>`;
}

function stepBox(st: ViewStep, who: boolean): string {
  const cls = ['step', `lane-${st.lane % 6}`, st.violation ? 'vstep' : '', st.beyondSchedule ? 'beyond' : ''].filter(Boolean).join(' ');
  const title = st.beyondSchedule ? ' title="past the end of the schedule: the run goes on with the default schedule"' : '';
  return (
    `<div class="${cls}"${title}><div>${who ? `<span class="who">${esc(st.thread)}</span>` : ''}<span class="ln">L${esc(st.line)}</span><span class="stmt">${esc(st.text)}</span></div>` +
    eventsHtml(st.events) +
    (st.observation !== null ? `<div class="obs">\u21d2 ${esc(st.observation)}</div>` : '') +
    (st.note ? `<div class="note">${esc(st.note)}</div>` : '') +
    (st.violation ? `<div class="viol">VIOLATION ${esc(st.violation.invariant)}: ${esc(st.violation.message)}</div>` : '') +
    `</div>`
  );
}

function verdictChip(verdict: string): string {
  return `<span class="verdict${verdict.startsWith('violated') || verdict === 'error' ? ' bad' : ''}">${esc(verdict)}</span>`;
}

/** The row after the one holding a run's last step: where a stop notice goes. */
function stopRow(doc: ViewDoc, side: number): number {
  let r = -1;
  doc.rows.forEach((row, i) => {
    if (row[side] !== null) r = i;
  });
  return r + 1;
}

function timeline(doc: ViewDoc): string {
  const two = doc.runs.length === 2;
  const out: string[] = [];
  if (two) {
    out.push(`<div class="tl" style="grid-template-columns:34px 1fr 1fr">`);
    out.push(`<div class="head">#</div>${doc.runs.map((r) => `<div class="head">${esc(r.era)}</div>`).join('')}`);
  } else {
    const lanes = doc.runs[0].lanes;
    out.push(`<div class="tl" style="grid-template-columns:34px repeat(${Math.max(1, lanes.length)},minmax(0,1fr))">`);
    out.push(`<div class="head">#</div>${lanes.map((l, i) => `<div class="head lane lane-${i % 6}">${esc(l)}</div>`).join('')}`);
  }
  const span = two ? 2 : Math.max(1, doc.runs[0].lanes.length);
  out.push(`<div class="r" data-step="0"><a class="num" href="#step-0">0</a><div class="cell" style="grid-column:span ${span}"><div class="gap">initial state</div></div></div>`);
  const stops = doc.runs.map((r, side) => (r.stopped ? stopRow(doc, side) : -1));
  doc.rows.forEach((row, r) => {
    const k = r + 1;
    const diff = doc.firstDiff === r;
    const cells: string[] = [];
    if (two) {
      row.forEach((i, side) => {
        const run = doc.runs[side];
        let inner = i !== null ? stepBox(run.steps[i], true) : '';
        if (i === null && stops[side] === r && run.stopped) inner = `<div class="stopped">${esc(run.stopped.reason)}</div>`;
        else if (i === null) inner = `<div class="gap">\u2014</div>`;
        cells.push(`<div class="cell">${diff && side === 0 ? '<span class="diffmark">first different decision</span>' : ''}${inner}</div>`);
      });
    } else {
      const st = doc.runs[0].steps[row[0] as number];
      for (let l = 0; l < span; l++) cells.push(`<div class="cell">${l === st.lane ? stepBox(st, false) : ''}</div>`);
    }
    out.push(`<div class="r${diff ? ' diff' : ''}" data-step="${k}"><a class="num" href="#step-${k}">${k}</a>${cells.join('')}</div>`);
  });
  // A run that stopped after the last row.
  doc.runs.forEach((run, side) => {
    if (run.stopped && stops[side] >= doc.rows.length) out.push(`<div class="cell" style="grid-column:2/-1"><div class="stopped">${esc(`${run.era}: ${run.stopped.reason}`)}</div></div>`);
  });
  out.push(`</div>`);
  return out.join('') + finalHtml(doc);
}

function finalHtml(doc: ViewDoc): string {
  const lines = doc.runs.map((r, i) => {
    const bits = [`<b>${esc(r.era)}</b>: ${verdictChip(r.verdict)}`];
    if (doc.expected[i]) bits.push(`expected ${esc(doc.expected[i] as string)}`);
    if (r.condition) bits.push(esc(r.condition));
    if (r.note && !r.verdict.startsWith('violated')) bits.push(esc(r.note));
    const extra = r.finalViolations.map((v) => `<p class="viol">VIOLATION at the end: ${esc(v)}</p>`).join('');
    return `<p>${bits.join(' \u00b7 ')}</p>${extra}`;
  });
  if (doc.outcome) lines.push(`<p>${esc(doc.outcome)}</p>`);
  return `<div class="final">${lines.join('')}</div>`;
}

/** The index of the last step of `run` at or before row `r` (-1: none yet). */
function lastStepBefore(doc: ViewDoc, side: number, r: number): number {
  for (let i = r; i >= 0; i--) {
    const v = doc.rows[i][side];
    if (v !== null) return v;
  }
  return -1;
}

function panel(doc: ViewDoc, side: number, k: number): string {
  const run: EraRun = doc.runs[side];
  const r = k - 1;
  const i = r >= 0 ? doc.rows[r][side] : null;
  const diff = doc.firstDiff !== null && doc.firstDiff === r;
  const head = `<h2><span class="era">${esc(run.era)}</span><span class="sub">${esc(run.kernels)}</span>${verdictChip(run.verdict)}${diff ? '<span class="diffmark">first different decision</span>' : ''}</h2>`;
  let what: string;
  let body: string;
  if (i !== null) {
    const st = run.steps[i];
    what = `<p class="what">Step ${st.index} \u00b7 <b class="lane-${st.lane % 6}" style="color:var(--lane)">${esc(st.thread)}</b> \u00b7 line ${esc(st.line)} \u00b7 <span class="stmt">${esc(st.text)}</span>${st.observation !== null ? ` \u21d2 <code>${esc(st.observation)}</code>` : ''}</p>`;
    const dec = st.events.length ? `<div class="decisions">${eventsHtml(st.events, '')}</div>` : '';
    const viol = st.violation ? `<div class="vbox"><b>VIOLATION ${esc(st.violation.invariant)}</b>: ${esc(st.violation.message)}</div>` : '';
    const note = st.note ? `<p class="nostep">${esc(st.note)}</p>` : '';
    const svg = renderDiagram({ state: run.states[i + 1], before: run.states[i], changed: st.changed, marks: st.violation?.marks ?? [], markLabel: st.violation ? st.violation.invariant.toUpperCase() : null }, `d${k}-${side}`);
    const changes = st.changes.length ? `<details class="changes"><summary>${st.changes.length} change(s) in the kernel state</summary><ul>${st.changes.map((c) => `<li>${esc(c)}</li>`).join('')}</ul></details>` : '';
    body = dec + viol + note + svg + changes;
  } else {
    const j = r < 0 ? -1 : lastStepBefore(doc, side, r);
    const stopped = run.stopped && r >= stopRow(doc, side) - 1 && r >= 0 ? `<div class="vbox">${esc(run.stopped.reason)}</div>` : '';
    what = r < 0 ? `<p class="what">Initial state, before the first step</p>` : `<p class="nostep">No step of ${esc(run.era)} here${j >= 0 ? `: the state after its step ${j + 1}` : ''}.</p>`;
    body = stopped + renderDiagram({ state: run.states[j + 1], before: null, changed: [], marks: [], markLabel: null }, `d${k}-${side}`);
  }
  return `<div class="panel${diff ? ' diff' : ''}" data-era="${esc(run.era)}">${head}${what}${body}</div>`;
}

const LEGEND = `<div class="legend"><span><i style="border-color:#c2410c"></i>writable PTE</span><span><i style="border-color:#1c5fd4"></i>read-only PTE</span><span><i style="border-color:#8792a2;border-top-style:dashed"></i>TLB entry</span><span><i style="border-color:#d62f2f;border-top-style:dashed"></i>stale TLB entry</span><span><i style="border-color:#7b61c9"></i>GUP reference / pipe buffer</span><span><i style="border-color:#c2255c"></i>pin</span><span><i style="border-color:#f59f00;border-top-width:4px"></i>changed at this step</span><span><i style="border-color:#d62f2f;border-top-width:4px"></i>violation</span></div>`;

/** The whole page for `doc`. */
export function renderPage(doc: ViewDoc): string {
  const two = doc.runs.length === 2;
  const frames: string[] = [];
  for (let k = 0; k <= doc.rows.length; k++) frames.push(`<section class="frame" id="frame-${k}" data-frame="${k}"${k ? ' hidden' : ''}>${doc.runs.map((_, side) => panel(doc, side, k)).join('')}</section>`);
  const eras = doc.runs.map((r, i) => `<span><b>${esc(r.era)}</b> ${verdictChip(r.verdict)}${doc.expected[i] ? ` expected ${esc(doc.expected[i] as string)}` : ''}</span>`).join('');
  const jump = doc.firstDiff !== null ? `<button id="jump" data-step="${doc.firstDiff + 1}" title="the first step whose kernel decisions differ">first difference: step ${doc.firstDiff + 1}</button>` : '';
  const title = `cowlab \u00b7 ${doc.scenario}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(contentSecurityPolicy(CLIENT_SCRIPT))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cowlab view">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body data-mode="${two ? 'two' : 'one'}" data-start="0">
<header><h1>${esc(doc.scenario)}</h1>${doc.description ? `<p class="desc">${esc(doc.description)}</p>` : ''}
<div class="facts"><span>file <b class="mono">${esc(doc.file)}</b></span><span>schedule: ${esc(doc.scheduleFrom)}</span>${eras}${doc.outcome ? `<span>${esc(doc.outcome)}</span>` : ''}</div></header>
<nav class="controls"><button id="prev" title="previous step (\u2190)">\u25c0 prev</button><button id="next" title="next step (\u2192)">next \u25b6</button>
<input id="slider" type="range" min="0" max="${doc.rows.length}" value="0" aria-label="step"><span id="pos">start</span>${jump}<span class="hint"><kbd>\u2190</kbd> <kbd>\u2192</kbd> step \u00b7 links: #step-N</span></nav>
<main class="layout${two ? ' two' : ''}"><section class="timeline" aria-label="timeline">${timeline(doc)}</section>
<section class="stage">${LEGEND}${frames.join('\n')}</section></main>
<script type="application/json" id="cowlab-data">${scriptJson(doc)}</script>
<script>${CLIENT_SCRIPT}</script>
</body></html>
`;
}
