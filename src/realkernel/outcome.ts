// One run's outcome in a form the model and a real kernel both produce: the run's status and
// every register, each as text that means the same on both sides. What cannot mean the same is
// normalised away, on both sides alike:
// - page identities: only which registers name the same page matters, so pages are renamed in
//   order of first appearance (registers in the order the scenario's statements assign them);
// - fault counters: a real process has faulted many times before the scenario starts, so each
//   faults() register is taken relative to the first faults() of its thread;
// - data: the bytes read, as the sequence of byte values run by run (the model tells bytes apart
//   only at the cells the scenario's addresses distinguish, so run lengths are not compared).
import type { Scenario, Stmt } from '../scenario/ast.js';
import { stmtDst } from '../scenario/validate.js';
import type { RegValue } from '../explore/machine.js';
import type { TokenTable } from '../check/tokens.js';
import { PAGEMAP_FIELDS, KPAGEFLAGS_FIELDS, PAGE_NONE, PAGE_SWAPPED, UFFD_EVENT_FORK, UFFD_EVENT_PAGEFAULT, fieldsOf } from '../uapi/observe.js';

/** How a register's value is read, from the statement that assigns it. */
export type RegisterKind = 'data' | 'page' | 'pagemap' | 'kpageflags' | 'uffd_msg' | 'num' | 'faults' | 'ret' | 'status';

export interface RegisterInfo {
  kind: RegisterKind;
  /** For faults(): the register holding the first faults() of the same thread. */
  base?: string;
}

/** `proc.reg` → what it holds, for every register the scenario assigns. */
export function registerTable(s: Scenario): Map<string, RegisterInfo> {
  const out = new Map<string, RegisterInfo>();
  for (const t of s.threads) {
    let firstFaults: string | undefined;
    for (const st of t.body) {
      const r = assigned(st);
      if (!r) continue;
      const key = `${t.process}.${r.name}`;
      if (r.kind === 'faults') {
        firstFaults ??= key;
        out.set(key, { kind: 'faults', base: firstFaults });
      } else out.set(key, { kind: r.kind });
    }
  }
  return out;
}

/** The register a statement assigns (validate's stmtDst), with how its value is read. */
function assigned(st: Stmt): { name: string; kind: RegisterKind } | undefined {
  // A pinning call's result (H, R = ...): its handle is no register.
  if (st.op === 'gup' && st.ret !== undefined) return { name: st.ret, kind: 'ret' };
  const d = stmtDst(st);
  return d && d.kind === 'register' ? { name: d.name, kind: registerKind(st) } : undefined;
}

function registerKind(st: Stmt): RegisterKind {
  switch (st.op) {
    case 'read':
    case 'pipe_read':
    case 'device_read':
      return 'data';
    case 'faults':
      return 'faults';
    case 'uffd_read':
      return 'uffd_msg';
    case 'observe':
      return st.what === 'page' ? 'page' : st.what === 'pagemap' || st.what === 'kpageflags' ? st.what : 'num';
    case 'waitpid':
      return 'status';
    case 'uffd_wp_faults':
      return 'num';
    default:
      return 'ret';
  }
}

/** A register's raw value on either side, before normalisation. */
export type RawValue =
  | { kind: 'bytes'; runs: number[] }
  | { kind: 'page'; id: string }
  | { kind: 'flags'; names: string[] }
  | { kind: 'num'; value: number }
  | { kind: 'name'; name: string };

export interface Outcome {
  status: 'ok' | 'error' | 'skip';
  /** For 'error': the errno or signal; for 'skip': the reason. */
  detail: string;
  /** `proc.reg` → normalised value text, in the order the scenario assigns them. */
  registers: Map<string, string>;
}

/** Normalise raw register values into an outcome (see the header). */
export function normalise(table: Map<string, RegisterInfo>, status: Outcome['status'], detail: string, raw: Map<string, RawValue>): Outcome {
  // Program order (the table's order), so page #1 is the first page the scenario looked at.
  const order = [...table.keys()];
  const rank = (k: string): number => {
    const i = order.indexOf(k);
    return i < 0 ? order.length : i;
  };
  const keys = [...raw.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const pageNames = new Map<string, string>();
  const registers = new Map<string, string>();
  for (const key of keys) {
    const v = raw.get(key) as RawValue;
    const info = table.get(key);
    let text: string;
    switch (v.kind) {
      case 'bytes':
        text = `data ${v.runs.length ? v.runs.map((b) => b.toString(16).padStart(2, '0')).join(',') : '-'}`;
        break;
      case 'page': {
        if (v.id === 'none' || v.id === 'swapped') text = `page ${v.id}`;
        else {
          if (!pageNames.has(v.id)) pageNames.set(v.id, `#${pageNames.size + 1}`);
          text = `page ${pageNames.get(v.id)}`;
        }
        break;
      }
      case 'flags':
        text = `${info?.kind ?? 'flags'} {${v.names.join(', ')}}`;
        break;
      case 'num': {
        if (info?.kind === 'faults' && info.base !== undefined) {
          const base = raw.get(info.base);
          text = base && base.kind === 'num' ? `faults +${v.value - base.value}` : `faults ?`;
        } else text = `${info?.kind === 'ret' || info?.kind === 'status' ? info.kind : 'num'} ${v.value}`;
        break;
      }
      case 'name':
        text = `${info?.kind === 'ret' || info?.kind === 'status' ? info.kind : 'signal'} ${v.name}`;
        break;
    }
    registers.set(key, text);
  }
  return { status, detail, registers };
}

/** The outcome as one comparable line. */
export function outcomeKey(o: Outcome): string {
  const regs = [...o.registers].map(([k, v]) => `${k}=${v}`).join('; ');
  return o.status === 'ok' ? regs || '(no registers)' : `${o.status} ${o.detail}${regs ? ' | ' + regs : ''}`;
}

/** Collapse consecutive equal bytes into one run each. */
export function runsOf(bytes: Iterable<number>): number[] {
  const out: number[] = [];
  for (const b of bytes) if (out.length === 0 || out[out.length - 1] !== b) out.push(b);
  return out;
}

// ---- the model's side ----

/** A model register as a raw value (tokens become the bytes they were written with). */
export function rawFromModel(v: RegValue, tokens: TokenTable): RawValue {
  switch (v.kind) {
    case 'data':
      return { kind: 'bytes', runs: runsOf(v.tokens.map((t) => tokens.info[t].byte)) };
    case 'number':
      return { kind: 'num', value: v.value };
    case 'signal':
    case 'errno':
      return { kind: 'name', name: v.name };
    case 'page':
      return { kind: 'page', id: v.pfn === PAGE_NONE ? 'none' : v.pfn === PAGE_SWAPPED ? 'swapped' : `pfn${v.pfn}` };
    case 'bits':
      return { kind: 'flags', names: fieldsOf(v.what).filter((_, i) => (v.bits >> i) & 1) };
  }
}

// ---- the kernel's side ----

/** A `COWLAB REG` value (docs/real-kernel.md) as a raw value; null if it does not parse. */
export function rawFromKernel(value: string, kind: RegisterKind | undefined): RawValue | null {
  const [tag, ...rest] = value.trim().split(/\s+/);
  const arg = rest.join(' ');
  switch (tag) {
    case 'data': {
      if (arg === '-') return { kind: 'bytes', runs: [] };
      const bytes: number[] = [];
      for (const run of arg.split(',')) {
        const m = /^([0-9a-fA-F]{2})\*(\d+)$/.exec(run);
        if (!m) return null;
        bytes.push(parseInt(m[1], 16));
      }
      return { kind: 'bytes', runs: runsOf(bytes) };
    }
    case 'pagemap': {
      if (!/^[0-9a-fA-F]{1,16}$/.test(arg)) return null;
      const entry = BigInt('0x' + arg);
      const has = (b: number): boolean => ((entry >> BigInt(b)) & 1n) === 1n;
      if (kind === 'page') {
        if (has(PAGEMAP_FIELDS.present)) return { kind: 'page', id: (entry & ((1n << 55n) - 1n)).toString() };
        return { kind: 'page', id: has(PAGEMAP_FIELDS.swapped) ? 'swapped' : 'none' };
      }
      return { kind: 'flags', names: Object.entries(PAGEMAP_FIELDS).filter(([, b]) => has(b)).map(([n]) => n) };
    }
    case 'kpageflags': {
      if (!/^[0-9a-fA-F]{1,16}$/.test(arg)) return null;
      const entry = BigInt('0x' + arg);
      return { kind: 'flags', names: Object.entries(KPAGEFLAGS_FIELDS).filter(([, b]) => ((entry >> BigInt(b)) & 1n) === 1n).map(([n]) => n) };
    }
    case 'uffd_msg': {
      // `uffd_msg EVENT FLAGS`: struct uffd_msg's event and, for a page fault, pagefault.flags (hex).
      const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+)$/.exec(arg);
      if (!m) return null;
      const event = parseInt(m[1], 16);
      const flags = parseInt(m[2], 16);
      const names: string[] = [];
      if (event === UFFD_EVENT_PAGEFAULT) names.push('pagefault');
      if (event === UFFD_EVENT_FORK) names.push('fork');
      if (event === UFFD_EVENT_PAGEFAULT && flags & 1) names.push('write');
      if (event === UFFD_EVENT_PAGEFAULT && flags & 2) names.push('wp');
      return { kind: 'flags', names };
    }
    case 'num':
      return /^\d+$/.test(arg) ? { kind: 'num', value: Number(arg) } : null;
    case 'ret':
    case 'status':
      if (arg === '0') return { kind: 'num', value: 0 };
      return /^[A-Z][A-Z0-9]*$/.test(arg) ? { kind: 'name', name: arg } : /^\d+$/.test(arg) ? { kind: 'num', value: Number(arg) } : null;
    case 'signal':
      return /^SIG[A-Z0-9]+$/.test(arg) ? { kind: 'name', name: arg } : null;
    default:
      return null;
  }
}
