// User policies: a module that starts from an era and overrides knobs, loaded with --policy.
// This is how a patch idea is tested: write the rule, run the corpus, read the mismatches.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { ERAS } from './eras/index.js';
import { KNOB_NAMES, type Knob, type Policy, type WpReuseRule } from './policy.js';
import { cited, unverified } from './knob.js';
import * as rules from './rules.js';

export interface PolicyLib {
  /** The built-in eras by name ("v6.18", ...). */
  eras: Readonly<Record<string, Policy>>;
  /** The built-in do_wp_page reuse rules. */
  rules: typeof rules;
  cited: typeof cited;
  unverified: typeof unverified;
  /** A new policy: the base era with some knobs replaced. */
  extend(base: string, overrides: Partial<Policy> & { name: string }): Policy;
}

export type PolicyModule = Policy | ((lib: PolicyLib) => Policy);

export const policyLib: PolicyLib = {
  eras: Object.fromEntries(ERAS.map((e) => [e.name, e])),
  rules,
  cited,
  unverified,
  extend(base, overrides) {
    const b = ERAS.find((e) => e.name === base || e.name === `v${base}`);
    if (!b) throw new Error(`unknown base era '${base}' (known: ${ERAS.map((e) => e.name).join(', ')})`);
    return { ...b, kernels: `${b.kernels} + changes`, summary: `${b.name} with changed knobs`, ...overrides, base: b.name };
  },
};

export class PolicyLoadError extends Error {
  override name = 'PolicyLoadError';
}

/** A user policy's rule that throws or answers nonsense while a scenario runs: bad input. */
export class PolicyRuntimeError extends PolicyLoadError {
  override name = 'PolicyRuntimeError';
}

/**
 * The policy with its do_wp_page rule guarded: an exception in decide(), or an answer that is
 * not { reuse: boolean, reason: string }, becomes a PolicyRuntimeError naming the file.
 */
export function guardPolicy(p: Policy, file: string): Policy {
  return { ...p, wpReuse: guardRule(p, file, 'wpReuse'), hugetlbWpReuse: guardRule(p, file, 'hugetlbWpReuse') };
}

function guardRule(p: Policy, file: string, knob: 'wpReuse' | 'hugetlbWpReuse'): Policy[typeof knob] {
  const rule = p[knob].value;
  const decide: WpReuseRule['decide'] = (input) => {
    let d: unknown;
    try {
      d = rule.decide(input);
    } catch (e) {
      throw new PolicyRuntimeError(`${file}: policy '${p.name}': ${knob} rule '${rule.name}' decide() threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    const o = d as { reuse?: unknown; reason?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.reuse !== 'boolean' || typeof o.reason !== 'string') {
      throw new PolicyRuntimeError(`${file}: policy '${p.name}': ${knob} rule '${rule.name}' decide() must return { reuse: boolean, reason: string }, returned ${String(JSON.stringify(d)).slice(0, 80)}`);
    }
    return d as ReturnType<WpReuseRule['decide']>;
  };
  return { ...p[knob], value: { name: rule.name, decide } };
}

const ENUMS: Partial<Record<keyof Policy, readonly string[]>> = {
  gupReadOnCow: ['reference', 'break-cow', 'unshare-anon-pin', 'unshare-cow-pin'],
  forkPinned: ['share', 'copy-maybe-pinned', 'anon-exclusive'],
  hugetlbForkPinned: ['share', 'copy-maybe-pinned', 'anon-exclusive'],
  forceWrite: ['drop-foll-write', 'foll-cow-dirty', 'anon-exclusive'],
  changeWritable: ['never', 'mprotect-dirty', 'mprotect', 'mprotect-uffd'],
  swapin: ['reuse_swap_page', 'page_count', 'exclusive', 'exclusive-writable'],
  thpWp: ['copy', 'mapcount', 'refcount', 'exclusive'],
  ioUringFileBuffers: ['no-file', 'shmem', 'gup'],
};

/** Check a loaded policy's shape, naming the file and the knob at fault. */
export function validatePolicy(p: unknown, file: string): Policy {
  const fail = (why: string): never => {
    throw new PolicyLoadError(`${file}: ${why}`);
  };
  if (typeof p !== 'object' || p === null) fail('the default export must be a policy object or a function (lib) => policy');
  const o = p as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') fail("expected a non-empty string 'name'");
  for (const f of ['kernels', 'summary'] as const) if (typeof o[f] !== 'string') fail(`expected a string '${f}'`);
  for (const name of KNOB_NAMES) {
    const k = o[name] as Knob<unknown> | undefined;
    if (typeof k !== 'object' || k === null || !('value' in k)) fail(`knob '${name}': expected { value, commit, title, since, verified }`);
    const knob = k as Knob<unknown>;
    for (const f of ['commit', 'title', 'since'] as const) if (typeof knob[f] !== 'string') fail(`knob '${name}': expected a string '${f}'`);
    if (typeof knob.verified !== 'boolean') fail(`knob '${name}': expected a boolean 'verified'`);
    const allowed = ENUMS[name];
    if (allowed && !allowed.includes(String(knob.value))) fail(`knob '${name}': expected one of ${allowed.join(', ')}, found '${String(knob.value)}'`);
    if (name === 'wpReuse' || name === 'hugetlbWpReuse') {
      const r = knob.value as { name?: unknown; decide?: unknown };
      if (typeof r !== 'object' || r === null || typeof r.name !== 'string' || typeof r.decide !== 'function') fail(`knob '${name}': expected a rule { name, decide(input) => { reuse, reason } }`);
    } else if (!allowed && typeof knob.value !== 'boolean') fail(`knob '${name}': expected a boolean value`);
  }
  if (ERAS.some((e) => e.name === o.name)) fail(`the name '${String(o.name)}' is a built-in era; choose another`);
  return p as Policy;
}

/** Load a policy module (.js/.mjs directly, .ts through tsx). */
export async function loadPolicy(path: string): Promise<Policy> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new PolicyLoadError(`${path}: no such file`);
  let mod: { default?: unknown };
  try {
    if (/\.(c|m)?ts$/.test(abs)) {
      // tsx is an optional dependency: only TypeScript policies need it.
      let tsx: typeof import('tsx/esm/api');
      try {
        tsx = await import('tsx/esm/api');
      } catch {
        throw new PolicyLoadError(`${path}: a TypeScript policy needs the optional dependency tsx (npm install tsx), or write the policy as .js`);
      }
      mod = (await tsx.tsImport(pathToFileURL(abs).href, import.meta.url)) as { default?: unknown };
    } else mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (e) {
    if (e instanceof PolicyLoadError) throw e;
    throw new PolicyLoadError(`${path}: cannot load: ${e instanceof Error ? e.message : String(e)}`);
  }
  let exported = mod.default;
  // A .ts module with no package.json saying "type": "module" near it is compiled as CommonJS:
  // its default export then arrives as module.exports.default. Unwrap it, so that a policy
  // loads the same wherever it is.
  if (typeof exported === 'object' && exported !== null && !('name' in exported) && 'default' in exported) {
    exported = (exported as { default: unknown }).default;
  }
  if (typeof exported === 'function') {
    try {
      exported = (exported as (lib: PolicyLib) => unknown)(policyLib);
    } catch (e) {
      throw new PolicyLoadError(`${path}: the policy function threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return guardPolicy(validatePolicy(exported, path), path);
}
