// Finding and reading scenario files (*.cow). Every file is parsed before anything runs, so bad
// input never half-runs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Scenario } from './ast.js';
import { ScenarioError } from './errors.js';
import { parseScenario } from './parse.js';

export const SCENARIO_EXT = '.cow';

export class LoadError extends Error {}

/** Every *.cow file under the given files or directories, sorted. */
export function findScenarioFiles(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string, explicit: boolean): void => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new LoadError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const child = join(p, name);
        if (statSync(child).isDirectory() || name.endsWith(SCENARIO_EXT)) visit(child, false);
      }
    } else if (explicit || p.endsWith(SCENARIO_EXT)) out.push(p);
  };
  for (const p of paths) visit(p, true);
  return [...new Set(out)].sort();
}

export interface Loaded {
  scenarios: Scenario[];
  errors: ScenarioError[];
}

/** Parse every file; a file is named relative to `base` in messages. */
export function loadScenarios(files: string[], knownEras: readonly string[], base = process.cwd()): Loaded {
  const scenarios: Scenario[] = [];
  const errors: ScenarioError[] = [];
  for (const f of files) {
    const name = relative(base, f) || f;
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new LoadError(`${name}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      scenarios.push(parseScenario(text, name, knownEras));
    } catch (e) {
      if (e instanceof ScenarioError) errors.push(e);
      else throw e;
    }
  }
  return { scenarios, errors };
}
