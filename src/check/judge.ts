// Judging observations against the promise: every mismatch names the invariant, who observed,
// where, the value seen and the value promised.
import type { InvariantName } from '../scenario/ast.js';
import type { Token } from '../kernel/state.js';
import type { PromiseModel } from '../spec/promise.js';
import { tokenLabel, type TokenTable } from './tokens.js';

export interface Violation {
  invariant: InvariantName;
  /** Who observed: "process child", "pipe read by child (vmsplice reference #2)", "device behind parent's io_uring pin #1". */
  who: string;
  where: string;
  seen: string;
  promised: string;
  message: string;
}

export interface Expected {
  exact: boolean;
  values: readonly Token[];
}

/**
 * Compare what was seen with what was promised, cell by cell; classify the first mismatch:
 * a value the observer could never have known came from another process (leak); otherwise
 * a value lost or stale because of a reference (pin) or a write that vanished (lost-write).
 */
export function judge(
  promise: PromiseModel,
  tokens: TokenTable,
  observer: number,
  /** Who read (or a function naming them, called only if a violation needs it). */
  who: string | (() => string),
  /** The address (or a function naming it, called only if a violation needs it). */
  where: string | (() => string),
  seen: Token[],
  expected: Expected[],
  throughReference: boolean,
): Violation | null {
  for (let i = 0; i < seen.length; i++) {
    const e = expected[i];
    if (!e) continue;
    const s = seen[i];
    if (e.values.includes(s)) continue;
    const promised = e.values.map((t) => tokenLabel(tokens, t)).join(' or ');
    const seenText = tokenLabel(tokens, s);
    let invariant: InvariantName;
    if (!promise.knows(observer, s)) invariant = 'leak';
    else if (throughReference || e.values.some((t) => tokens.info[t]?.via === 'device')) invariant = 'pin';
    else invariant = 'lost-write';
    const reader = typeof who === 'string' ? who : who();
    const at = typeof where === 'string' ? where : where();
    const what = invariant === 'leak' ? 'data of another process' : invariant === 'pin' ? 'reference does not alias the mapped page' : 'a write was lost';
    return {
      invariant,
      who: reader,
      where: at,
      seen: seenText,
      promised,
      message: `${reader} read ${seenText} at ${at}, promised ${promised}: ${what}`,
    };
  }
  return null;
}
