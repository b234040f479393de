// The viewer page without a browser: escaping, the Content-Security-Policy, the page's
// structure, the two-era alignment, DOT output and the view command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarios } from '../../src/scenario/load.js';
import { ERAS } from '../../src/policies/eras/index.js';
import { buildDoc } from '../../src/view/doc.js';
import { defaultSchedule } from '../../src/view/record.js';
import { renderPage } from '../../src/view/html.js';
import { CLIENT_SCRIPT } from '../../src/view/client.js';
import { esc, scriptJson } from '../../src/view/escape.js';
import { dotString, runDot } from '../../src/view/dot.js';
import { recordRun } from '../../src/view/record.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const CVE = join(ROOT, 'scenarios', 'history', 'cve-2020-29374-jann-horn.cow');
const XSS = join(ROOT, 'test', 'view', 'xss.cow');
const era = (n: string) => ERAS.find((e) => e.name === n) as (typeof ERAS)[number];

function load(file: string) {
  const { scenarios, errors } = loadScenarios([file], ERAS.map((e) => e.name));
  assert.equal(errors.length, 0);
  return scenarios[0];
}

function page(file: string, eras: string[]): string {
  const s = load(file);
  const ps = eras.map(era);
  return renderPage(buildDoc(s, ps, { schedule: defaultSchedule(s, ps[0]), scheduleFrom: 'the default schedule' }));
}

test('esc and scriptJson leave no markup', () => {
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const j = scriptJson({ s: '</script><script>alert(1)</script>\u2028' });
  assert.ok(!j.includes('<') && !j.includes('>'));
  assert.deepEqual(JSON.parse(j), { s: '</script><script>alert(1)</script>\u2028' });
});

test('strings from the trace are text, never markup', () => {
  const html = page(XSS, ['v4.9', 'v5.9']);
  // The only script elements are the page's own two (data and code).
  assert.equal((html.match(/<script/g) ?? []).length, 2);
  assert.ok(!html.includes("<script>alert('name')"));
  assert.ok(!html.includes('<img'));
  assert.ok(!html.includes('<b>bold'));
  assert.ok(!/<a href="javascript/i.test(html));
  assert.ok(html.includes('&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;'));
  assert.ok(html.includes('&lt;script&gt;alert(2)&lt;/script&gt;'));
  // No attribute loads anything.
  assert.ok(!/\ssrc=/i.test(html.replace(/<script type="application\/json"[^]*?<\/script>/, '')));
});

test('the Content-Security-Policy forbids remote loads and allows only the page script by hash', () => {
  const html = page(CVE, ['v4.9']);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
  const decoded = csp.replace(/&#39;/g, "'");
  assert.match(decoded, /default-src 'none'/);
  assert.match(decoded, /base-uri 'none'/);
  assert.ok(!decoded.includes('unsafe-eval'));
  const hash = createHash('sha256').update(CLIENT_SCRIPT, 'utf8').digest('base64');
  assert.ok(decoded.includes(`script-src 'sha256-${hash}'`));
  assert.ok(html.includes(`<script>${CLIENT_SCRIPT}</script>`));
  // Every absolute URL is a commit link or the SVG namespace.
  const urls = [...html.matchAll(/https?:\/\/[^"'\s<)]+/g)].map((m) => m[0]);
  for (const u of urls) assert.match(u, /^(https:\/\/git\.kernel\.org\/torvalds\/c\/[0-9a-f]+|http:\/\/www\.w3\.org\/2000\/svg|https:\/\/apalache-mc\.org\/docs\/adr\/015adr-trace\.html)$/, u);
});

test('one era: a frame per step, lanes per thread, counts in the diagram, the violation marked', () => {
  const s = load(CVE);
  const doc = buildDoc(s, [era('v4.9')], { schedule: defaultSchedule(s, era('v4.9')), scheduleFrom: 'x' });
  assert.equal(doc.runs[0].steps.length, 16);
  assert.deepEqual(doc.runs[0].lanes, ['parent', 'child']);
  const html = renderPage(doc);
  assert.equal((html.match(/<section class="frame"/g) ?? []).length, 17);
  // Step 12: the parent's write reuses the page the pipe still holds (refcount 2, mapcount 1).
  // (The fork took steps 3 to 5: the pinned-page check, the copy, flush_tlb_mm; the child's
  // munmap steps 8 and 9: zap_pte_range, then tlb_finish_mmu.)
  const st12 = doc.runs[0].states[12].pages[1];
  assert.equal(st12.refcount, 2);
  assert.equal(st12.mapcount, 1);
  assert.deepEqual(doc.runs[0].states[12].pipes[0].buffers, [0]);
  assert.match(doc.runs[0].steps[11].events[0].text, /page_mapcount 1 .* -> wp_page_reuse/);
  const v = doc.runs[0].steps[14].violation;
  assert.equal(v?.invariant, 'leak');
  assert.deepEqual(v?.marks, ['pipe:0', 'ref:0', 'page:1']);
  const frame15 = /<section class="frame" id="frame-15"[^]*?<\/section>/.exec(html)?.[0] ?? '';
  assert.match(frame15, /class="vbox"><b>VIOLATION leak/);
  assert.match(frame15, /class="page( chg)? viol"/);
  assert.match(frame15, /<g class="vbadge">.*LEAK/);
});

test('two eras: the same schedule aligned, the first differing decision marked', () => {
  const s = load(CVE);
  const doc = buildDoc(s, [era('v4.9'), era('v5.9')], { schedule: defaultSchedule(s, era('v4.9')), scheduleFrom: 'x' });
  assert.equal(doc.firstDiff, 11);
  const [a, b] = doc.rows[11];
  assert.match(doc.runs[0].steps[a as number].events[0].text, /wp_page_reuse/);
  const bEv = doc.runs[1].steps[b as number].events[0];
  assert.match(bEv.text, /page_count 2 != 1 -> wp_page_copy/);
  assert.equal(bEv.commit, '09854ba94c6a');
  assert.equal(doc.runs[1].verdict, 'holds');
  assert.equal(doc.runs[1].stopped, null);
  const html = renderPage(doc);
  assert.match(html, /<div class="r diff" data-step="12">/);
  assert.ok(html.includes('<a href="https://git.kernel.org/torvalds/c/09854ba94c6a"'));
});

test('a schedule that the other era cannot replay says so at that step', () => {
  const s = load(CVE);
  // Under v4.9 the child reads the pipe before the parent signals: not runnable under either era.
  const run = recordRun(s, era('v5.9'), { kind: 'exact', schedule: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1] });
  assert.ok(run.stopped);
  assert.equal(run.stopped?.step, 11);
  assert.match(run.stopped?.reason ?? '', /runs child, which cannot run here \(child at line 22 \(wait\(secret_written\)\)\)/);
});

test('DOT: one graph per state, strings quoted', () => {
  assert.equal(dotString('a "b" \\ c\nd'), '"a \\"b\\" \\\\ c\\nd"');
  const s = load(CVE);
  const run = recordRun(s, era('v4.9'), { kind: 'default' });
  const all = runDot(s.name, run, null);
  assert.equal((all.match(/^digraph /gm) ?? []).length, 17);
  assert.equal((all.match(/{/g) ?? []).length, (all.match(/}/g) ?? []).length);
  const ten = runDot(s.name, run, 11);
  assert.match(ten, /"page:1" \[label="struct page pfn 1\\nrefcount 2  mapcount 1/);
  assert.match(ten, /"pipe:0" -> "ref:0"/);
});

test('cowlab view writes the page, from a scenario and from an ITF trace; run --dot prints DOT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-view-'));
  try {
    const out = join(dir, 'cve.html');
    const r = spawnSync(process.execPath, [CLI, 'view', CVE, '--era', 'v4.9', '--era', 'v5.9', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*cve\.html \(\d+ KB\): CVE-2020-29374.*, v4\.9 vs v5\.9, 16 steps/);
    assert.match(readFileSync(out, 'utf8'), /^<!doctype html>/);
    const itf = join(dir, 'cex.json');
    const c = spawnSync(process.execPath, [CLI, 'check', CVE, '--era', 'v4.9', '--itf', itf], { encoding: 'utf8' });
    assert.equal(c.status, 1, c.stderr);
    const t = spawnSync(process.execPath, [CLI, 'view', itf, '--era', 'v5.9'], { encoding: 'utf8', cwd: dir });
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /wrote cex\.v4\.9-v5\.9\.html/);
    assert.match(readFileSync(join(dir, 'cex.v4.9-v5.9.html'), 'utf8'), /schedule: the trace cex\.json/);
    const three = spawnSync(process.execPath, [CLI, 'view', CVE, '--era', 'v4.9', '--era', 'v5.9', '--era', 'v6.18', '--out', out], { encoding: 'utf8' });
    assert.equal(three.status, 2);
    const dot = spawnSync(process.execPath, [CLI, 'run', CVE, '--era', 'v4.9', '--dot', '0'], { encoding: 'utf8' });
    assert.equal(dot.status, 1);
    assert.match(dot.stdout, /^digraph "step_0" \{/);
    const html = join(dir, 'run.html');
    const h = spawnSync(process.execPath, [CLI, 'run', CVE, '--era', 'v4.9', '--html', html], { encoding: 'utf8' });
    assert.equal(h.status, 1);
    assert.match(h.stderr, /wrote .*run\.html/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
