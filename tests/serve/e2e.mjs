// End-to-end test of the covergen serve page in headless Chromium (playwright-core).
//
//   node tests/serve/e2e.mjs --cli build/bin/covergen --audio tests/data/librosa/music120_44k.mp3
//        [--model RUN] [--screenshot docs/serve.png] [--chromium /usr/bin/chromium]
//
// Without --model it trains a tiny audio-conditioned DCGAN first (seconds). It
// starts `covergen serve --port 0`, opens the page, uploads the track through the
// file input, waits for the covers, clicks Re-roll and waits for new ones, downloads
// one PNG and checks it, takes the screenshot, then stops the server with SIGTERM
// and checks it exits 0 and left no upload folder. Exit 0 when everything held.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

function args() {
  const a = { chromium: '/usr/bin/chromium', n: '8' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['cli', 'audio']) if (!a[k]) throw new Error(`--${k} is required`);
  return a;
}

function check(cond, what) {
  if (!cond) throw new Error('FAILED: ' + what);
  console.log('ok   ' + what);
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
}

function trainTinyModel(cli, work) {
  const ds = path.join(work, 'ds'), runDir = path.join(work, 'run');
  run(cli, ['dataset', 'synth', '--out', ds, '--genres', '2', '--per-genre', '3', '--seconds', '2', '--cover-size', '32', '-q']);
  run(cli, ['train', '--data', ds, '--out', runDir, '--condition', 'audio:tempo_bpm,rms_mean', '--image-size', '32',
    '--batch', '4', '--steps', '4', '--gan-config', '{"ngf":8,"ndf":8}', '--device', 'cpu', '--threads', '1', '--seed', '3', '-q']);
  return runDir;
}

// Starts the server; resolves with { proc, url } once it printed its URL.
function startServer(cli, model, tmp) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cli, ['serve', '--model', model, '--port', '0', '-q'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    let out = '', err = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/[^\s]+/);
      if (m) resolve({ proc, url: m[0] });
    });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => reject(new Error(`covergen serve exited ${code} before listening:\n${err}`)));
    setTimeout(() => reject(new Error('covergen serve did not print its URL in 60 s')), 60000);
  });
}

function pngSize(bytes) {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(sig)) return null;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

async function main() {
  const a = args();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'covergen-e2e-'));
  const tmp = path.join(work, 'tmp');
  fs.mkdirSync(tmp);
  let server = null, browser = null;
  try {
    const model = a.model || trainTinyModel(a.cli, work);
    server = await startServer(a.cli, model, tmp);
    console.log('serving ' + server.url);
    browser = await chromium.launch({ executablePath: a.chromium, headless: true, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
    const consoleErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const apiCalls = [];
    page.on('request', (r) => { if (r.url().includes('/api/')) apiCalls.push(r.method() + ' ' + new URL(r.url()).pathname); });

    await page.goto(server.url);
    await page.waitForFunction(() => document.getElementById('model').textContent.startsWith('Model '));
    check(true, 'the page loaded the model from GET /api/models');

    // Upload through the file input (what a drop or a click on the drop zone feeds).
    await page.setInputFiles('#file', a.audio);
    await page.waitForSelector('#progress:not([hidden])', { timeout: 10000 });
    check(true, 'a progress indicator shows while the covers are made');
    await page.waitForFunction((n) => document.querySelectorAll('#grid .cover img').length === n &&
      document.getElementById('progress').hidden, Number(a.n), { timeout: 120000 });
    const first = await page.$$eval('#grid .cover img', (imgs) => imgs.map((i) => i.src));
    check(first.length === Number(a.n), `${a.n} covers in the grid`);
    const naturalSizes = await page.$$eval('#grid .cover img', (imgs) => imgs.map((i) => [i.naturalWidth, i.naturalHeight]));
    check(naturalSizes.every(([w, h]) => w > 0 && w === h), 'every cover image decoded in the browser');
    const trackText = await page.textContent('#track');
    check(trackText.includes(path.basename(a.audio)), 'the track line names the upload: ' + trackText.trim());

    // Re-roll: new seed, same track (by id, no re-upload), new covers.
    const seedBefore = await page.inputValue('#seed');
    await page.click('#reroll');
    await page.waitForFunction((old) => {
      const imgs = [...document.querySelectorAll('#grid .cover img')];
      return document.getElementById('progress').hidden && imgs.length > 0 && imgs[0].src !== old;
    }, first[0], { timeout: 120000 });
    const second = await page.$$eval('#grid .cover img', (imgs) => imgs.map((i) => i.src));
    check(second.length === first.length && second.every((s, i) => s !== first[i]), 're-roll gave new covers');
    check((await page.inputValue('#seed')) !== seedBefore, 're-roll chose a new seed');
    check(apiCalls.filter((c) => c === 'POST /api/covers').length === 2, 'two POST /api/covers, one per batch');

    // Download one cover.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#grid .cover:first-child a.download')]);
    const saved = path.join(work, download.suggestedFilename());
    await download.saveAs(saved);
    const bytes = fs.readFileSync(saved);
    const size = pngSize(bytes);
    check(size !== null && size.width === naturalSizes[0][0] && size.height === naturalSizes[0][1],
      `downloaded ${download.suggestedFilename()}: a ${size && size.width}x${size && size.height} PNG`);
    check(/\.png$/.test(download.suggestedFilename()), 'the download is named .png');

    // A file that is not audio: the page shows the server's reason.
    const junk = path.join(work, 'notes.mp3');
    fs.writeFileSync(junk, 'this is not audio '.repeat(200));
    await page.setInputFiles('#file', junk);
    await page.waitForSelector('#error:not([hidden])', { timeout: 60000 });
    const errText = await page.textContent('#error');
    check(errText.includes('notes.mp3'), 'a garbage upload shows the reason: ' + errText.trim());
    // Back to the real track for the screenshot.
    await page.setInputFiles('#file', a.audio);
    await page.waitForFunction(() => document.getElementById('error').hidden &&
      document.getElementById('progress').hidden && document.querySelectorAll('#grid .cover img').length > 0,
      null, { timeout: 120000 });

    if (a.screenshot) {
      await page.screenshot({ path: a.screenshot, fullPage: true });
      console.log('screenshot ' + a.screenshot);
    }
    check(consoleErrors.length === 0 || consoleErrors.every((e) => e.includes('400')),
      'no script errors in the page' + (consoleErrors.length ? ': ' + consoleErrors.join(' | ') : ''));
    check(apiCalls.every((c) => c === 'GET /api/models' || c === 'POST /api/covers'), 'the page used only the JSON API');

    await browser.close();
    browser = null;
    const exited = new Promise((resolve) => server.proc.on('exit', (code, signal) => resolve({ code, signal })));
    server.proc.kill('SIGTERM');
    const { code } = await exited;
    server = null;
    check(code === 0, 'covergen serve exits 0 on SIGTERM');
    check(fs.readdirSync(tmp).length === 0, 'no upload folder or file left in TMPDIR');
    console.log('PASS');
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) server.proc.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
