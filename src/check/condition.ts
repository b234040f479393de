// herd7-style final conditions over registers: `forall (child.new == child.old)`.
import type { CondExpr, CondTerm } from '../scenario/ast.js';
import type { RegValue } from '../explore/machine.js';
import type { TokenTable } from './tokens.js';
import { fieldIndex } from '../uapi/observe.js';

type Value =
  | { kind: 'reg'; v: RegValue | undefined }
  | { kind: 'byte'; value: number }
  | { kind: 'name'; name: string };

function termValue(t: CondTerm, regs: (proc: string, reg: string) => RegValue | undefined): Value {
  if (t.kind === 'byte' || t.kind === 'name') return t;
  const v = regs(t.process, t.reg);
  if (t.field === undefined) return { kind: 'reg', v };
  // A field of a pagemap()/kpageflags() register is the number 0 or 1.
  if (!v || v.kind !== 'bits') return { kind: 'reg', v: undefined };
  const i = fieldIndex(v.what, t.field);
  return { kind: 'byte', value: i >= 0 ? (v.bits >> i) & 1 : -1 };
}

/**
 * Equality: two data registers are equal iff they hold the same tokens (the same writes); a
 * data register equals a byte literal iff every cell holds a value written with that byte (or
 * zero-fill for 0); a number register compares numerically; page registers are equal iff they
 * name the same page (or both name none); an errno or a signal equals its name; a missing
 * register equals nothing.
 */
function equal(a: Value, b: Value, tokens: TokenTable): boolean {
  if (a.kind !== 'reg' && b.kind !== 'reg') return a.kind === b.kind && (a.kind === 'byte' ? a.value === (b as { value: number }).value : a.name === (b as { name: string }).name);
  if (a.kind !== 'reg') return equal(b, a, tokens);
  const av = a.v;
  if (!av) return false;
  if (b.kind === 'byte') {
    if (av.kind === 'number') return av.value === b.value;
    if (av.kind === 'data') return b.value <= 255 && av.tokens.length > 0 && av.tokens.every((t) => tokens.info[t].byte === b.value);
    return false;
  }
  if (b.kind === 'name') return (av.kind === 'errno' || av.kind === 'signal') && av.name === b.name;
  const bv = b.v;
  if (!bv || av.kind !== bv.kind) return false;
  switch (av.kind) {
    case 'number':
      return av.value === (bv as typeof av).value;
    case 'signal':
    case 'errno':
      return av.name === (bv as typeof av).name;
    case 'page':
      return av.pfn === (bv as typeof av).pfn;
    case 'bits':
      return av.what === (bv as typeof av).what && av.bits === (bv as typeof av).bits;
    case 'data': {
      const bt = (bv as typeof av).tokens;
      return av.tokens.length === bt.length && av.tokens.every((t, i) => t === bt[i]);
    }
  }
}

export function evalCondition(e: CondExpr, regs: (proc: string, reg: string) => RegValue | undefined, tokens: TokenTable): boolean {
  switch (e.kind) {
    case 'bool':
      return e.value;
    case 'not':
      return !evalCondition(e.arg, regs, tokens);
    case 'and':
      return evalCondition(e.left, regs, tokens) && evalCondition(e.right, regs, tokens);
    case 'or':
      return evalCondition(e.left, regs, tokens) || evalCondition(e.right, regs, tokens);
    case 'cmp': {
      const eq = equal(termValue(e.left, regs), termValue(e.right, regs), tokens);
      return e.op === '==' ? eq : !eq;
    }
  }
}

/** The condition as source text, for reports. */
export function conditionText(e: CondExpr): string {
  const term = (t: CondTerm): string =>
    t.kind === 'byte' ? (t.value <= 255 ? `0x${t.value.toString(16)}` : String(t.value)) : t.kind === 'name' ? t.name : `${t.process}.${t.reg}${t.field !== undefined ? '.' + t.field : ''}`;
  switch (e.kind) {
    case 'bool':
      return String(e.value);
    case 'not':
      // !(a == b), not !a == b: the same tree when parsed back, but it reads as (!a) == b.
      return e.arg.kind === 'cmp' ? `!(${conditionText(e.arg)})` : `!${conditionText(e.arg)}`;
    case 'and':
    case 'or':
      return `(${conditionText(e.left)} ${e.kind === 'and' ? '&&' : '||'} ${conditionText(e.right)})`;
    case 'cmp':
      return `${term(e.left)} ${e.op} ${term(e.right)}`;
  }
}
