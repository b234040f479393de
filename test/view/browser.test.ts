// The viewer in a real browser (Debian's Chromium driven by playwright-core): keyboard
// stepping, the counts shown, the violation marked, the two-era view's first difference, no
// console errors, no network requests; saves the README's screenshots under docs/img/.
// Without a browser the test is skipped and says why.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const CVE = join(ROOT, 'scenarios', 'history', 'cve-2020-29374-jann-horn.cow');
const IMG = join(ROOT, 'docs', 'img');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

type Playwright = typeof import('playwright-core');

async function browserOrSkip(t: TestContext): Promise<Playwright | null> {
  if (!existsSync(CHROMIUM)) {
    t.skip(`no browser: ${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM=/path/to/chromium)`);
    return null;
  }
  try {
    return await import('playwright-core');
  } catch (e) {
    t.skip(`no browser driver: playwright-core is not installed (npm ci): ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

function view(out: string, eras: string[]): void {
  const r = spawnSync(process.execPath, [CLI, 'view', CVE, ...eras.flatMap((e) => ['--era', e]), '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('the viewer in Chromium: stepping, counts, violation, two eras, no errors, no network', { timeout: 120_000 }, async (t) => {
  const pw = await browserOrSkip(t);
  if (!pw) return;
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-browser-'));
  const browser = await pw.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const two = join(dir, 'two.html');
    const one = join(dir, 'one.html');
    view(two, ['v4.9', 'v5.9']);
    view(one, ['v4.9']);
    mkdirSync(IMG, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const remote: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) remote.push(r.url());
    });
    const visible = (sel: string) => page.locator(`.frame:not([hidden]) ${sel}`);

    // One era: step with the keyboard to the parent's write, the moment do_wp_page reuses.
    await page.goto(pathToFileURL(one).href);
    assert.equal(await page.locator('.frame:not([hidden])').getAttribute('data-frame'), '0');
    for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowRight');
    assert.equal(new URL(page.url()).hash, '#step-12');
    assert.equal(await page.locator('.frame:not([hidden])').getAttribute('data-frame'), '12');
    assert.match((await visible('.decisions').textContent()) ?? '', /page_mapcount 1 \+ swapcount 0 <= 1 -> wp_page_reuse \[v4\.9\]/);
    const counts = await visible('g[data-key="page:1"] .count').allTextContents();
    assert.deepEqual(counts, ['2', '1'], 'refcount 2 (the mapping and the pipe buffer), mapcount 1');
    assert.match((await visible('.holder[data-key="pipe:0"]').count()).toString(), /^1$/);
    await page.screenshot({ path: join(IMG, 'view-state.png') });
    // On to the violation: the child reads the secret through the pipe.
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    assert.equal(new URL(page.url()).hash, '#step-15');
    assert.match((await visible('.vbox').textContent()) ?? '', /^VIOLATION leak: pipe read by child .* read 0x53 \(parent, line 12\)/);
    assert.equal(await visible('.diagram .page.viol').count(), 1);
    assert.equal(await visible('.diagram .vbadge').textContent(), 'LEAK');
    await page.keyboard.press('ArrowLeft');
    assert.equal(new URL(page.url()).hash, '#step-14');
    // The slider and #step-N links.
    await page.locator('#slider').fill('3');
    assert.equal(await page.locator('.frame:not([hidden])').getAttribute('data-frame'), '3');
    await page.goto(pathToFileURL(one).href + '#step-7');
    assert.equal(await page.locator('.frame:not([hidden])').getAttribute('data-frame'), '7');
    assert.equal(await page.locator('#pos').textContent(), 'step 7 / 16');

    // Two eras: the first differing decision is marked, with both decisions shown.
    await page.goto(pathToFileURL(two).href);
    const diffRow = page.locator('.tl .r.diff');
    assert.equal(await diffRow.count(), 1);
    assert.equal(await diffRow.getAttribute('data-step'), '12');
    for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowRight');
    const panels = visible('.panel');
    assert.equal(await panels.count(), 2);
    assert.equal(await visible('.panel.diff').count(), 2);
    assert.match((await panels.nth(0).locator('.decisions').textContent()) ?? '', /page_mapcount 1 .* -> wp_page_reuse \[v4\.9\]/);
    assert.match((await panels.nth(1).locator('.decisions').textContent()) ?? '', /page_count 2 != 1 -> wp_page_copy \[v5\.9 09854ba94c6a\]/);
    assert.equal(await panels.nth(1).locator('a[href="https://git.kernel.org/torvalds/c/09854ba94c6a"]').count(), 1);
    assert.deepEqual(await panels.nth(0).locator('g[data-key="page:1"] .count').allTextContents(), ['2', '1']);
    assert.deepEqual(await panels.nth(1).locator('g[data-key="page:1"] .count').allTextContents(), ['3', '1']);
    await page.setViewportSize({ width: 1400, height: 1320 });
    await page.screenshot({ path: join(IMG, 'view-two-eras.png') });
    // The jump button goes to the first difference from anywhere.
    await page.keyboard.press('Home');
    await page.locator('#jump').click();
    assert.equal(new URL(page.url()).hash, '#step-12');

    assert.deepEqual(errors, [], 'no console errors');
    assert.deepEqual(remote, [], 'no network requests');
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
