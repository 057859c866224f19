// Regenerates the README's pictures in docs/img/ (not a test: the suite never writes into the
// tracked tree, issue 16). Run by hand after a change to what they show:
//
//     cargo xtask docs-images                 # builds web/pkg and the server first
//     cd tests/browser && node docs-images.mjs   # after `cargo xtask web`, with a built server
//
// scanner-valid.png: the demo's valid sample on a 420 px wide page, the whole page.
// passport-valid.png: the passport panel of the demo's passport-valid battery, 360 px wide at 2x.
import { join } from 'node:path';
import { startServer, launch, verdictOf, pageReady, repo } from './support/env.mjs';

const server = await startServer();
const browser = await launch();
try {
  {
    const context = await browser.newContext({ viewport: { width: 420, height: 900 } });
    const page = await context.newPage();
    await page.goto(server.sample('valid'));
    const v = await verdictOf(page);
    if (v.overall !== 'valid') throw new Error(`valid sample: ${v.overall}`);
    await pageReady(page);
    const path = join(repo, 'docs/img/scanner-valid.png');
    await page.screenshot({ path, fullPage: true });
    console.log(`wrote ${path}`);
    await context.close();
  }
  {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    await page.goto(server.sample('passport-valid'));
    await verdictOf(page);
    await page.waitForSelector('[data-testid="passport-panel"][data-state="verified"]', { timeout: 30_000 });
    const path = join(repo, 'docs/img/passport-valid.png');
    await page.getByTestId('passport-panel').screenshot({ path });
    console.log(`wrote ${path}`);
    await context.close();
  }
} finally {
  await browser.close();
  await server.cleanup();
}
