// The binding as an integrator gets it (issue 7): `web/pkg/` packed with `npm pack`, installed
// into an empty project, imported by its package name in Node, used to verify the vectors;
// then the values it returned, written out as TypeScript literals, are type-checked with `tsc`
// against the package's own declarations (`cellproof_wasm.d.ts`, written by hand in
// crates/wasm/src/lib.rs): a DTO field the declarations lack, miss or mistype fails the build.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from './support/env.mjs';

const PKG = join(repo, 'web/pkg');
const TSC = join(repo, 'tests/browser/node_modules/typescript/bin/tsc');
let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cellproof-integrator-'));
  const tarball = execFileSync('npm', ['pack', PKG, '--pack-destination', dir, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'integrator', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', join(dir, tarball)], { cwd: dir });
});
after(async () => { await rm(dir, { recursive: true, force: true }); });

// Runs in the integrator's project: only the package name, no path into this repository
// except the test vectors (data).
const SCRIPT = `
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import init, { Verifier, errorCodes, recycledMinimums, checkDocument, recycledContent, jwkThumbprint, csvRow, csvCell } from 'cellproof-wasm';
import initDecode, { decodeLuma } from 'cellproof-wasm/decode';

const wasm = (spec) => readFile(fileURLToPath(import.meta.resolve(spec)));
await init({ module_or_path: await wasm('cellproof-wasm/cellproof_wasm_bg.wasm') });
await initDecode({ module_or_path: await wasm('cellproof-wasm/cellproof_decode_bg.wasm') });

const vectors = process.argv[2];
const text = (p) => readFile(vectors + '/' + p, 'utf8');
const { cases } = JSON.parse(await text('cases.json'));
const out = { cases: [], loads: [], bundles: [], held: [], ages: [], now: [] };
for (const c of cases) {
  const v = new Verifier();
  for (const [eco, path] of Object.entries(c.roots)) out.loads.push(v.pinRoot(eco, await text(path)));
  out.loads.push(v.loadTrustList('not a list'), v.loadStatusList('not a list'));
  const bundle = {
    trustLists: await Promise.all(c.trust_lists.map(text)),
    statusLists: await Promise.all(c.status_lists.map(text)),
  };
  out.bundles.push(v.loadBundle(JSON.stringify(bundle)));
  out.cases.push({ name: c.name, expected: c.expected, verdict: v.verify(c.input, c.at) });
  out.held.push(v.held());
  out.ages.push(v.ages(c.at));
  out.now.push(String(v.effectiveNow(c.at))); // a u64: BigInt in JS
  v.free();
}
out.bundles.push(new Verifier().loadBundle('[]'));
// Passport vectors through verifyWithChain: the chain as the registry serves it.
out.passports = [];
for (const c of JSON.parse(await text('passports/cases.json')).cases) {
  const v = new Verifier();
  for (const [eco, path] of Object.entries(c.roots)) v.pinRoot(eco, await text(path));
  v.loadBundle(JSON.stringify({ trustLists: await Promise.all(c.trust_lists.map(text)), statusLists: await Promise.all(c.status_lists.map(text)) }));
  out.passports.push({ name: c.name, expected: c.expected, verdict: v.verifyWithChain(c.input, c.at, await text(c.passport)) });
  v.free();
}
const docBytes = new TextEncoder().encode('a document');
const doc = checkDocument(docBytes, 'x');
out.documents = [doc, checkDocument(docBytes, doc.digest)];
out.codes = errorCodes();
out.mins = recycledMinimums();
out.shares = [recycledContent('{"Co": [10, 8], "Pb": [1, 2]}', 'NMC811'), recycledContent('{"Pb": [90, 0]}', 'VRLA')];
out.page = { row: csvRow(1, '', 1, JSON.stringify(out.cases[0].verdict), 'x'), cell: csvCell('=1'), tp: jwkThumbprint(await text('roots/catena-x.jwk')) };
out.decode = [decodeLuma(8, 8, new Uint8Array(64), false), decodeLuma(8, 8, new Uint8Array(3), false)];
process.stdout.write(JSON.stringify(out));
`;

async function runInProject() {
  await writeFile(join(dir, 'use.mjs'), SCRIPT);
  const r = spawnSync(process.execPath, ['use.mjs', join(repo, 'tests/vectors')], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A TypeScript file that assigns each real value, as a fresh literal (so excess properties
 * are errors too), to the type the package declares for it. */
function checkSource(out) {
  const lit = (v) => JSON.stringify(v, null, 1);
  return `import { Verifier } from 'cellproof-wasm';
import type { Verdict, LoadResult, BundleReport, HeldState, DataAge, CodeInfo, RecycledMinimum, RecycledShare, DocumentCheck } from 'cellproof-wasm';
import type { DecodeResult } from 'cellproof-wasm/decode';
import { decodeLuma } from 'cellproof-wasm/decode';
import { checkDocument, csvRow, csvCell, jwkThumbprint, recycledContent } from 'cellproof-wasm';

export const verdicts: Verdict[] = ${lit(out.cases.map((c) => c.verdict))};
export const passportVerdicts: Verdict[] = ${lit(out.passports.map((c) => c.verdict))};
export const documents: DocumentCheck[] = ${lit(out.documents)};
export const loads: LoadResult[] = ${lit(out.loads)};
export const bundles: BundleReport[] = ${lit(out.bundles)};
export const held: HeldState[] = ${lit(out.held)};
export const ages: DataAge[][] = ${lit(out.ages)};
export const now: bigint[] = [${out.now.map((n) => `${n}n`).join(', ')}];
export const codes: CodeInfo[] = ${lit(out.codes)};
export const mins: RecycledMinimum[] = ${lit(out.mins)};
export const shares: RecycledShare[][] = ${lit(out.shares)};
export const page: { row: string; cell: string; tp: string | undefined } = ${lit(out.page)};
export const pageTyped: [string, string, string | undefined, RecycledShare[]] = [csvRow(1, '', 1, '{}', 'x'), csvCell('x'), jwkThumbprint('{}'), recycledContent('{}', null)];
export const decoded: DecodeResult[] = ${lit(out.decode)};

// The methods are declared with these types, not \`any\`.
export function typed(v: Verifier): [Verdict, LoadResult, BundleReport, HeldState, DataAge[], Verdict[], DecodeResult] {
  const chained: Verdict = v.verifyWithChain('x', 0, null);
  const doc: DocumentCheck = checkDocument(new Uint8Array(0), 'x');
  void chained; void doc;
  return [v.verify('x', 0), v.pinRoot('e', '{}'), v.loadBundle('{}'), v.held(), v.ages(0), v.verifyMany(['x'], 0),
    decodeLuma(1, 1, new Uint8Array(1), false)];
}
`;
}

function tsc(source) {
  return writeFile(join(dir, 'check.ts'), source).then(async () => {
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
        lib: ['esnext', 'dom'], skipLibCheck: false, types: [],
      },
      files: ['check.ts'],
    }));
    return spawnSync(process.execPath, [TSC, '-p', dir], { cwd: dir, encoding: 'utf8' });
  });
}

test('npm package: installed by name in Node, it verifies the vectors like the core', async () => {
  const manifest = JSON.parse(await readFile(join(dir, 'node_modules/cellproof-wasm/package.json'), 'utf8'));
  for (const key of ['name', 'version', 'module', 'types', 'files']) assert.ok(manifest[key], `package.json lacks ${key}`);
  const out = await runInProject();
  const reference = out.cases.find((c) => c.name === 'reference-valid');
  assert.equal(reference.verdict.overall, 'valid');
  for (const c of out.cases) {
    assert.equal(c.verdict.overall, c.expected.overall, c.name);
    assert.equal(c.verdict.code, c.expected.code ?? null, c.name);
  }
  for (const c of out.passports) {
    assert.equal(c.verdict.overall, c.expected.overall, c.name);
    assert.deepEqual(c.verdict.attestations.map((a) => [a.topic, a.outcome]), c.expected.attestations.map((a) => [a.topic, a.outcome]), c.name);
  }
  assert.deepEqual(out.documents.map((d) => [d.ok, d.code]), [[false, 'document_digest_mismatch'], [true, null]]);
  assert.equal(out.decode[0].error, null);
  assert.equal(out.decode[1].error, 'buffer_size_mismatch');
});

test('TypeScript declarations match the values the binding really returns', async () => {
  const out = await runInProject();
  const ok = await tsc(checkSource(out));
  assert.equal(ok.status, 0, `tsc: ${ok.stdout}${ok.stderr}`);
  // The check can fail: a field the declarations do not have, and a mistyped one, are refused.
  const extra = structuredClone(out);
  extra.cases[0].verdict.genuine = true;
  const bad = await tsc(checkSource(extra));
  assert.notEqual(bad.status, 0, 'tsc accepted a verdict with an undeclared field');
  assert.match(bad.stdout, /genuine/);
  const mistyped = structuredClone(out);
  mistyped.cases[0].verdict.overall = 'genuine';
  assert.notEqual((await tsc(checkSource(mistyped))).status, 0, 'tsc accepted overall: "genuine"');
});
