// The operator's side of the browser tests, through the registry's existing operator route
// (`POST /v1/operator/trust-lists`, docs/server.md): the held trust list of an ecosystem is
// changed (an inspector enrolled, an issuer's label origins listed), re-signed with the demo's
// "offline" root key (DIR/demo/keys/{eco}-root.jwk) and uploaded with the operator token.
// node:crypto only; the registry verifies the upload with the core like any other.
import { createPrivateKey, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/** The registry's current trust list of `eco`: {header, payload, jws}. */
export async function trustList(server, eco) {
  const res = await fetch(`${server.url}/v1/trust-list/${eco}`);
  if (!res.ok) throw new Error(`trust list ${eco}: HTTP ${res.status}`);
  const jws = (await res.text()).trim();
  const [h, p] = jws.split('.');
  return { jws, header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}

/** The operator token of a `--demo` data directory. */
export async function operatorToken(server) {
  const rel = server.manifest.operatorToken ?? 'operator-token';
  const candidates = [join(server.data, rel), join(server.data, 'demo', rel)];
  for (const f of candidates) {
    try { return (await readFile(f, 'utf8')).trim(); } catch { /* next */ }
  }
  throw new Error(`no operator token in ${candidates.join(', ')}`);
}

/**
 * Applies `change(payload)` to `eco`'s trust list, raises `seq`, re-signs it with the demo root
 * key and uploads it as the operator. Resolves to the upload's HTTP response {status, body}.
 */
export async function changeTrustList(server, eco, change) {
  const { header, payload } = await trustList(server, eco);
  const now = Math.floor(Date.now() / 1000);
  const next = { ...payload, seq: payload.seq + 1, iat: Math.max(now, payload.iat), exp: Math.max(payload.exp, now + 86400) };
  change(next);
  const root = JSON.parse(await readFile(join(server.data, 'demo', 'keys', `${eco}-root.jwk`), 'utf8'));
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: root.x, d: root.d }, format: 'jwk' });
  const input = `${b64u(JSON.stringify({ alg: 'EdDSA', kid: root.kid ?? header.kid, typ: 'trust-list+jwt' }))}.${b64u(JSON.stringify(next))}`;
  const jws = `${input}.${b64u(sign(null, Buffer.from(input), key))}`;
  const res = await fetch(`${server.url}/v1/operator/trust-lists`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/jwt', Authorization: `Bearer ${await operatorToken(server)}` },
    body: jws,
  });
  return { status: res.status, body: await res.text() };
}

/** Enrols a public JWK as an entity with role `inspector` in `eco` (SPEC.md section 4). */
export function enrolInspector(server, { eco, did, name, jwk }) {
  return changeTrustList(server, eco, (list) => {
    list.entities = list.entities.filter((e) => e.id !== did);
    list.entities.push({ id: did, name, roles: ['inspector'], keys: [jwk] });
  });
}

/** Lists `resolvers` (label origins) for the entity `did` of `eco`. */
export function setResolvers(server, eco, did, resolvers) {
  return changeTrustList(server, eco, (list) => {
    const e = list.entities.find((x) => x.id === did);
    if (!e) throw new Error(`${did} is not in ${eco}'s trust list`);
    e.resolvers = resolvers;
  });
}
