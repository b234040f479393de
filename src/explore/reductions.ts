// How many states each reduction removes from one search: the search run again with each
// reduction turned off alone (symmetry over frames, references and, in synthesis, processes;
// process symmetry alone; partial-order reduction of ordering points; dead-register
// elimination), compared with the search with all of them on.
// Every variant explores the same behaviours (the reductions' soundness tests check that the
// verdicts, counterexample lengths and outcomes agree), so the difference in distinct states is
// what that reduction saved.
import { explore, type SearchOptions, type SearchResult, type Space } from './search.js';

export interface ReductionRow {
  /** 'all on', or the reduction turned off. */
  name: 'all on' | 'symmetry' | 'process symmetry' | 'partial-order reduction' | 'dead registers';
  distinct: number;
  generated: number;
  seconds: number;
  verdict: SearchResult['verdict'];
  /** States this reduction removed: distinct without it minus distinct with everything on. */
  removed: number;
}

export interface ReductionSubject {
  /** The space with partial-order reduction on or off (its `live` registers as usual). */
  space(por: boolean): Space;
  /** Partial-order reduction applies (scenarios; synthesis has no ordering points). */
  por: boolean;
}

export function reductionReport(subject: ReductionSubject, opts: SearchOptions, base: SearchResult): ReductionRow[] {
  const quiet: SearchOptions = { ...opts, progress: undefined, shard: undefined };
  const row = (name: ReductionRow['name'], r: SearchResult): ReductionRow => ({
    name,
    distinct: r.stats.distinct,
    generated: r.stats.generated,
    seconds: r.stats.seconds,
    verdict: r.verdict,
    removed: name === 'all on' ? 0 : r.stats.distinct - base.stats.distinct,
  });
  const rows: ReductionRow[] = [row('all on', base)];
  if (opts.symmetry) rows.push(row('symmetry', explore(subject.space(opts.por), { ...quiet, symmetry: false })));
  const renaming = opts.symmetry ? subject.space(opts.por) : null;
  if (renaming?.processSymmetry) rows.push(row('process symmetry', explore({ ...renaming, processSymmetry: null }, quiet)));
  if (subject.por && opts.por) rows.push(row('partial-order reduction', explore(subject.space(false), { ...quiet, por: false })));
  const space = subject.space(opts.por);
  if (space.live !== null) rows.push(row('dead registers', explore({ ...space, live: null }, quiet)));
  return rows;
}

export function reductionText(rows: readonly ReductionRow[]): string {
  const base = rows[0];
  const lines = [`reductions (each turned off alone, the search run again): all on ${base.distinct} distinct states`];
  for (const r of rows.slice(1)) {
    const pct = r.distinct > 0 ? ((100 * r.removed) / r.distinct).toFixed(1) : '0.0';
    lines.push(`  without ${r.name}: ${r.distinct} distinct (${r.removed >= 0 ? `it removes ${r.removed}, ${pct}%` : `${-r.removed} fewer`})${r.verdict !== base.verdict ? `; verdict ${r.verdict}` : ''}`);
  }
  return lines.join('\n');
}
