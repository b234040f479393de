// The token table: every value a scenario can write is a unique token, tagged with its writer,
// so that any observation can be traced back to the write that produced it.
import type { Scenario } from '../scenario/ast.js';
import type { Token } from '../kernel/state.js';

export interface TokenInfo {
  byte: number;
  /** Writing process name (for device writes: the owner of the reference). */
  writer: string;
  /** "cpu" for a store by a thread, or the interface a device wrote through. */
  via: string;
  line: number;
}

export interface TokenTable {
  info: TokenInfo[];
  /** Token of the write statement at (thread index, statement index). */
  byStmt: Map<string, Token>;
  /** Synthesis: the token of a write named by a stable key, allocated on first use. */
  dynamic(key: string, byte: number, writer: string, via: string): Token;
}

export function stmtKey(thread: number, stmt: number): string {
  return `${thread}:${stmt}`;
}

/** The token of the DMA that an O_DIRECT read submitted at (thread, statement) writes. */
export function dmaKey(thread: number, stmt: number): string {
  return `dma:${thread}:${stmt}`;
}

/** Static allocation in declaration order: the same write always gets the same token. */
export function tokenTable(s: Scenario): TokenTable {
  const info: TokenInfo[] = [{ byte: 0, writer: '', via: 'zero-fill', line: 0 }];
  const byStmt = new Map<string, Token>();
  s.threads.forEach((t, ti) => {
    t.body.forEach((st, si) => {
      if (st.op === 'write' || st.op === 'device_write' || st.op === 'proc_mem_write' || st.op === 'pwrite') {
        byStmt.set(stmtKey(ti, si), info.length);
        info.push({ byte: st.byte, writer: t.process, via: st.op === 'device_write' ? 'device' : 'cpu', line: st.pos.line });
      }
      // The DMA of an O_DIRECT read in flight: one write, whenever it lands.
      if (st.op === 'gup' && st.dma !== undefined) {
        byStmt.set(dmaKey(ti, si), info.length);
        info.push({ byte: st.dma, writer: t.process, via: 'device', line: st.pos.line });
      }
    });
  });
  const byKey = new Map<string, Token>();
  const dynamic = (key: string, byte: number, writer: string, via: string): Token => {
    let t = byKey.get(key);
    if (t === undefined) {
      t = info.length;
      info.push({ byte, writer, via, line: 0 });
      byKey.set(key, t);
    }
    return t;
  };
  return { info, byStmt, dynamic };
}

export function tokenLabel(t: TokenTable, token: Token): string {
  if (token === 0) return '0x00 (zero-fill)';
  const i = t.info[token];
  const hex = `0x${i.byte.toString(16).padStart(2, '0')}`;
  const where = i.line ? `, line ${i.line}` : '';
  return `${hex} (${i.via === 'device' ? 'device write for ' : ''}${i.writer}${where})`;
}
