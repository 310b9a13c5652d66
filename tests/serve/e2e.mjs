// End-to-end test of the covergen serve page in headless Chromium (playwright-core).
//
//   node tests/serve/e2e.mjs --cli build/bin/covergen --audio tests/data/librosa/music120_44k.mp3
//        [--model RUN] [--screenshot docs/serve.png] [--chromium /usr/bin/chromium] [--flac flac]
//
// Without --model it trains a tiny audio-conditioned DCGAN first (seconds). It
// starts `covergen serve --port 0`, opens the page, uploads the track through the
// file input, waits for the covers, clicks Re-roll and waits for new ones, downloads
// one PNG and checks it; drops a FLAC and a WAV on the drop zone (synthesised here,
// the FLAC encoded by Debian's flac) and checks each gives covers; uploads a
// 12-minute FLAC and checks the page shows upload and generation progress, stays
// responsive, and gets covers in bounded time from the first --max-audio-seconds;
// uploads a PNG and a text file named .mp3 and checks the page says clearly why
// they are refused and still re-rolls the last track; fills in artist and title and
// waits for the finished covers (typography by covergen::finish), downloads one as
// SVG and one as PDF and checks them, takes the screenshot, then stops the server
// with SIGTERM and checks it exits 0 and left no upload folder. Exit 0 when
// everything held.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { trainTinyModel, writeFlac, writeWav } from './fixtures.mjs';

// Debian's chromium in a closed network: no sync, updates or background fetches
// (their connections are refused and only add noise); Playwright adds --headless
// and a fresh --user-data-dir.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function args() {
  const a = { chromium: '/usr/bin/chromium', flac: 'flac', n: '8' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['cli', 'audio']) if (!a[k]) throw new Error(`--${k} is required`);
  return a;
}

function check(cond, what) {
  if (!cond) throw new Error('FAILED: ' + what);
  console.log('ok   ' + what);
}

// Drops `file` on the element as a user dragging it from a file manager would:
// dragenter, dragover, then drop with a DataTransfer holding the file.
// Building the page-side File copies the whole file through base64 (hundreds of ms for
// a few MB), so a drop that must land at a given moment stages it first.
async function stageDrop(page, file, type) {
  return page.evaluateHandle(({ b64, name, type }) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const d = new DataTransfer();
    d.items.add(new File([bytes], name, { type }));
    return d;
  }, { b64: fs.readFileSync(file).toString('base64'), name: path.basename(file), type });
}

async function dispatchDrop(page, selector, dt) {
  for (const ev of ['dragenter', 'dragover', 'drop']) await page.dispatchEvent(selector, ev, { dataTransfer: dt });
  await dt.dispose();
}

async function dropFile(page, selector, file, type) {
  await dispatchDrop(page, selector, await stageDrop(page, file, type));
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
    const model = a.model || trainTinyModel(a.cli, path.join(work, 'model'));
    server = await startServer(a.cli, model, tmp);
    console.log('serving ' + server.url);
    browser = await chromium.launch({ executablePath: a.chromium, headless: true, args: CHROMIUM_ARGS });
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

    // The answer to the next POST /api/covers, once the page has shown it.
    const nextAnswer = async (before, ms) => {
      await until(() => coverAnswers.length > before, 'the answer to POST /api/covers', ms);
      await page.waitForFunction(() => document.getElementById('progress').hidden, null, { timeout: ms });
      return coverAnswers[coverAnswers.length - 1];
    };
    const limits = (await (await fetch(new URL('/api/models', server.url))).json()).limits;

    // A FLAC and a WAV dropped on the drop zone (a real drop event, not the file input).
    const flacFile = writeFlac(path.join(work, 'synth-flac.flac'), 20, a.flac);
    const wavFile = writeWav(path.join(work, 'synth-wav.wav'), 15);
    for (const [file, type, format, seconds] of [[flacFile, 'audio/flac', 'FLAC', 20], [wavFile, 'audio/wav', 'WAV', 15]]) {
      const before = coverAnswers.length;
      await dropFile(page, '#drop', file, type);
      const answer = await nextAnswer(before, 120000);
      const name = path.basename(file);
      check(answer && answer.track && answer.track.format === format && Math.abs(answer.track.seconds - seconds) < 0.05 &&
        answer.track.name === name && answer.covers.length === Number(a.n),
      `a dropped ${format} (${(fs.statSync(file).size / 1e6).toFixed(1)} MB) gives ${a.n} covers: ` +
        `${answer && answer.track && answer.track.seconds} s ${answer && answer.track && answer.track.format}`);
      const line = await page.textContent('#track');
      check(line.includes(name) && line.includes(`${seconds.toFixed(1)} s ${format}`), 'the track line says so: ' + line.trim());
      check(await page.$eval('#error', (e) => e.hidden), 'no error shown');
    }

    // A 12-minute track: the server decodes its first max_audio_seconds; the page
    // shows the upload and then a running clock, and its main thread never stalls.
    const longFile = writeFlac(path.join(work, 'long-mix.flac'), 720, a.flac);
    const longMb = fs.statSync(longFile).size / 1e6;
    check(fs.statSync(longFile).size < limits.max_upload_bytes, `the 12-minute FLAC (${longMb.toFixed(1)} MB) is under the upload limit`);
    await page.evaluate(() => {
      window.__progress = [];
      window.__maxGapMs = 0;
      let last = performance.now();
      window.__ticker = setInterval(() => {
        const now = performance.now();
        window.__maxGapMs = Math.max(window.__maxGapMs, now - last);
        last = now;
      }, 50);
      const text = document.getElementById('progress-text');
      window.__observer = new MutationObserver(() => {
        if (window.__progress[window.__progress.length - 1] !== text.textContent) window.__progress.push(text.textContent);
      });
      window.__observer.observe(text, { childList: true, characterData: true, subtree: true });
    });
    const longBefore = coverAnswers.length;
    const longStart = Date.now();
    await page.setInputFiles('#file', longFile);
    await page.waitForSelector('#progress:not([hidden])', { timeout: 10000 });
    // While it works: the page answers a script at once, the server other requests.
    const rtt0 = Date.now();
    await page.evaluate(() => document.getElementById('seed').value);
    const rttMs = Date.now() - rtt0;
    const models0 = Date.now();
    const modelsDuring = await fetch(new URL('/api/models', server.url));
    const modelsMs = Date.now() - models0;
    check(rttMs < 1000 && modelsDuring.status === 200 && modelsMs < 2000,
      `while the long track is processed the page answers in ${rttMs} ms and GET /api/models in ${modelsMs} ms`);
    const longAnswer = await nextAnswer(longBefore, 180000);
    const longSeconds = (Date.now() - longStart) / 1000;
    const progress = await page.evaluate(() => {
      clearInterval(window.__ticker);
      window.__observer.disconnect();
      return { texts: window.__progress, maxGapMs: window.__maxGapMs };
    });
    console.log(`     12-minute FLAC, ${longMb.toFixed(1)} MB: covers after ${longSeconds.toFixed(1)} s ` +
      `(server: decode ${longAnswer.timing.decode_seconds.toFixed(2)} s, total ${longAnswer.timing.total_seconds.toFixed(2)} s); ` +
      `progress: ${JSON.stringify(progress.texts.slice(0, 3))} … ${JSON.stringify(progress.texts.slice(-1))}`);
    check(longAnswer.track && longAnswer.track.format === 'FLAC' &&
      Math.abs(longAnswer.track.seconds - limits.max_audio_seconds) < 0.05 && longAnswer.covers.length === Number(a.n),
    `the 12-minute track gave ${a.n} covers from its first ${longAnswer.track && longAnswer.track.seconds} s (max_audio_seconds ${limits.max_audio_seconds})`);
    check(longSeconds < 120, `in bounded time: ${longSeconds.toFixed(1)} s from choosing the file to the covers (limit 120 s)`);
    const longLine = await page.textContent('#track');
    check(longLine.includes(`the first ${limits.max_audio_seconds} s of a longer track`), 'the track line says only the start was used: ' + longLine.trim());
    check(progress.texts.some((t) => t.startsWith('Uploading long-mix.flac')), 'the page showed the upload');
    const clock = progress.texts.map((t) => t.match(/^Listening to the track and painting covers… (\d+\.\d) s$/))
      .filter(Boolean).map((m) => Number(m[1]));
    check(clock.length >= 2 && clock.every((v, i) => i === 0 || v > clock[i - 1]),
      `then a running clock while the server worked (${clock.length} updates, up to ${clock[clock.length - 1]} s)`);
    check(progress.maxGapMs < 1500, `the page's main thread never stalled (longest timer gap ${progress.maxGapMs.toFixed(0)} ms)`);

    // A track dropped while another is being made is not lost: it goes next.
    // The WAV is staged before the long track starts: staging it afterwards took long
    // enough on a fast machine that the long track (1.8 s) was already done (CI, stop 25).
    const queuedBefore = coverAnswers.length;
    const queuedDrop = await stageDrop(page, wavFile, 'audio/wav');
    await page.setInputFiles('#file', longFile);
    await page.waitForSelector('#progress:not([hidden])', { timeout: 10000 });
    await dispatchDrop(page, '#drop', queuedDrop);
    const busyText = await page.textContent('#progress-text');
    await until(() => coverAnswers.length >= queuedBefore + 2, 'the answers for the long track and the WAV', 180000);
    await page.waitForFunction(() => document.getElementById('progress').hidden, null, { timeout: 120000 });
    const [queuedFirst, queuedSecond] = coverAnswers.slice(queuedBefore);
    check(coverAnswers.length === queuedBefore + 2 && queuedFirst.track.name === 'long-mix.flac' &&
      queuedSecond.track.name === 'synth-wav.wav' && (await page.textContent('#track')).includes('synth-wav.wav') &&
      busyText.endsWith('(then synth-wav.wav)'),
    `a WAV dropped while the long track was made went next (the page said "${busyText}")`);
    const lastTrack = queuedSecond.track;

    // Files that are not audio: a clear message on the page, the last track stays, and
    // the server keeps serving (a re-roll of the last track works right after).
    const coversBefore = await page.$$eval('#grid .cover img', (imgs) => imgs.map((i) => i.src));
    const png = path.join(work, 'artwork.png');
    fs.copyFileSync(saved, png);
    const pngBefore = coverAnswers.length;
    await page.setInputFiles('#file', png);
    await page.waitForSelector('#error:not([hidden])', { timeout: 60000 });
    await until(() => coverAnswers.length > pngBefore, 'the answer to the PNG upload');
    const pngError = await page.textContent('#error');
    check(pngError.startsWith('artwork.png is not a track covergen can use. Drop an audio file (') &&
      pngError.includes("'artwork.png': not a supported audio file"), 'a PNG gets a clear message: ' + pngError.trim());
    check((await page.$$eval('#grid .cover img', (imgs) => imgs.map((i) => i.src))).every((src, i) => src === coversBefore[i]) &&
      (await page.textContent('#drop .drop-title')) === lastTrack.name && !(await page.$eval('#reroll', (b) => b.disabled)),
    'the page keeps the last track and its covers, Re-roll still enabled');
    const rerollBefore = coverAnswers.length;
    await page.click('#reroll');
    const afterPng = await nextAnswer(rerollBefore, 120000);
    check(afterPng && afterPng.covers.length === Number(a.n) && afterPng.track.id === lastTrack.id &&
      !coverForms[coverForms.length - 1].includes('name="audio"') && (await page.$eval('#error', (e) => e.hidden)),
    `the server keeps serving: a re-roll of ${lastTrack.name} by id gives new covers and clears the message`);
    const junk = path.join(work, 'notes.mp3');
    fs.writeFileSync(junk, 'this is not audio '.repeat(200));
    await page.setInputFiles('#file', junk);
    await page.waitForSelector('#error:not([hidden])', { timeout: 60000 });
    const errText = await page.textContent('#error');
    check(errText.startsWith('notes.mp3 is not a track covergen can use.') && errText.includes("'notes.mp3'"),
      'a text file named .mp3 shows the reason: ' + errText.trim());
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
