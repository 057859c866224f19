// Test inputs made at test time: QR symbols in the compact SPEC.md section 2 layout (URL in a
// byte segment, numeric fragment in a numeric segment), a Y4M video of them for Chromium's fake
// camera, a tampered copy of a credential URL, and a credential from an issuer no trust list
// names (signed with a fresh Ed25519 key, using only node:crypto and node:zlib).
import QRCode from 'qrcode';
import { writeFile } from 'node:fs/promises';
import { generateKeyPairSync, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

/** The QR module matrix of a credential URL: a boolean[][] (true = dark). */
export function qrModules(url) {
  const hash = url.indexOf('#');
  const frag = url.slice(hash + 1);
  const segments = /^\d+$/.test(frag) && frag.length % 2 === 0
    ? [{ data: url.slice(0, hash + 1), mode: 'byte' }, { data: frag, mode: 'numeric' }]
    : [{ data: url, mode: 'byte' }];
  const qr = QRCode.create(segments, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => !!qr.modules.get(r, c)));
}

/** A grey (luma) frame with the symbol centred, `scale` pixels per module, white around it. */
export function lumaFrame(modules, width, height, scale) {
  const y = new Uint8Array(width * height).fill(235);
  const n = modules.length;
  const side = n * scale;
  const x0 = Math.floor((width - side) / 2);
  const y0 = Math.floor((height - side) / 2);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (!modules[r][c]) continue;
      for (let dy = 0; dy < scale; dy++) {
        const row = (y0 + r * scale + dy) * width + x0 + c * scale;
        y.fill(20, row, row + scale);
      }
    }
  }
  return y;
}

/**
 * Writes a Y4M (YUV4MPEG2, 4:2:0) video for `--use-file-for-fake-video-capture`: each URL is
 * shown for `framesEach` frames, and Chromium loops the file.
 */
export async function writeY4m(path, urls, { width = 640, height = 480, fps = 10, framesEach = 10 } = {}) {
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const parts = [header];
  for (const url of urls) {
    const m = qrModules(url);
    const scale = Math.max(2, Math.floor((Math.min(width, height) - 40) / (m.length + 8)));
    const frame = Buffer.concat([Buffer.from('FRAME\n'), Buffer.from(lumaFrame(m, width, height, scale)), chroma]);
    for (let i = 0; i < framesEach; i++) parts.push(frame);
  }
  await writeFile(path, Buffer.concat(parts));
}

/** Writes a Y4M video of one 8-bit luma frame (`width * height` bytes) shown `frames` times. */
export async function writeLumaY4m(path, luma, { width = 1280, height = 720, frames = 5 } = {}) {
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), Buffer.from(luma), Buffer.alloc((width / 2) * (height / 2) * 2, 128)]);
  await writeFile(path, Buffer.concat([header, ...Array(frames).fill(frame)]));
}

/** Changes one character of the signature, keeping the fragment well formed. */
export function tamper(url) {
  const [base, frag] = url.split('#');
  if (/^\d+$/.test(frag)) {
    // Numeric: pairs are ord(c) - 45. Pick a pair well inside the signature and map A<->B.
    const i = frag.length - 40;
    const pair = frag.slice(i, i + 2);
    const swapped = pair === '20' ? '21' : '20';
    return `${base}#${frag.slice(0, i)}${swapped}${frag.slice(i + 2)}`;
  }
  const i = frag.length - 20;
  return `${base}#${frag.slice(0, i)}${frag[i] === 'A' ? 'B' : 'A'}${frag.slice(i + 1)}`;
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/**
 * A well-formed credential for `url`'s battery from `did:web:rogue.example`, which no trust
 * list names: verifiers must answer `unverifiable` / `issuer_unknown`.
 */
export function unknownIssuerUrl(url) {
  const u = new URL(url);
  const sub = u.pathname.replace(/^.*?(01\/[^/]+\/21\/[^/]+)$/, '$1');
  const { privateKey } = generateKeyPairSync('ed25519');
  const header = { alg: 'EdDSA', kid: 'k1', typ: 'bp+jwt', zip: 'DEF' };
  const claims = { iss: 'did:web:rogue.example', iat: Math.floor(Date.now() / 1000) - 3600, sub,
    bp: { cat: 'ev', mfr: 'BPNL000000000666', chem: 'NMC811' } };
  const input = `${b64u(JSON.stringify(header))}.${b64u(deflateRawSync(Buffer.from(JSON.stringify(claims))))}`;
  const jws = `${input}.${b64u(sign(null, Buffer.from(input), privateKey))}`;
  const numeric = [...jws].map((ch) => String(ch.charCodeAt(0) - 45).padStart(2, '0')).join('');
  return `${u.origin}${u.pathname}#${numeric}`;
}
