// End-to-end test of the covergen serve page in headless Chromium (playwright-core).
//
//   node tests/serve/e2e.mjs --cli build/bin/covergen --audio tests/data/librosa/music120_44k.mp3
//        [--model RUN] [--screenshot docs/serve.png] [--chromium /usr/bin/chromium]
//
// Without --model it trains a tiny audio-conditioned DCGAN first (seconds). It
// starts `covergen serve --port 0`, opens the page, uploads the track through the
// file input, waits for the covers, clicks Re-roll and waits for new ones, downloads
// one PNG and checks it, fills in artist and title and waits for the finished covers
// (typography by covergen::finish), downloads one as SVG and one as PDF and checks
// them, takes the screenshot, then stops the server with SIGTERM and checks it exits
// 0 and left no upload folder. Exit 0 when everything held.
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

async function until(pred, what, ms = 30000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('FAILED: timed out waiting until ' + what);
    await new Promise((r) => setTimeout(r, 50));
  }
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
    const coverForms = [];  // the multipart bodies of POST /api/covers, in order
    page.on('request', (r) => {
      if (!r.url().includes('/api/')) return;
      apiCalls.push(r.method() + ' ' + new URL(r.url()).pathname);
      if (r.method() === 'POST') coverForms.push(r.postDataBuffer() ? r.postDataBuffer().toString('latin1') : '');
    });
    const coverAnswers = [];  // the JSON answers of POST /api/covers
    page.on('response', async (r) => {
      if (r.request().method() === 'POST' && r.url().endsWith('/api/covers')) {
        coverAnswers.push(await r.json().catch(() => null));
      }
    });

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

    // Artist and title: the covers come back finished (typography by covergen::finish).
    const artist = 'The Synthetics', title = 'Tempo 120';
    const postsBefore = coverForms.length;
    await page.fill('#artist', artist);
    await page.fill('#title', title);
    await page.press('#title', 'Tab');  // a change event: the page asks for finished covers
    await page.waitForFunction((before) => document.getElementById('progress').hidden &&
      [...document.querySelectorAll('#grid .cover img')].every((i) => i.naturalWidth === 512), postsBefore,
    { timeout: 120000 });
    const finishedForm = coverForms[coverForms.length - 1];
    check(finishedForm.includes('name="artist"') && finishedForm.includes(artist) &&
      finishedForm.includes('name="title"') && finishedForm.includes(title) && !finishedForm.includes('name="audio"'),
    'the page sent artist and title with the track id (no re-upload)');
    await until(() => coverAnswers.length === coverForms.length, 'every POST /api/covers answered');
    const finishedAnswer = coverAnswers[coverAnswers.length - 1];
    check(finishedAnswer && finishedAnswer.finished && finishedAnswer.finished.artist === artist &&
      finishedAnswer.finished.title === title && finishedAnswer.covers.length === Number(a.n),
    'the answer says the covers are finished with that artist and title');
    const typo = finishedAnswer.covers[0].typography;
    check(typo && typo.contrast >= 4.5 && typo.box[2] > 0 && typo.box[3] > 0 && typo.unknown_glyphs === 0,
      `the text was set (${typo && typo.placement}, contrast ${typo && typo.contrast.toFixed(2)})`);
    const finishedSizes = await page.$$eval('#grid .cover img', (imgs) => imgs.map((i) => [i.naturalWidth, i.naturalHeight]));
    check(finishedSizes.every(([w, h]) => w === 512 && h === 512), 'the grid shows the 512 px finished covers');

    // SVG and PDF downloads of one finished cover.
    const svgButton = '#grid .cover:first-child button.download[data-format="svg"]';
    const [svgDownload] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click(svgButton)]);
    const svgPath = path.join(work, svgDownload.suggestedFilename());
    await svgDownload.saveAs(svgPath);
    const svg = fs.readFileSync(svgPath, 'utf8');
    check(/\.svg$/.test(svgDownload.suggestedFilename()) && svg.includes('<svg') && /width="1024(px)?"/.test(svg) &&
      /data:image\/(png|jpeg);base64,/.test(svg), `downloaded ${svgDownload.suggestedFilename()}: a 1024 px SVG (${svg.length} bytes) embedding the cover`);
    const pdfButton = '#grid .cover:nth-child(2) button.download[data-format="pdf"]';
    const [pdfDownload] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click(pdfButton)]);
    const pdfPath = path.join(work, pdfDownload.suggestedFilename());
    await pdfDownload.saveAs(pdfPath);
    const pdf = fs.readFileSync(pdfPath);
    check(/-2\.pdf$/.test(pdfDownload.suggestedFilename()) && pdf.subarray(0, 5).toString() === '%PDF-' &&
      pdf.subarray(-8).toString().includes('%%EOF'), `downloaded ${pdfDownload.suggestedFilename()}: a PDF (${pdf.length} bytes)`);
    const dlForm = coverForms[coverForms.length - 1];
    check(dlForm.includes('name="index"') && dlForm.includes('name="format"') && dlForm.includes(artist) &&
      !dlForm.includes('name="audio"'), 'a download asks for that one cover by index, with the same text');
    await until(() => coverAnswers.length === coverForms.length, 'every POST /api/covers answered');
    const dlAnswer = coverAnswers[coverAnswers.length - 1];
    check(dlAnswer && dlAnswer.covers.length === 1 && dlAnswer.covers[0].index === 1 && dlAnswer.covers[0].pdf_base64,
      'the download answer holds just that cover');
    check(await page.$eval('#error', (e) => e.hidden), 'no error shown');

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
