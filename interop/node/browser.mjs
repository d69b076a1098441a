// Headless Chromium (Debian's /usr/bin/chromium), driven by playwright-core,
// opens the page of TestSocketIOBrowser (testdata/browser/index.html, served
// by the Go test together with the socket.io-client browser bundle) and
// reports what the page found.
//
// Arguments (key=value):
//   url=http://127.0.0.1:PORT/?transports=MODE   the page
//   profile=DIR          Chromium's user data dir: a fresh, empty directory
//                        the Go test owns (and removes)
//   chromium=PATH        the browser; default /usr/bin/chromium
//
// Events, one JSON line each on stdout (report in peer.mjs):
//   {"event":"browser","userAgent":S}         the page is loaded
//   {"event":"console","type":T,"text":S}     the page's console
//   {"event":"pageerror","message":S}         an uncaught error in the page
//   {"event":"result","result":{...}}         window.wsioResult of the page
//   {"event":"fail","message":S}              this script failed
//   {"event":"done"}                          the browser is closed
import { chromium } from 'playwright-core';
import { exitAfter, report } from './peer.mjs';

const opts = { url: '', profile: '', chromium: '/usr/bin/chromium' };
for (const arg of process.argv.slice(2)) {
  const i = arg.indexOf('=');
  const key = arg.slice(0, i);
  if (!(key in opts)) throw new Error(`unknown argument ${arg}`);
  opts[key] = arg.slice(i + 1);
}
if (!opts.url || !opts.profile) throw new Error('url= and profile= are required');
exitAfter(50_000);

// The flags this machine's closed network needs: no background, component,
// sync or QUIC traffic, nothing at first start.
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function main() {
  const context = await chromium.launchPersistentContext(opts.profile, {
    executablePath: opts.chromium,
    headless: true,
    args,
    timeout: 20_000,
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (msg) => report({ event: 'console', type: msg.type(), text: msg.text() }));
    page.on('pageerror', (err) => report({ event: 'pageerror', message: String(err) }));
    await page.goto(opts.url, { timeout: 10_000 });
    report({ event: 'browser', userAgent: await page.evaluate(() => navigator.userAgent) });
    await page.waitForFunction(() => window.wsioResult !== undefined, null, { timeout: 30_000 });
    const result = await page.evaluate(() => window.wsioResult);
    report({ event: 'result', result });
  } finally {
    await context.close();
  }
  report({ event: 'done' });
}

main().then(
  () => process.exit(0),
  (err) => {
    report({ event: 'fail', message: String(err && err.stack ? err.stack : err) });
    process.exit(1);
  },
);
