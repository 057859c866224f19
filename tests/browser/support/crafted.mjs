// Inputs an attacker can make, built at test time with node:crypto only: credentials with claims
// written as raw JSON text (so integers beyond 2^53 stay exact), signed by a fresh Ed25519 key no
// trust list names; the CLI binary and the registry's roots and lists as files, to check that the
// page and `cellproof` give the same verdict JSON and CSV for the same credential.
import { generateKeyPairSync, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { repo } from './env.mjs';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/**
 * A battery URL on `origin` whose fragment is a `bp+jwt` with `claimsJson` (raw JSON text,
 * signed as is) from an unknown key, numeric-encoded as SPEC.md section 2.
 */
export function craftedUrl(origin, path, claimsJson) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const header = { alg: 'EdDSA', kid: 'k1', typ: 'bp+jwt', zip: 'DEF' };
  const input = `${b64u(JSON.stringify(header))}.${b64u(deflateRawSync(Buffer.from(claimsJson)))}`;
  const jws = `${input}.${b64u(sign(null, Buffer.from(input), privateKey))}`;
  const numeric = [...jws].map((ch) => String(ch.charCodeAt(0) - 45).padStart(2, '0')).join('');
  return `${origin}/${path}#${numeric}`;
}

/** Claims JSON for a rogue issuer's battery `path` (`01/{gtin}/21/{serial}`) with `bp` text. */
export function claimsJson(path, bp, { iat = Math.floor(Date.now() / 1000) - 3600, exp = null } = {}) {
  return `{"bp":${bp},"iss":"did:web:rogue.example","sub":"${path}"${exp == null ? '' : `,"exp":${exp}`},"iat":${iat}}`;
}

/** The `cellproof` binary: CELLPROOF_CLI_BIN, else the workspace's debug build. */
export function cliBin() {
  const candidates = [process.env.CELLPROOF_CLI_BIN,
    join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'debug/cellproof'),
    join(repo, 'target/debug/cellproof')].filter(Boolean);
  const bin = candidates.find((p) => existsSync(p));
  if (!bin) throw new Error(`cellproof not built (looked at ${candidates.join(', ')}); run cargo build -p cellproof-cli`);
  return bin;
}

/** Runs `cellproof args...`; resolves to {code, stdout, stderr} (exit 1 is a verdict, not an error). */
export function cli(args) {
  return new Promise((resolve) => {
    execFile(cliBin(), args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

/**
 * Writes the registry's roots (`/v1/roots`) and every list of its bundle (`/v1/bundle`) to
 * `dir`; returns the CLI arguments that load them (`--root eco=file`, `--trust-list`, ...).
 */
export async function registryArgs(serverUrl, dir) {
  const roots = await (await fetch(`${serverUrl}/v1/roots`)).json();
  const bundle = await (await fetch(`${serverUrl}/v1/bundle`)).json();
  const args = [];
  for (const [i, r] of roots.roots.entries()) {
    const f = join(dir, `root-${i}.jwk`);
    await writeFile(f, JSON.stringify(r.root));
    args.push('--root', `${r.eco}=${f}`);
  }
  for (const [kind, flag] of [['trustLists', '--trust-list'], ['statusLists', '--status-list']]) {
    for (const [i, jws] of (bundle[kind] ?? []).entries()) {
      const f = join(dir, `${kind}-${i}.jws`);
      await writeFile(f, jws);
      args.push(flag, f);
    }
  }
  return args;
}

/** A minimal RFC 4180 reader: rows of {text, quoted} cells. */
export function parseCsvCells(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') { quoted = true; wasQuoted = true; } else if (ch === ',') {
      row.push({ text: cell, quoted: wasQuoted }); cell = ''; wasQuoted = false;
    } else if (ch === '\n') {
      row.push({ text: cell, quoted: wasQuoted }); rows.push(row); row = []; cell = ''; wasQuoted = false;
    } else if (ch !== '\r') cell += ch;
  }
  return rows;
}
