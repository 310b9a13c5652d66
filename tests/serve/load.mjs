// Load and abuse test for covergen serve on loopback (no dependencies: Node 18+).
//
//   node tests/serve/load.mjs --cli build/bin/covergen --model RUN
//        [--audio tests/data/librosa/music120_44k.mp3] [--clients 20] [--requests 5] [--n 4]
//        [--big-mb 100] [--big 3] [--garbage 20] [--serve-args "--workers 1"] [--deadline-s 400]
//
// Bounded: clients x requests requests, each given at most 120 s, and the whole run
// at most --deadline-s (then FAIL); every request goes to the server it started on
// 127.0.0.1, nowhere else. ctest runs it as serve_load on a tiny trained model.
//
// Starts `covergen serve --port 0`, then:
//  1. load: `clients` concurrent clients each POST the track `requests` times
//     (the first upload, then re-rolls by track id every other request), and reports
//     latency percentiles; every answer must be 200 with n PNGs;
//  2. abuse: `big` concurrent uploads of `big-mb` MB (must be 413) and `garbage`
//     random files (must be 400), while the server keeps answering;
//  3. the server's peak resident memory (VmHWM) and that it is still alive, then
//     SIGTERM: exit 0 and no upload folder left. Prints a JSON summary last.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const a = { audio: 'tests/data/librosa/music120_44k.mp3', clients: '20', requests: '5', n: '4', 'big-mb': '100',
  big: '3', garbage: '20', 'serve-args': '', 'deadline-s': '400' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
if (!a.cli || !a.model) { console.error('--cli and --model are required'); process.exit(2); }

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'covergen-load-'));
const serveArgs = ['serve', '--model', a.model, '--host', '127.0.0.1', '--port', '0', '-q',
  ...a['serve-args'].split(' ').filter(Boolean)];
const server = spawn(a.cli, serveArgs, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: tmp } });
let exitInfo = null;
server.on('exit', (code, signal) => { exitInfo = { code, signal }; });
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; const m = out.match(/http:\/\/[^\s]+/); if (m) resolve(m[0].replace(/\/$/, '')); });
  server.on('exit', () => reject(new Error('covergen serve exited before listening')));
});
if (new URL(url).hostname !== '127.0.0.1') {
  server.kill('SIGKILL');
  console.error(`FAIL: the server listens on ${url}, not on 127.0.0.1`);
  process.exit(1);
}
const deadline = setTimeout(() => {
  server.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
  console.error(`FAIL: not done within --deadline-s ${a['deadline-s']} s`);
  process.exit(1);
}, Number(a['deadline-s']) * 1000);

function vmHwmMb() {
  const s = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return Number(s.match(/VmHWM:\s+(\d+)/)[1]) / 1024;
}
function vmRssMb() {
  const s = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return Number(s.match(/VmRSS:\s+(\d+)/)[1]) / 1024;
}
const why = (e) => e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '');
function pct(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]; }

const audio = fs.readFileSync(a.audio);
const errors = [];
const latencies = [];
const statusCounts = {};
const n = Number(a.n);

// The multipart/form-data body as a browser sends it. Not FormData: Debian bookworm's
// node 18 (undici 5.15) ends that body without the CRLF after the closing boundary,
// which cpp-httplib 0.11's parser takes for a cut-off body (400 for every upload).
function multipart(fields, file, name) {
  const boundary = '----covergen-load-' + Math.random().toString(16).slice(2);
  const parts = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  if (file) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="audio"; filename="${name}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n'), file, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

async function post(fields, file, name) {
  const { body: payload, type } = multipart(fields, file, name);
  const t0 = performance.now();
  const r = await fetch(url + '/api/covers', { method: 'POST', body: payload, headers: { 'content-type': type },
    signal: AbortSignal.timeout(120000) });
  const body = await r.json().catch(() => ({}));
  return { status: r.status, body, ms: performance.now() - t0, retryAfter: r.headers.get('retry-after') };
}

const rssBefore = vmRssMb();
// 1. Load.
const t0 = performance.now();
await Promise.all([...Array(Number(a.clients)).keys()].map(async (c) => {
  let track = null;
  for (let i = 0; i < Number(a.requests); ++i) {
    const fields = { n: String(n), seed: String(c * 1000 + i) };
    const reroll = track && i % 2 === 1;
    if (reroll) fields.track = track;
    try {
      const r = await post(fields, reroll ? null : audio, 'client' + c + '.mp3');
      statusCounts[r.status] = (statusCounts[r.status] || 0) + 1;
      if (r.status !== 200) { errors.push(`client ${c} request ${i}: ${r.status} ${r.body.error}`); continue; }
      if (!r.body.covers || r.body.covers.length !== n) errors.push(`client ${c} request ${i}: ${r.body.covers?.length} covers`);
      track = r.body.track.id;
      latencies.push({ ms: r.ms, reroll: Boolean(reroll) });
    } catch (e) {
      errors.push(`client ${c} request ${i}: ${why(e)}`);
    }
  }
}));
const loadSeconds = (performance.now() - t0) / 1000;
const all = latencies.map((l) => l.ms).sort((x, y) => x - y);
const uploads = latencies.filter((l) => !l.reroll).map((l) => l.ms).sort((x, y) => x - y);
const rerolls = latencies.filter((l) => l.reroll).map((l) => l.ms).sort((x, y) => x - y);
const summarise = (s) => s.length ? { count: s.length, p50_ms: Math.round(pct(s, 50)), p90_ms: Math.round(pct(s, 90)),
  p99_ms: Math.round(pct(s, 99)), max_ms: Math.round(s[s.length - 1]) } : { count: 0 };
const hwmAfterLoad = vmHwmMb();

// 2. Abuse: huge uploads and garbage, concurrently, then a normal request.
const bigMb = Number(a['big-mb']);
const big = Buffer.alloc(bigMb * 1024 * 1024, 7);
const abuse = { big_413: 0, big_other: [], garbage_400: 0, garbage_other: [] };
await Promise.all([
  ...[...Array(Number(a.big)).keys()].map(async () => {
    try {
      const r = await post({ n: '1' }, big, 'huge.wav');
      if (r.status === 413) abuse.big_413++; else abuse.big_other.push(r.status);
    } catch (e) { abuse.big_other.push(why(e)); }
  }),
  ...[...Array(Number(a.garbage)).keys()].map(async (i) => {
    const junk = Buffer.alloc(1000 + i * 5000);
    for (let k = 0; k < junk.length; ++k) junk[k] = (k * 7919 + i * 31) & 255;
    try {
      const r = await post({ n: '1' }, junk, `junk${i}.mp3`);
      if (r.status === 400) abuse.garbage_400++; else abuse.garbage_other.push(r.status + ' ' + r.body.error);
    } catch (e) { abuse.garbage_other.push(why(e)); }
  }),
]);
const after = await post({ n: '1' }, audio, 'after.mp3');
const models = await fetch(url + '/api/models');
const status = await (await fetch(url + '/api/status')).json();
const hwmEnd = vmHwmMb();

server.kill('SIGTERM');
await new Promise((resolve) => { if (exitInfo) resolve(); else server.on('exit', resolve); });
const leftovers = fs.readdirSync(tmp);
fs.rmSync(tmp, { recursive: true, force: true });

const summary = {
  clients: Number(a.clients), requests_per_client: Number(a.requests), covers_per_request: n,
  serve_args: a['serve-args'], wall_seconds: Number(loadSeconds.toFixed(2)),
  requests_per_second: Number((latencies.length / loadSeconds).toFixed(2)),
  statuses: statusCounts, errors: errors.length, first_errors: errors.slice(0, 5),
  latency_all: summarise(all), latency_upload: summarise(uploads), latency_reroll: summarise(rerolls),
  abuse: { big_mb: bigMb, big: Number(a.big), ...abuse, garbage: Number(a.garbage) },
  after_abuse: { covers_status: after.status, models_status: models.status },
  queue: status.queue,
  memory_mb: { rss_idle: Math.round(rssBefore), peak_after_load: Math.round(hwmAfterLoad), peak_end: Math.round(hwmEnd) },
  exit: exitInfo, temp_leftovers: leftovers.length,
};
console.log(JSON.stringify(summary, null, 2));
const l = summary.latency_all;
console.log(`load: ${latencies.length} of ${Number(a.clients) * Number(a.requests)} requests answered 200 in ` +
  `${summary.wall_seconds} s (${summary.requests_per_second} req/s), p50 ${l.p50_ms} ms, p90 ${l.p90_ms} ms, ` +
  `p99 ${l.p99_ms} ms, max ${l.max_ms} ms; ${abuse.big_413}/${a.big} 413, ${abuse.garbage_400}/${a.garbage} 400; ` +
  `server peak RSS ${summary.memory_mb.peak_end} MB (idle ${summary.memory_mb.rss_idle} MB, ${summary.memory_mb.peak_after_load} MB after the load)`);
clearTimeout(deadline);
const ok = errors.length === 0 && latencies.length === Number(a.clients) * Number(a.requests) && abuse.big_413 === Number(a.big) && abuse.garbage_400 === Number(a.garbage) &&
  after.status === 200 && models.status === 200 && exitInfo && exitInfo.code === 0 && leftovers.length === 0;
console.log(ok ? 'PASS' : 'FAIL');
process.exit(ok ? 0 : 1);
