// The state diagram as hand-laid SVG: processes with their VMAs, PTEs and CPUs (TLB entries)
// on the left, struct pages in the middle, and the other holders of page references (pipe
// buffers, GUP references and pins, the page cache) on the right, with an arrow for every
// reference. What the step changed is highlighted; the objects of a violation are marked.
import { esc } from './escape.js';
import type { PageView, PipeView, ProcView, PteView, RefView, StateSnapshot, TlbView } from './snapshot.js';

export interface DiagramInput {
  state: StateSnapshot;
  /** The state before the step, to show old values of changed counts. */
  before: StateSnapshot | null;
  changed: readonly string[];
  /** Keys of the objects a violation concerns, and its label ("LEAK"). */
  marks: readonly string[];
  markLabel: string | null;
}

const LEFT_X = 16;
const LEFT_W = 290;
const MID_X = 366;
const MID_W = 230;
const RIGHT_X = 656;
const RIGHT_W = 240;
const WIDTH = RIGHT_X + RIGHT_W + 16;
const ROW = 24;
/** Approximate advance of one character at the diagram's 12px text size. */
const CHAR = 7;

interface Anchor {
  x: number;
  y: number;
}

function fit(text: string, width: number): string {
  const n = Math.floor(width / CHAR);
  return text.length <= n ? text : text.slice(0, Math.max(1, n - 1)) + '\u2026';
}

/** A text element; the full text in a title when it is cut. */
function text(x: number, y: number, s: string, cls: string, width = 1000, anchor: 'start' | 'middle' | 'end' = 'start'): string {
  const shown = fit(s, width);
  const title = shown !== s ? `<title>${esc(s)}</title>` : '';
  return `<text x="${x}" y="${y}" class="${cls}"${anchor !== 'start' ? ` text-anchor="${anchor}"` : ''}>${title}${esc(shown)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, cls: string, key?: string): string {
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" class="${cls}"${key ? ` data-key="${esc(key)}"` : ''}/>`;
}

/** Small rounded labels laid left to right; returns the SVG and the x after the last. */
function chips(x: number, y: number, labels: { t: string; cls: string }[]): { svg: string; x: number } {
  let svg = '';
  for (const l of labels) {
    const w = l.t.length * 6.2 + 10;
    svg += `<rect x="${x}" y="${y - 11}" width="${w}" height="15" rx="7" class="chip ${l.cls}"/><text x="${x + w / 2}" y="${y}" class="chipt" text-anchor="middle">${esc(l.t)}</text>`;
    x += w + 4;
  }
  return { svg, x };
}

function objClass(base: string, key: string, d: DiagramInput): string {
  return `${base}${d.changed.includes(key) ? ' chg' : ''}${d.marks.includes(key) ? ' viol' : ''}`;
}

function pteChips(p: PteView): { t: string; cls: string }[] {
  if (p.marker) return [{ t: 'uffd-wp marker', cls: 'c-uffd' }];
  if (p.swap) {
    return [
      { t: `swap slot ${p.swap.slot}`, cls: 'c-ro' },
      ...(p.swap.exclusive ? [{ t: 'exclusive', cls: 'c-flag' }] : []),
      ...(p.softDirty ? [{ t: 'soft-dirty', cls: 'c-flag' }] : []),
      ...(p.uffdWp ? [{ t: 'uffd-wp', cls: 'c-uffd' }] : []),
    ];
  }
  return [
    p.write ? { t: 'W', cls: 'c-w' } : { t: 'RO', cls: 'c-ro' },
    ...(p.dirty ? [{ t: 'dirty', cls: 'c-flag' }] : []),
    ...(p.softDirty ? [{ t: 'soft-dirty', cls: 'c-flag' }] : []),
    ...(p.uffdWp ? [{ t: 'uffd-wp', cls: 'c-uffd' }] : []),
    ...(p.protnone ? [{ t: 'protnone', cls: 'c-uffd' }] : []),
  ];
}

interface Edge {
  from: Anchor;
  pfn: number;
  side: 'left' | 'right';
  cls: string;
}

function procBlock(p: ProcView, y: number, d: DiagramInput, edges: Edge[]): { svg: string; y: number } {
  const top = y;
  let body = '';
  y += 26;
  const headerFlags = [p.status !== 'running' ? p.status : '', ...p.flags].filter(Boolean).join(' \u00b7 ');
  for (const v of p.vmas) {
    const vy = y;
    let inner = text(LEFT_X + 20, vy + 16, `VMA ${v.addr}`, 'label mono', 140) + text(LEFT_X + LEFT_W - 14, vy + 16, `${v.pages} page${v.pages === 1 ? '' : 's'} \u00b7 ${v.flags.join(' ')}`, 'sub', 170, 'end');
    y += 24;
    for (const pte of v.ptes) {
      const cls = objClass('pte', pte.key, d);
      inner += rect(LEFT_X + 20, y, LEFT_W - 34, ROW - 4, cls, pte.key);
      inner += text(LEFT_X + 28, y + 14, `PTE ${pte.addr}`, 'mono small', 90);
      inner += chips(LEFT_X + 122, y + 14, pteChips(pte)).svg;
      if (pte.pfn >= 0) edges.push({ from: { x: LEFT_X + LEFT_W - 14, y: y + (ROW - 4) / 2 }, pfn: pte.pfn, side: 'left', cls: pte.write ? 'e-w' : 'e-ro' });
      y += ROW;
    }
    if (!v.ptes.length) {
      inner += text(LEFT_X + 28, y + 13, 'no PTE (not faulted in)', 'sub', 200);
      y += ROW - 4;
    }
    body += rect(LEFT_X + 10, vy, LEFT_W - 20, y - vy + 4, objClass('vma', v.key, d), v.key) + inner;
    y += 10;
  }
  for (const c of p.cpus) {
    const cy = y;
    let inner = text(LEFT_X + 20, cy + 16, `CPU${c.cpu}`, 'label mono', 60) + text(LEFT_X + 66, cy + 16, c.name === p.name ? 'TLB' : `${c.name} \u00b7 TLB`, 'sub', 120);
    y += 22;
    for (const t of c.tlb) inner += tlbRow(t, y, d, edges), (y += ROW);
    if (!c.tlb.length) {
      inner += text(LEFT_X + 28, y + 12, 'no cached translation', 'sub', 200);
      y += 18;
    }
    if (c.inKernel) {
      inner += text(LEFT_X + 28, y + 12, `in ${c.inKernel}`, 'sub kern', LEFT_W - 50);
      y += 18;
    }
    body += rect(LEFT_X + 10, cy, LEFT_W - 20, y - cy + 4, objClass('cpu', c.key, d), c.key) + inner;
    y += 10;
  }
  const h = y - top;
  const head = rect(LEFT_X, top, LEFT_W, h, objClass(`proc${p.status === 'running' ? '' : ' dead'}`, p.key, d), p.key) + text(LEFT_X + 12, top + 18, p.name, 'title', 120) + text(LEFT_X + LEFT_W - 12, top + 18, headerFlags || `pid ${p.pid}`, 'sub', 190, 'end');
  return { svg: head + body, y: y + 12 };
}

function tlbRow(t: TlbView, y: number, d: DiagramInput, edges: Edge[]): string {
  const cls = objClass(`tlb${t.stale ? ' stale' : ''}`, t.key, d);
  let s = rect(LEFT_X + 20, y, LEFT_W - 34, ROW - 4, cls, t.key) + text(LEFT_X + 28, y + 14, `${t.addr}`, 'mono small', 90);
  s += chips(LEFT_X + 122, y + 14, [t.write ? { t: 'W', cls: 'c-w' } : { t: 'RO', cls: 'c-ro' }, ...(t.stale ? [{ t: 'stale', cls: 'c-stale' }] : [])]).svg;
  edges.push({ from: { x: LEFT_X + LEFT_W - 14, y: y + (ROW - 4) / 2 }, pfn: t.pfn, side: 'left', cls: t.stale ? 'e-stale' : 'e-tlb' });
  return s;
}

const WRITER_CLASSES = 6;

function pageBlock(p: PageView, y: number, d: DiagramInput, writers: string[]): { svg: string; h: number } {
  const old = d.before?.pages[p.pfn];
  const count = (label: string, now: number, was: number | undefined, x: number): string => {
    const changed = was !== undefined && was !== now;
    return text(x, y + 40, label, 'sub') + `<text x="${x}" y="${y + 64}" class="count${changed ? ' changed' : ''}">${esc(now)}</text>` + (changed ? text(x + String(now).length * 16 + 8, y + 63, `was ${was}`, 'was') : '');
  };
  let s = '';
  if (p.zero) {
    s += text(MID_X + 12, y + 18, 'zero page', 'title', 120) + text(MID_X + MID_W - 12, y + 18, 'pfn 0 \u00b7 not refcounted', 'sub', 150, 'end');
    return { svg: rect(MID_X, y, MID_W, 30, objClass('page zero', p.key, d), p.key) + s, h: 30 };
  }
  s += text(MID_X + 12, y + 18, 'struct page', 'title', 110) + text(MID_X + MID_W - 12, y + 18, `pfn ${p.pfn}`, 'mono label', 80, 'end');
  if (p.freed) return { svg: rect(MID_X, y, MID_W, 30, objClass('page freed', p.key, d), p.key) + s.replace('struct page', 'struct page (freed)'), h: 30 };
  s += count('refcount', p.refcount, old?.refcount, MID_X + 14) + count('mapcount', p.mapcount, old?.mapcount, MID_X + 130);
  const flags = [
    { t: p.backing, cls: 'c-flag' },
    ...(p.anonExclusive ? [{ t: 'AnonExclusive', cls: 'c-excl' }] : []),
    ...(p.maybePinned ? [{ t: 'maybe pinned', cls: 'c-pin' }] : []),
    ...(p.swapSlot >= 0 ? [{ t: `swap cache (slot ${p.swapSlot})`, cls: 'c-flag' }] : []),
  ];
  s += chips(MID_X + 14, y + 90, flags).svg;
  let cy = y + 104;
  const shown = p.cells.slice(0, 4);
  for (const c of shown) {
    const wi = c.writer ? writers.indexOf(c.writer) % WRITER_CLASSES : -1;
    s += `<rect x="${MID_X + 12}" y="${cy}" width="${MID_W - 24}" height="18" rx="4" class="tok ${wi < 0 ? 'tok-zero' : `tok-${wi}`}"/>` + text(MID_X + 18, cy + 13, c.label, 'mono small', MID_W - 36);
    cy += 21;
  }
  if (p.cells.length > shown.length) {
    s += text(MID_X + 14, cy + 12, `+${p.cells.length - shown.length} more cells`, 'sub');
    cy += 18;
  }
  const h = cy - y + 6;
  return { svg: `<g data-key="${esc(p.key)}">${rect(MID_X, y, MID_W, h, objClass('page', p.key, d))}${s}</g>`, h };
}

function refLabel(r: RefView): string {
  return `${r.kind === 'pin' ? 'FOLL_PIN' : 'FOLL_GET'} #${r.id}`;
}

function pipeBlock(p: PipeView, refs: RefView[], y: number, d: DiagramInput, edges: Edge[]): { svg: string; y: number } {
  const top = y;
  let inner = text(RIGHT_X + 12, y + 18, `pipe #${p.id}`, 'title', 110) + text(RIGHT_X + RIGHT_W - 12, y + 18, `held by ${p.holders.join(', ') || 'nobody'}`, 'sub', 130, 'end');
  y += 28;
  for (const id of p.buffers) {
    const r = refs.find((x) => x.id === id);
    if (!r) continue;
    inner += rect(RIGHT_X + 10, y, RIGHT_W - 20, ROW - 2, objClass('ref', r.key, d), r.key) + text(RIGHT_X + 18, y + 15, `buffer \u2190 ${refLabel(r)}`, 'mono small', RIGHT_W - 40);
    for (const pfn of r.pfns) edges.push({ from: { x: RIGHT_X + 10, y: y + (ROW - 2) / 2 }, pfn, side: 'right', cls: r.kind === 'pin' ? 'e-pin' : 'e-ref' });
    y += ROW + 2;
  }
  if (!p.buffers.length) {
    inner += text(RIGHT_X + 18, y + 12, 'empty', 'sub');
    y += 18;
  }
  return { svg: rect(RIGHT_X, top, RIGHT_W, y - top + 6, objClass('holder', p.key, d), p.key) + inner, y: y + 18 };
}

function refBlock(r: RefView, y: number, d: DiagramInput, edges: Edge[]): { svg: string; y: number } {
  const who = r.via === 'vmsplice' ? 'vmsplice' : `device (${r.via})`;
  const detail = [r.write ? 'write' : 'read-only', r.longterm ? 'longterm' : ''].filter(Boolean).join(', ');
  let s = rect(RIGHT_X, y, RIGHT_W, 52, objClass(`ref${r.kind === 'pin' ? ' pin' : ''}`, r.key, d), r.key);
  s += text(RIGHT_X + 12, y + 19, refLabel(r), 'title mono', 120) + text(RIGHT_X + RIGHT_W - 12, y + 19, `by ${r.owner}`, 'sub', 110, 'end');
  s += text(RIGHT_X + 12, y + 40, `${who} \u00b7 ${detail}`, 'sub', RIGHT_W - 24);
  for (const pfn of r.pfns) edges.push({ from: { x: RIGHT_X, y: y + 26 }, pfn, side: 'right', cls: r.kind === 'pin' ? 'e-pin' : 'e-ref' });
  return { svg: s, y: y + 64 };
}

/** Renders one state as an SVG element (no XML prolog: it is inlined in the page). */
export function renderDiagram(d: DiagramInput, id: string): string {
  const st = d.state;
  const edges: Edge[] = [];
  let left = '';
  let y = 40;
  for (const p of st.procs) {
    if (p.status !== 'running' && !d.changed.includes(p.key)) continue;
    const b = procBlock(p, y, d, edges);
    left += b.svg;
    y = b.y;
  }
  const leftH = y;
  // Holders on the right.
  let right = '';
  y = 40;
  const pipeRefs = new Set(st.pipes.flatMap((p) => p.buffers));
  for (const p of st.pipes) {
    const b = pipeBlock(p, st.refs, y, d, edges);
    right += b.svg;
    y = b.y;
  }
  for (const r of st.refs) {
    if (pipeRefs.has(r.id)) continue;
    const b = refBlock(r, y, d, edges);
    right += b.svg;
    y = b.y;
  }
  for (const c of st.caches) {
    right += rect(RIGHT_X, y, RIGHT_W, 34, objClass('holder', c.key, d), c.key) + text(RIGHT_X + 12, y + 21, `page cache (${c.kind} #${c.id})`, 'label', RIGHT_W - 24);
    for (const pfn of c.pfns) edges.push({ from: { x: RIGHT_X, y: y + 17 }, pfn, side: 'right', cls: 'e-ref' });
    y += 46;
  }
  for (const u of st.uffds) {
    right += rect(RIGHT_X, y, RIGHT_W, 34, objClass('holder uffd', u.key, d), u.key) + text(RIGHT_X + 12, y + 21, `userfaultfd #${u.id} (${u.owner}): ${u.wpFaults} wp fault(s)${u.pending ? `, ${u.pending} unread` : ''}`, 'label', RIGHT_W - 24);
    y += 46;
  }
  if (!right) right = text(RIGHT_X + 12, 60, 'no other references', 'sub');
  const rightH = y;
  // Pages in the middle, in the order the arrows reach them (fewer crossings).
  const firstY = new Map<number, number>();
  for (const e of edges) if (!firstY.has(e.pfn) || (firstY.get(e.pfn) as number) > e.from.y) firstY.set(e.pfn, e.from.y);
  const shownPages = st.pages.filter((p) => (p.zero ? firstY.has(p.pfn) : !p.freed || d.changed.includes(p.key)));
  shownPages.sort((a, b) => (firstY.get(a.pfn) ?? 1e9) - (firstY.get(b.pfn) ?? 1e9) || a.pfn - b.pfn);
  const writers = [...new Set(st.procs.map((p) => p.name))];
  let mid = '';
  const pageY = new Map<number, { y: number; h: number }>();
  y = 40;
  for (const p of shownPages) {
    const b = pageBlock(p, y, d, writers);
    mid += b.svg;
    pageY.set(p.pfn, { y, h: b.h });
    y += b.h + 18;
  }
  if (!shownPages.length) mid = text(MID_X + 12, 60, 'no pages', 'sub');
  const height = Math.max(leftH, rightH, y) + 10;
  // Arrows: spread where several reach the same side of a page.
  const slots = new Map<string, number>();
  const arrows = edges
    .map((e) => {
      const p = pageY.get(e.pfn);
      if (!p) return '';
      const k = `${e.pfn}:${e.side}`;
      const n = slots.get(k) ?? 0;
      slots.set(k, n + 1);
      const ty = p.y + 26 + Math.min(n * 12, Math.max(0, p.h - 34));
      const tx = e.side === 'left' ? MID_X - 2 : MID_X + MID_W + 2;
      const dx = (tx - e.from.x) / 2;
      return `<path d="M${e.from.x} ${e.from.y} C${e.from.x + dx} ${e.from.y} ${tx - dx} ${ty} ${tx} ${ty}" class="edge ${e.cls}" marker-end="url(#${id}-arrow-${e.cls})"/>`;
    })
    .join('');
  const markers = ['e-w', 'e-ro', 'e-tlb', 'e-stale', 'e-ref', 'e-pin']
    .map((c) => `<marker id="${id}-arrow-${c}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="ah ${c}"/></marker>`)
    .join('');
  const heads = text(LEFT_X, 22, 'PROCESSES \u00b7 VMAs \u00b7 PTEs \u00b7 TLBs', 'colhead') + text(MID_X, 22, 'STRUCT PAGES', 'colhead') + text(RIGHT_X, 22, 'OTHER REFERENCES', 'colhead');
  const badge = d.markLabel && d.marks.length ? violationBadge(d, pageY) : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" class="diagram" id="${id}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img"><defs>${markers}</defs>${heads}${left}${right}${mid}${arrows}${badge}</svg>`;
}

function violationBadge(d: DiagramInput, pageY: Map<number, { y: number; h: number }>): string {
  const pfn = d.marks.filter((k) => k.startsWith('page:')).map((k) => Number(k.slice(5)))[0];
  const at = pfn !== undefined ? pageY.get(pfn) : undefined;
  const y = at ? at.y - 2 : 30;
  const label = d.markLabel as string;
  const w = label.length * 7.5 + 18;
  const x = MID_X + MID_W - w + 6;
  return `<g class="vbadge"><rect x="${x}" y="${y - 12}" width="${w}" height="20" rx="10"/><text x="${x + w / 2}" y="${y + 3}" text-anchor="middle">${esc(label)}</text></g>`;
}

export const DIAGRAM_WIDTH = WIDTH;
