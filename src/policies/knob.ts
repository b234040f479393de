import type { Knob } from './policy.js';

/** A knob whose commit and first release were confirmed from a primary source (see docs/kernel-rules.md). */
export function cited<T>(value: T, commit: string, title: string, since: string): Knob<T> {
  return { value, commit, title, since, verified: true };
}

/** A knob whose commit id or release could not be confirmed: printed with "unverified". */
export function unverified<T>(value: T, commit: string, title: string, since: string): Knob<T> {
  return { value, commit, title, since, verified: false };
}
