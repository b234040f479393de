// Hidden classes of two copies of a state, compared object by object through V8's own test
// intrinsic. The explorer makes states in three ways (the kernel paths, cloneMachineState, the
// queue's decoder); when two of them give the same part of a state different hidden classes,
// optimized code that has seen one deoptimizes when it meets the other, and a search pays the
// compiler again for every such pair.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--allow-natives-syntax');
// Natives syntax is parsed only in code compiled after the flag is set, hence a Function.
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b);') as (a: object, b: object) => boolean;
const elementsKind = new Function(
  'a',
  "return (%HasHoleyElements(a) ? 'holey ' : 'packed ') + (%HasSmiElements(a) ? 'small integers' : %HasDoubleElements(a) ? 'doubles' : 'objects');",
) as (a: readonly unknown[]) => string;

/**
 * Where a and b (two copies of the same value) are objects or arrays of different hidden classes,
 * as paths with indices folded (`st.kernel.procs[].mm.vmas[]`). Empty arrays are left out: their
 * elements kind comes from V8's allocation-site feedback, not from what they hold. So are paths
 * that `holey` names, whose arrays may have holes in some states and none in others.
 */
export function shapeDifferences(a: unknown, b: unknown, holey: ReadonlySet<string> = new Set(), path = 'st', out = new Set<string>()): Set<string> {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return out;
  if (ArrayBuffer.isView(a)) return out;
  const folded = path.replace(/\[\d+\]/g, '[]');
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length > 0 && !holey.has(folded) && !haveSameMap(a, b)) out.add(`${folded}: ${elementsKind(a)} / ${elementsKind(b)}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) shapeDifferences(a[i], b[i], holey, `${path}[${i}]`, out);
    return out;
  }
  const kind = (a as { kind?: unknown }).kind;
  if (!haveSameMap(a, b)) out.add(typeof kind === 'string' ? `${folded} (${kind})` : folded);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const key of Object.keys(ra)) shapeDifferences(ra[key], rb[key], holey, `${path}.${key}`, out);
  return out;
}
