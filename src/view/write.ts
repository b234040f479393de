// Writing a page for a command and opening it in a browser.
import { writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Scenario } from '../scenario/ast.js';
import type { Policy } from '../policies/policy.js';
import { expectationFor, verdictText } from '../report/verdict.js';
import { buildDoc } from './doc.js';
import { renderPage } from './html.js';

export interface PageRequest {
  scenario: Scenario;
  policies: readonly Policy[];
  schedule: number[];
  scheduleFrom: string;
  outcome?: string | null;
  eraOrder: readonly string[];
}

/** Records the runs, renders the page and writes it to `out`; returns the page's size in bytes. */
export function writePage(req: PageRequest, out: string): number {
  const expected = req.policies.map((p) => {
    const e = expectationFor(req.scenario, p.base ?? p.name, req.eraOrder);
    return e ? verdictText(e.expected) : null;
  });
  const doc = buildDoc(req.scenario, req.policies, { schedule: req.schedule, scheduleFrom: req.scheduleFrom, outcome: req.outcome ?? null, expected });
  const html = renderPage(doc);
  writeFileSync(out, html);
  return Buffer.byteLength(html);
}

/** Opens `file` with xdg-open when there is one; says what happened. */
export function openInBrowser(file: string): string {
  const found = spawnSync('sh', ['-c', 'command -v xdg-open'], { encoding: 'utf8' });
  if (found.status !== 0) return `no browser opener (xdg-open) found: open ${resolve(file)} yourself`;
  const child = spawn('xdg-open', [resolve(file)], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  return `opening ${resolve(file)} with xdg-open`;
}
