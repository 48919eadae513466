// An operator's browser, for the tests and the page bench: a real headless Chromium
// (@sparticuz/chromium ships the binary) driven by puppeteer-core. It opens a page with an
// operator token as the Basic password, optionally clicks one element and waits for the
// download that starts, optionally saves a screenshot, and prints one JSON line: the HTTP
// status, the milliseconds until the page was rendered (the load event), the rendered
// texts of the elements asked for, and the downloaded file's path.
//
//   node browse.mjs URL [--token T] [--select CSS]... [--click CSS --downloads DIR]
//                       [--screenshot PNG] [--width W]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import chromium from '@sparticuz/chromium';
import puppeteer from 'puppeteer-core';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    token: { type: 'string' },
    select: { type: 'string', multiple: true, default: [] },
    click: { type: 'string' },
    downloads: { type: 'string' },
    screenshot: { type: 'string' },
    width: { type: 'string', default: '1100' },
  },
});

async function download(page, selector, directory) {
  const session = await page.createCDPSession();
  await session.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: directory,
    eventsEnabled: true });
  const done = new Promise((resolve, reject) => {
    session.on('Browser.downloadProgress', (event) => {
      if (event.state === 'completed') resolve();
      if (event.state === 'canceled') reject(new Error(`the download of ${selector} failed`));
    });
  });
  await page.click(selector);
  await done;
  const [name] = fs.readdirSync(directory);
  return path.join(directory, name);
}

const browser = await puppeteer.launch({
  args: chromium.args, executablePath: await chromium.executablePath(), headless: 'shell',
  defaultViewport: { width: Number(values.width), height: 300 },
});
try {
  const page = await browser.newPage();
  if (values.token) await page.authenticate({ username: 'operator', password: values.token });
  const started = performance.now();
  const response = await page.goto(positionals[0], { waitUntil: 'load' });
  const ms = performance.now() - started;
  const texts = {};
  for (const selector of values.select) {
    texts[selector] = await page.$$eval(selector, (found) => found.map((e) => e.textContent));
  }
  const result = { status: response.status(), ms, texts };
  // the page as long as it is, not the window: a small image for README
  if (values.screenshot) await page.screenshot({ path: values.screenshot, fullPage: true });
  if (values.click) result.download = await download(page, values.click, values.downloads);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
