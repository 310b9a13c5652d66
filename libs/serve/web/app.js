// The covergen serve page. Talks only to the JSON API (docs/serve.md):
// GET /api/models once, POST /api/covers for every batch of covers.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { model: null, limits: null, file: null, trackId: null, trackName: '', busy: false };

function randomSeed() {
  // 53 bits: exact as a JavaScript number and as the server's uint64.
  const hi = Math.floor(Math.random() * 2 ** 21), lo = Math.floor(Math.random() * 2 ** 32);
  return String(hi * 2 ** 32 + lo);
}

function formatBytes(n) {
  return n >= 1 << 20 ? (n / (1 << 20)).toFixed(0) + ' MB' : (n / 1024).toFixed(0) + ' KB';
}

function showError(message) {
  const e = $('error');
  e.textContent = message;
  e.hidden = !message;
}

function setBusy(busy, text) {
  state.busy = busy;
  $('progress').hidden = !busy;
  if (text) $('progress-text').textContent = text;
  $('reroll').disabled = busy || !(state.trackId || state.file || (state.model && state.model.condition.mode !== 'audio'));
  $('make').disabled = busy;
}

async function loadModels() {
  try {
    const r = await fetch('/api/models');
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    state.model = body.models[0];
    state.limits = body.limits;
    const m = state.model;
    const what = { audio: 'the sound of a track', genre: 'a genre', none: 'nothing (unconditional)' }[m.condition.mode];
    $('model').textContent = `Model ${m.name} · ${m.plugin ? m.plugin + ' · ' : ''}${m.image_size}×${m.image_size} px · conditioned on ${what}`;
    $('limit').textContent = formatBytes(body.limits.max_upload_bytes);
    $('formats').textContent = body.limits.audio_formats.join(', ');
    $('finishing').hidden = !m.finishing;
    const count = $('count');
    for (const opt of [...count.options]) if (Number(opt.value) > body.limits.max_covers) opt.remove();
    if (m.condition.mode !== 'audio') {
      $('drop').hidden = true;
      $('genre-row').hidden = false;
      const g = $('genre');
      if (m.condition.mode === 'genre') {
        for (const name of m.condition.names) g.add(new Option(name, name));
      } else {
        g.hidden = true;
        g.previousElementSibling.hidden = true;
      }
      setBusy(false);
    }
  } catch (err) {
    $('model').textContent = '';
    showError('Cannot reach the covergen server: ' + err.message);
  }
}

// POST /api/covers with XMLHttpRequest, for upload progress.
function postCovers(form, onUpload) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/covers');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onUpload(e.loaded / e.total); };
    xhr.upload.onload = () => onUpload(1);
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.response || {}, retryAfter: xhr.getResponseHeader('Retry-After') });
    xhr.onerror = () => reject(new Error('the connection to the server failed'));
    xhr.send(form);
  });
}

async function makeCovers({ upload }) {
  if (state.busy) return;
  showError('');
  const form = new FormData();
  form.append('n', $('count').value);
  form.append('truncation', $('truncation').value);
  if (!/^\d+$/.test($('seed').value)) $('seed').value = randomSeed();
  form.append('seed', $('seed').value);
  const mode = state.model ? state.model.condition.mode : 'audio';
  if (mode === 'genre') form.append('genre', $('genre').value);
  if (mode === 'audio') {
    if (upload || !state.trackId) {
      if (!state.file) return;
      if (state.limits && state.file.size > state.limits.max_upload_bytes) {
        showError(`${state.file.name} is ${formatBytes(state.file.size)}; this server takes files up to ${formatBytes(state.limits.max_upload_bytes)}.`);
        return;
      }
      form.append('audio', state.file, state.file.name);
    } else {
      form.append('track', state.trackId);
    }
  }
  const sending = form.has('audio');
  const fill = $('bar-fill');
  fill.classList.toggle('busy', !sending);
  fill.style.width = sending ? '0%' : '';
  setBusy(true, sending ? 'Uploading ' + state.file.name + '…' : 'Generating covers…');
  const started = performance.now();
  let timer = null;
  const generating = () => {
    fill.classList.add('busy');
    fill.style.width = '';
    timer = setInterval(() => {
      const s = ((performance.now() - started) / 1000).toFixed(1);
      $('progress-text').textContent = (sending ? 'Listening to the track and painting covers… ' : 'Painting covers… ') + s + ' s';
    }, 100);
  };
  if (!sending) generating();
  try {
    const r = await postCovers(form, (f) => {
      if (!sending) return;
      if (f >= 1 && !timer) generating();
      else if (!timer) fill.style.width = (f * 100).toFixed(0) + '%';
    });
    if (r.status === 404 && !upload && state.file) {  // the server forgot the track: send it again
      clearInterval(timer);
      setBusy(false);
      return makeCovers({ upload: true });
    }
    if (r.status !== 200) {
      let msg = r.body.error || `the server answered ${r.status}`;
      if (r.status === 503 && r.retryAfter) msg += ` (retry in ${r.retryAfter} s)`;
      throw new Error(msg);
    }
    render(r.body);
  } catch (err) {
    showError(err.message);
  } finally {
    clearInterval(timer);
    setBusy(false);
  }
}

function slug(s) {
  return (s || 'cover').replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'cover';
}

function render(body) {
  if (body.track) {
    state.trackId = body.track.id;
    state.trackName = body.track.name;
    const f = body.track.features || {};
    const parts = [`<b></b> · ${body.track.seconds.toFixed(1)} s ${body.track.format}`];
    if (f.tempo_bpm !== undefined) parts.push(`${f.tempo_bpm.toFixed(0)} BPM`);
    $('track').innerHTML = parts.join(' · ') + ` · seed ${body.seed} · truncation ${body.truncation.toFixed(2)}`;
    $('track').querySelector('b').textContent = body.track.name;
  } else {
    $('track').textContent = `${body.genre ? 'Genre ' + body.genre + ' · ' : ''}seed ${body.seed} · truncation ${body.truncation.toFixed(2)}`;
  }
  const grid = $('grid');
  grid.replaceChildren();
  const base = slug(body.track ? body.track.name : body.genre);
  for (const c of body.covers) {
    const url = 'data:image/png;base64,' + c.png_base64;
    const tile = document.createElement('figure');
    tile.className = 'cover';
    tile.style.margin = '0';
    const img = document.createElement('img');
    img.src = url;
    img.alt = `Cover ${c.index + 1}`;
    if (body.image_size < 128) img.className = 'small';
    const meta = document.createElement('figcaption');
    meta.className = 'meta';
    const label = document.createElement('span');
    label.textContent = `#${c.index + 1} · ${body.image_size}px`;
    const a = document.createElement('a');
    a.href = url;
    a.download = `${base}-${body.seed}-${c.index + 1}.png`;
    a.textContent = 'Download PNG';
    a.className = 'download';
    meta.append(label, a);
    tile.append(img, meta);
    grid.append(tile);
  }
  $('result').hidden = false;
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  state.trackId = null;
  $('drop').classList.add('has-file');
  $('drop').querySelector('.drop-title').textContent = file.name;
  $('seed').value = randomSeed();
  makeCovers({ upload: true });
}

function init() {
  const drop = $('drop');
  $('file').addEventListener('change', (e) => chooseFile(e.target.files[0]));
  for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove('over'); });
  drop.addEventListener('drop', (e) => chooseFile(e.dataTransfer.files[0]));
  $('reroll').addEventListener('click', () => { $('seed').value = randomSeed(); makeCovers({ upload: false }); });
  $('make').addEventListener('click', () => makeCovers({ upload: false }));
  $('truncation').addEventListener('input', (e) => { $('truncation-value').textContent = Number(e.target.value).toFixed(2); });
  $('truncation').addEventListener('change', () => { if (state.trackId || !state.file) makeCovers({ upload: false }); });
  $('count').addEventListener('change', () => { if (state.trackId) makeCovers({ upload: false }); });
  $('seed').addEventListener('change', () => { if (state.trackId) makeCovers({ upload: false }); });
  $('seed').value = randomSeed();
  loadModels();
}

document.addEventListener('DOMContentLoaded', init);
