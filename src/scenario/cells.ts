// Cells: the byte ranges of a page that a scenario tells apart. A page's contents are one token
// per cell, so two writes at different offsets of one page (an O_DIRECT read into bytes 0..511
// and a CPU write at 512) are both visible, and a copy of the page keeps both.
import { PAGE_SIZE, type Scenario, type Stmt } from './ast.js';

export interface CellMap {
  /** Sorted in-page byte offsets where a cell starts; always begins with 0. */
  starts: number[];
}

export function cellMap(s: Scenario): CellMap {
  const starts = new Set<number>([0]);
  const note = (offset: number, len?: number): void => {
    starts.add(((offset % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE);
    if (len !== undefined) starts.add((((offset + len) % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE);
  };
  for (const t of s.threads) for (const st of t.body) visitAddr(st, note);
  return { starts: [...starts].sort((a, b) => a - b) };
}

function visitAddr(st: Stmt, note: (offset: number, len?: number) => void): void {
  if ('addr' in st) note(st.addr.offset, 'len' in st ? st.len : undefined);
  // pread()/pwrite() reach the file from its start.
  else if ((st.op === 'pwrite' || st.op === 'pread') && st.len !== undefined) note(0, st.len);
}

export function cellCount(m: CellMap): number {
  return m.starts.length;
}

/** The cell holding byte `b` of a page (0 <= b < PAGE_SIZE). */
export function cellOf(m: CellMap, b: number): number {
  let i = 0;
  while (i + 1 < m.starts.length && m.starts[i + 1] <= b) i++;
  return i;
}

export interface PageRange {
  readonly vpn: number;
  readonly cellFrom: number;
  readonly cellTo: number;
}

/**
 * The ranges already split, per cell map: a statement over a THP asks for its 512 ranges again
 * at every step it takes. The lists are shared: callers must not change them.
 */
const splitCache = new WeakMap<CellMap, Map<string, readonly PageRange[]>>();

/** Split the byte range [addr, addr+len) into per-page cell ranges (a shared, read-only list). */
export function pageRanges(m: CellMap, addr: number, len: number): readonly PageRange[] {
  let byRange = splitCache.get(m);
  if (!byRange) splitCache.set(m, (byRange = new Map()));
  const key = `${addr}:${len}`;
  let ranges = byRange.get(key);
  if (!ranges) {
    if (byRange.size > 4096) byRange.clear();
    byRange.set(key, (ranges = splitRange(m, addr, len)));
  }
  return ranges;
}

function splitRange(m: CellMap, addr: number, len: number): PageRange[] {
  const out: PageRange[] = [];
  let a = addr;
  const end = addr + len;
  while (a < end) {
    const vpn = Math.floor(a / PAGE_SIZE);
    const pageEnd = Math.min(end, (vpn + 1) * PAGE_SIZE);
    out.push({ vpn, cellFrom: cellOf(m, a - vpn * PAGE_SIZE), cellTo: cellOf(m, pageEnd - 1 - vpn * PAGE_SIZE) });
    a = pageEnd;
  }
  return out;
}
