// herd7-style final conditions over registers: `forall (child.new == child.old)`.
import type { CondExpr, CondTerm } from '../scenario/ast.js';
import type { RegValue } from '../explore/machine.js';
import type { TokenTable } from './tokens.js';

type Value = { kind: 'reg'; v: RegValue | undefined } | { kind: 'byte'; value: number };

function termValue(t: CondTerm, regs: (proc: string, reg: string) => RegValue | undefined): Value {
  return t.kind === 'byte' ? t : { kind: 'reg', v: regs(t.process, t.reg) };
}

/**
 * Equality: two data registers are equal iff they hold the same tokens (the same writes); a
 * data register equals a byte literal iff every cell holds a value written with that byte (or
 * zero-fill for 0); a number register compares numerically; a missing register equals nothing.
 */
function equal(a: Value, b: Value, tokens: TokenTable): boolean {
  if (a.kind === 'byte' && b.kind === 'byte') return a.value === b.value;
  if (a.kind === 'byte') return equal(b, a, tokens);
  const av = a.v;
  if (!av) return false;
  if (b.kind === 'byte') {
    if (av.kind === 'number') return av.value === b.value;
    if (av.kind === 'signal') return false;
    return av.tokens.length > 0 && av.tokens.every((t) => tokens.info[t].byte === b.value);
  }
  const bv = b.v;
  if (!bv || av.kind !== bv.kind) return false;
  if (av.kind === 'number' && bv.kind === 'number') return av.value === bv.value;
  if (av.kind === 'signal' && bv.kind === 'signal') return av.name === bv.name;
  if (av.kind === 'data' && bv.kind === 'data') return av.tokens.length === bv.tokens.length && av.tokens.every((t, i) => t === bv.tokens[i]);
  return false;
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
  const term = (t: CondTerm): string => (t.kind === 'byte' ? `0x${t.value.toString(16)}` : `${t.process}.${t.reg}`);
  switch (e.kind) {
    case 'bool':
      return String(e.value);
    case 'not':
      return `!${conditionText(e.arg)}`;
    case 'and':
    case 'or':
      return `(${conditionText(e.left)} ${e.kind === 'and' ? '&&' : '||'} ${conditionText(e.right)})`;
    case 'cmp':
      return `${term(e.left)} ${e.op} ${term(e.right)}`;
  }
}
