// What the serve tests need besides the server: a tiny trained model and test audio.
//
//   node tests/serve/fixtures.mjs --cli build/bin/covergen --model-out DIR
//
// trains the tiny audio-conditioned DCGAN into DIR (the ctest fixture that
// serve_e2e_chromium and serve_load share). Nothing is downloaded: the dataset is
// covergen's own synthetic one, the audio is synthesised here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

// A 32 px DCGAN conditioned on two audio features, 4 training steps (seconds on
// 2 cores): enough for the server's path from upload to covers, not for good covers.
export function trainTinyModel(cli, work) {
  const ds = path.join(work, 'ds'), runDir = path.join(work, 'run');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  run(cli, ['dataset', 'synth', '--out', ds, '--genres', '2', '--per-genre', '3', '--seconds', '2', '--cover-size', '32', '-q']);
  run(cli, ['train', '--data', ds, '--out', runDir, '--condition', 'audio:tempo_bpm,rms_mean', '--image-size', '32',
    '--batch', '4', '--steps', '4', '--gan-config', '{"ngf":8,"ndf":8}', '--device', 'cpu', '--threads', '1', '--seed', '3', '-q']);
  if (!fs.existsSync(path.join(runDir, 'generator.cvgn'))) throw new Error(`${runDir}: training wrote no generator.cvgn`);
  return runDir;
}

// Writes a 16-bit PCM WAV of synthetic music: a 120 BPM kick, an off-beat tick and
// a chord that changes every bar, four bars (8 s) repeated to the length asked.
// Deterministic; a long track is written loop by loop, never held in memory.
export function writeWav(file, seconds, { rate = 44100, channels = 2 } = {}) {
  const frames = Math.round(seconds * rate);
  const dataBytes = frames * channels * 2;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);  // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(dataBytes, 40);
  const chords = [[220, 261.63, 329.63], [174.61, 220, 261.63], [196, 246.94, 293.66], [164.81, 207.65, 246.94]];
  const beat = rate / 2;  // 120 BPM
  const loopFrames = Math.min(frames, beat * 4 * chords.length);
  const loop = Buffer.alloc(loopFrames * channels * 2);
  for (let i = 0; i < loopFrames; ++i) {
    const t = i / rate, inBeat = (i % beat) / rate, offBeat = ((i + beat / 2) % beat) / rate;
    let s = 0.5 * Math.sin(2 * Math.PI * 55 * inBeat) * Math.exp(-inBeat * 18);  // kick
    s += 0.08 * Math.sin(2 * Math.PI * 3520 * offBeat) * Math.exp(-offBeat * 60);  // tick
    for (const f of chords[Math.floor(i / (beat * 4)) % chords.length]) s += 0.07 * Math.sin(2 * Math.PI * f * t);
    const v = Math.max(-32767, Math.min(32767, Math.round(s * 32767)));
    for (let c = 0; c < channels; ++c) loop.writeInt16LE(v, (i * channels + c) * 2);
  }
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, header);
    for (let left = frames; left > 0; left -= loopFrames) fs.writeSync(fd, loop, 0, Math.min(left, loopFrames) * channels * 2);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

// The same music as FLAC, with Debian's `flac` encoder (the WAV is removed).
export function writeFlac(file, seconds, flac = 'flac', options = {}) {
  const wav = file.replace(/\.flac$/, '') + '.tmp.wav';
  writeWav(wav, seconds, options);
  try {
    run(flac, ['--silent', '--force', '-o', file, wav]);
  } finally {
    fs.rmSync(wav, { force: true });
  }
  return file;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const a = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!a.cli || !a['model-out']) {
    console.error('usage: node fixtures.mjs --cli COVERGEN --model-out DIR');
    process.exit(2);
  }
  const t0 = Date.now();
  const runDir = trainTinyModel(a.cli, a['model-out']);
  console.log(`trained ${runDir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
