// The session exports: CSV cells never start a formula (a QR code is attacker text), and the
// page's JSON and CSV are the CLI's for the same credential (one verdict shape, one column set:
// docs/verdict-json.md). Real Chromium against the real registry, and the real `cellproof`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, pageReady } from './support/env.mjs';
import { tamper } from './support/codes.mjs';
import { cli, registryArgs, parseCsvCells } from './support/crafted.mjs';

const env = useServerAndBrowser();

async function paste(page, text) {
  await page.getByTestId('manual-input').focus();
  await page.evaluate((t) => {
    const dt = new DataTransfer();
    dt.setData('text/plain', t);
    document.getElementById('manual').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, text);
}

async function download(page, testid) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return readFile(await d.path(), 'utf8');
}

async function syncedPage() {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await page.waitForFunction(() => /Synced/.test(document.querySelector('[data-testid="sync-status"]').textContent));
  return { context, page };
}

test('csv_export_neutralises_formulas_in_scanned_text', async () => {
  // Before: the CSV held scanned text as is; `=HYPERLINK(...)` ran when a dealer opened it.
  const { context, page } = await syncedPage();
  const payloads = [
    ['=HYPERLINK("http://x","y")', `'=HYPERLINK("http://x","y")`],
    ["+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['=1\t+2', "'=1\\u{9}+2"],
    ['\u001b]8;;http://x\u0007link\u202e', '\\u{1b}]8;;http://x\\u{7}link\\u{202e}'],
  ];
  // A handheld scanner types the first; the rest are pasted together.
  const input = page.getByTestId('manual-input');
  await input.fill(payloads[0][0]);
  await input.press('Enter');
  await paste(page, payloads.slice(1).map(([p]) => p).join('\n'));
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="scan-row"]').length === n, payloads.length);
  const rows = parseCsvCells(await download(page, 'export-csv'));
  const [head, ...body] = rows;
  const columns = head.map((c) => c.text);
  assert.equal(columns.at(-1), 'input');
  assert.equal(body.length, payloads.length);
  for (const row of [head, ...body]) {
    assert.equal(row.length, columns.length);
    for (const cell of row) {
      assert.ok(cell.quoted, `every cell quoted: ${JSON.stringify(cell)}`);
      assert.doesNotMatch(cell.text, /^[=+\-@\t\r]/, 'no cell starts a formula');
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(cell.text, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, 'no raw control characters');
    }
  }
  const inputs = body.map((r) => r.at(-1).text);
  assert.deepEqual(inputs, payloads.map(([, cell]) => cell));
  await context.close();
});

test('page_json_and_csv_equal_the_cli_for_the_same_credential', async () => {
  // Before: the CLI printed the core's Verdict (credential, stage messages, notice objects),
  // the page its own DTO (claims, codes only); the CSVs had different columns.
  const dir = await mkdtemp(join(tmpdir(), 'cellproof-shape-'));
  try {
    const { context, page } = await syncedPage();
    const inputs = [env.server.sample('valid'), env.server.sample('revoked'), tamper(env.server.sample('valid')),
      env.server.sample('ouranos-valid', 'suspended')].filter(Boolean);
    await paste(page, inputs.join('\n'));
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="scan-row"]').length === n, inputs.length);
    const log = JSON.parse(await download(page, 'export-json'));
    const csv = parseCsvCells(await download(page, 'export-csv'));
    await context.close();
    const args = await registryArgs(env.server.url, dir);
    // The CLI's batch CSV header is the page's.
    const one = join(dir, 'one.txt');
    await writeFile(one, `${inputs[0]}\n`);
    const header = parseCsvCells((await cli(['verify', ...args, '--batch', one, '--format', 'csv'])).stdout)[0];
    assert.deepEqual(header, csv[0]);
    const columns = header.map((c) => c.text);
    const verdictColumns = columns.slice(columns.indexOf('overall'), columns.indexOf('verified_at') + 1);
    assert.equal(log.scans.length, inputs.length);
    for (const [i, scan] of log.scans.entries()) {
      // The page verified at its clock; the CLI at the same second gives the same verdict.
      const at = String(scan.verdict.now);
      const single = await cli(['verify', '--json', '--at', at, ...args, scan.input]);
      const fromCli = JSON.parse(single.stdout);
      // `warnings` (lists the CLI could not load) is the CLI's own; nothing else differs.
      assert.deepEqual(fromCli.warnings, []);
      delete fromCli.warnings;
      assert.deepEqual(fromCli, scan.verdict, `verdict JSON of ${scan.input}`);
      await writeFile(one, `${scan.input}\n`);
      const cliRow = parseCsvCells((await cli(['verify', '--at', at, ...args, '--batch', one, '--format', 'csv'])).stdout)[1];
      const pageRow = csv[i + 1];
      for (const name of [...verdictColumns, 'input']) {
        const k = columns.indexOf(name);
        assert.deepEqual(pageRow[k], cliRow[k], `CSV column ${name} of ${scan.input}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
