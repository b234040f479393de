// The state at a step as Graphviz DOT: the same objects and references as the page's diagram,
// for `cowlab run --dot [STEP]`.
import type { EraRun } from './record.js';
import type { StateSnapshot } from './snapshot.js';

/** A DOT double-quoted string: backslashes, quotes and newlines escaped. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

function id(key: string): string {
  return dotString(key);
}

/** One digraph for one state; `changed` objects are filled yellow, `marks` outlined red. */
export function stateDot(name: string, label: string, st: StateSnapshot, changed: readonly string[] = [], marks: readonly string[] = []): string {
  const out: string[] = [`digraph ${dotString(name)} {`, `  label=${dotString(label)}; labelloc=t; rankdir=LR; fontname="DejaVu Sans";`, `  node [shape=box, style="rounded,filled", fillcolor=white, fontname="DejaVu Sans", fontsize=10];`];
  const style = (key: string): string => `${changed.includes(key) ? ', fillcolor="#fff6db", color="#f59f00", penwidth=2' : ''}${marks.includes(key) ? ', color="#d62f2f", penwidth=3' : ''}`;
  const pagesUsed = new Set<number>();
  for (const p of st.procs) {
    if (p.status !== 'running') continue;
    out.push(`  subgraph ${dotString(`cluster_${p.key}`)} {`, `    label=${dotString(`${p.name}${p.flags.length ? ` (${p.flags.join(', ')})` : ''}`)};`);
    for (const v of p.vmas) {
      out.push(`    ${id(v.key)} [label=${dotString(`VMA ${v.addr}\n${v.pages} page(s) ${v.flags.join(' ')}`)}${style(v.key)}];`);
      for (const pte of v.ptes) {
        const bits = pte.marker ? 'uffd-wp marker' : pte.swap ? `swap entry, slot ${pte.swap.slot}${pte.swap.exclusive ? ' exclusive' : ''}` : [pte.write ? 'W' : 'RO', pte.dirty ? 'dirty' : '', pte.softDirty ? 'soft-dirty' : '', pte.uffdWp ? 'uffd-wp' : '', pte.protnone ? 'protnone' : ''].filter(Boolean).join(' ');
        out.push(`    ${id(pte.key)} [label=${dotString(`PTE ${pte.addr}\n${bits}`)}${style(pte.key)}];`, `    ${id(v.key)} -> ${id(pte.key)} [arrowhead=none, color=gray];`);
      }
    }
    if (!p.vmas.length && !p.cpus.some((c) => c.tlb.length)) out.push(`    ${id(p.key)} [label="no mappings", shape=plaintext, style=""];`);
    for (const c of p.cpus) {
      for (const t of c.tlb) out.push(`    ${id(t.key)} [label=${dotString(`CPU${c.cpu} TLB ${t.addr}\n${t.write ? 'W' : 'RO'}${t.stale ? ' STALE' : ''}`)}, shape=note${style(t.key)}];`);
    }
    out.push('  }');
  }
  const edges: string[] = [];
  for (const p of st.procs) {
    if (p.status !== 'running') continue;
    for (const v of p.vmas) for (const pte of v.ptes) if (pte.pfn >= 0) pagesUsed.add(pte.pfn), edges.push(`  ${id(pte.key)} -> ${id(`page:${pte.pfn}`)} [color=${pte.write ? '"#c2410c"' : '"#1c5fd4"'}];`);
    for (const c of p.cpus) for (const t of c.tlb) pagesUsed.add(t.pfn), edges.push(`  ${id(t.key)} -> ${id(`page:${t.pfn}`)} [style=dashed, color=${t.stale ? '"#d62f2f"' : 'gray'}];`);
  }
  for (const r of st.refs) {
    out.push(`  ${id(r.key)} [label=${dotString(`${r.kind === 'pin' ? 'FOLL_PIN' : 'FOLL_GET'} #${r.id}\n${r.via} by ${r.owner}${r.longterm ? ', longterm' : ''}`)}, fillcolor="#fbf9ff"${style(r.key)}];`);
    for (const pfn of r.pfns) pagesUsed.add(pfn), edges.push(`  ${id(r.key)} -> ${id(`page:${pfn}`)} [color=${r.kind === 'pin' ? '"#c2255c"' : '"#7b61c9"'}];`);
  }
  for (const p of st.pipes) {
    out.push(`  ${id(p.key)} [label=${dotString(`pipe #${p.id}\nheld by ${p.holders.join(', ') || 'nobody'}`)}, shape=cylinder, fillcolor="#fbf9ff"${style(p.key)}];`);
    for (const b of p.buffers) edges.push(`  ${id(p.key)} -> ${id(`ref:${b}`)} [label="buffer", fontsize=9];`);
  }
  for (const c of st.caches) {
    out.push(`  ${id(c.key)} [label=${dotString(`page cache (${c.kind} #${c.id})`)}${style(c.key)}];`);
    for (const pfn of c.pfns) pagesUsed.add(pfn), edges.push(`  ${id(c.key)} -> ${id(`page:${pfn}`)};`);
  }
  for (const pg of st.pages) {
    if (pg.freed && !changed.includes(pg.key)) continue;
    if (pg.zero && !pagesUsed.has(pg.pfn)) continue;
    const label = pg.zero
      ? 'zero page (pfn 0)'
      : pg.freed
        ? `struct page pfn ${pg.pfn}\nfreed`
        : `struct page pfn ${pg.pfn}\nrefcount ${pg.refcount}  mapcount ${pg.mapcount}\n${[pg.backing, pg.anonExclusive ? 'AnonExclusive' : '', pg.maybePinned ? 'maybe pinned' : ''].filter(Boolean).join(' ')}\n${pg.cells.map((c) => c.label).join('\n')}`;
    out.push(`  ${id(pg.key)} [label=${dotString(label)}, shape=box3d${style(pg.key)}];`);
  }
  return [...out, ...edges, '}'].join('\n') + '\n';
}

/** `step`: 0 for the initial state, i for the state after step i, or null for every step. */
export function runDot(scenario: string, run: EraRun, step: number | null): string {
  const one = (k: number): string => {
    const st = k > 0 ? run.steps[k - 1] : null;
    const label = k === 0 ? `${scenario} under ${run.era}: initial state` : `${scenario} under ${run.era}: after step ${k}, ${st?.thread} line ${st?.line}: ${st?.text}`;
    return stateDot(`step_${k}`, label, run.states[k], st?.changed ?? [], st?.violation?.marks ?? []);
  };
  if (step !== null) return one(step);
  return run.states.map((_, k) => one(k)).join('\n');
}
