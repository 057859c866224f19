// A stand-in for `cellproof-server --demo` with the same command line and the same contract
// (serves web/, index.html for /01/{gtin}/21/{serial}, /v1/bundle, /v1/roots, writes
// DIR/demo/manifest.json), for developing the page while the registry is not available.
// Data comes from `cargo run -p cellproof-wasm --example dev_world`. Used only when
// CELLPROOF_E2E_STUB=1; the suite's default is the real server.
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : null; };
const dataDir = arg('--data');
const [host, port] = arg('--listen').split(':');
const origin = `http://${host}:${port}`;
await mkdir(dataDir, { recursive: true });
const example = process.env.CELLPROOF_DEV_WORLD_BIN;
if (example) execFileSync(example, [origin, dataDir]);
else execFileSync('cargo', ['run', '-q', '-p', 'cellproof-wasm', '--example', 'dev_world', '--', origin, dataDir], { cwd: repo, stdio: 'inherit' });

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json', '.json': 'application/json', '.ts': 'text/plain' };
const web = join(repo, 'web');

createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, origin).pathname);
  const send = (code, type, body) => { res.writeHead(code, { 'content-type': type, 'cache-control': 'no-cache' }); res.end(body); };
  try {
    if (path === '/v1/bundle') return send(200, 'application/json', await readFile(join(dataDir, 'bundle.json')));
    if (path === '/v1/roots') return send(200, 'application/json', await readFile(join(dataDir, 'roots.json')));
    if (/^\/01\/[^/]+\/21\/[^/]+$/.test(path) || path === '/') return send(200, types['.html'], await readFile(join(web, 'index.html')));
    const file = normalize(join(web, path));
    if (!file.startsWith(web)) return send(404, 'text/plain', 'not found');
    return send(200, types[extname(file)] ?? 'application/octet-stream', await readFile(file));
  } catch {
    return send(404, 'text/plain', 'not found');
  }
}).listen(Number(port), host);
