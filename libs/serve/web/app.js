// The covergen serve page. Talks only to the JSON API (docs/serve.md):
// GET /api/models once, POST /api/covers for every batch of covers, and for one
// cover in SVG/PDF when one is downloaded.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { model: null, limits: null, file: null, trackId: null, trackName: '', busy: false, last: null };

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

// The progress line, naming the track dropped meanwhile that goes next, if any.
function showProgress(text) {
  $('progress-text').textContent = text + (state.nextFile ? ` (then ${state.nextFile.name})` : '');
}

function setBusy(busy, text) {
  state.busy = busy;
  $('progress').hidden = !busy;
  if (text) $('progress-text').textContent = text;
  $('reroll').disabled = busy || !(state.trackId || state.file || (state.model && !takesAudio(state.model)));
  $('make').disabled = busy;
}

// Covers from a track: by its audio features or through the run's music encoder.
function takesAudio(model) {
  return model.condition.mode === 'audio' || model.condition.mode === 'encoder';
}

async function loadModels() {
  try {
    const r = await fetch('/api/models');
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    state.model = body.models[0];
    state.limits = body.limits;
    const m = state.model;
    const encoder = m.condition.encoder ? ` (${m.condition.encoder.plugin} music encoder)` : '';
    const what = { audio: 'the sound of a track', encoder: 'the sound of a track' + encoder, genre: 'a genre',
                   none: 'nothing (unconditional)' }[m.condition.mode];
    $('model').textContent = `Model ${m.name} · ${m.plugin ? m.plugin + ' · ' : ''}${m.image_size}×${m.image_size} px · conditioned on ${what}`;
    $('limit').textContent = formatBytes(body.limits.max_upload_bytes);
    $('formats').textContent = body.limits.audio_formats.join(', ');
    $('finishing').hidden = !m.finishing;
    const count = $('count');
    for (const opt of [...count.options]) if (Number(opt.value) > body.limits.max_covers) opt.remove();
    if (!takesAudio(m)) {
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
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onUpload(e.loaded, e.total); };
    xhr.upload.onload = () => onUpload(1, 1);
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
  const fromTrack = !state.model || takesAudio(state.model);
  if (mode === 'genre') form.append('genre', $('genre').value);
  if (state.model && state.model.finishing) {
    // Finished covers (typography by covergen::finish) as soon as there is text.
    if ($('artist').value.trim()) form.append('artist', $('artist').value.trim());
    if ($('title').value.trim()) form.append('title', $('title').value.trim());
  }
  if (fromTrack) {
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
      showProgress((sending ? 'Listening to the track and painting covers… ' : 'Painting covers… ') + s + ' s');
    }, 100);
  };
  if (!sending) generating();
  try {
    const r = await postCovers(form, (loaded, total) => {
      if (!sending || timer) return;
      if (loaded >= total) return generating();
      fill.style.width = (loaded / total * 100).toFixed(0) + '%';
      showProgress(`Uploading ${state.file.name}: ${formatBytes(loaded)} of ${formatBytes(total)} ` +
        `(${(loaded / total * 100).toFixed(0)}%)…`);
    });
    if (r.status === 404 && !upload && state.file) {  // the server forgot the track: send it again
      clearInterval(timer);
      setBusy(false);
      return makeCovers({ upload: true });
    }
    if (r.status === 400 && sending) {  // not audio the server can read: say so, forget the file
      const formats = state.limits ? state.limits.audio_formats.join(', ') : 'mp3, wav, flac, ogg';
      const name = state.file.name;
      restorePreviousFile();
      throw new Error(`${name} is not a track covergen can use. Drop an audio file (${formats}). ` +
        `The server said: ${r.body.error || 'bad request'}`);
    }
    if (r.status !== 200) {
      let msg = r.body.error || `the server answered ${r.status}`;
      if (r.status === 503 && r.retryAfter) msg += ` (retry in ${r.retryAfter} s)`;
      throw new Error(msg);
    }
    state.last = {
      fields: [...form.entries()].filter(([k]) => k !== 'audio'), trackId: r.body.track ? r.body.track.id : null,
    };
    render(r.body);
  } catch (err) {
    showError(err.message);
  } finally {
    clearInterval(timer);
    setBusy(false);
    if (state.nextFile) {  // a track dropped while this batch was made: its turn now
      const next = state.nextFile;
      state.nextFile = null;
      state.textChanged = false;  // the next batch takes the text as it is now
      chooseFile(next);
    } else if (state.textChanged && state.last) {
      state.textChanged = false;
      makeCovers({ upload: false });
    }
  }
}

function slug(s) {
  return (s || 'cover').replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'cover';
}

// One cover of the last batch in another format: the same request (by track id, so
// nothing is uploaded again) for just that cover, finished at 1024 px.
async function downloadAs(index, format, filename, button) {
  if (!state.last) return;
  showError('');
  const form = new FormData();
  for (const [k, v] of state.last.fields) if (k !== 'track') form.append(k, v);
  if (state.last.trackId) form.append('track', state.last.trackId);
  form.append('index', String(index));
  form.append('format', format);
  form.append('size', '1024');
  button.disabled = true;
  const label = button.textContent;
  button.textContent = format.toUpperCase() + '…';
  try {
    const r = await fetch('/api/covers', { method: 'POST', body: form });
    const body = await r.json();
    if (r.status === 404 && state.file) throw new Error('the server no longer has this track: drop it again');
    if (!r.ok) throw new Error(body.error || `the server answered ${r.status}`);
    const b64 = body.covers[0][format + '_base64'];
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const type = { svg: 'image/svg+xml', pdf: 'application/pdf', jpg: 'image/jpeg', png: 'image/png' }[format];
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (err) {
    showError(`${format.toUpperCase()} download failed: ${err.message}`);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

function render(body) {
  if (body.track) {
    state.trackId = body.track.id;
    state.trackName = body.track.name;
    const f = body.track.features || {};
    const parts = [`<b></b> · ${body.track.seconds.toFixed(1)} s ${body.track.format}`];
    // The server decodes at most max_audio_seconds of a track (covergen serve --max-audio-seconds).
    const max = state.limits ? state.limits.max_audio_seconds : 0;
    if (max > 0 && body.track.seconds >= max - 0.5) parts.push(`the first ${max} s of a longer track`);
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
    if (!body.finished && body.image_size < 128) img.className = 'small';
    const meta = document.createElement('figcaption');
    meta.className = 'meta';
    const label = document.createElement('span');
    label.textContent = `#${c.index + 1} · ${body.finished ? body.finished.size : body.image_size}px`;
    const a = document.createElement('a');
    a.href = url;
    a.download = `${base}-${body.seed}-${c.index + 1}.png`;
    a.textContent = 'PNG';
    a.title = 'Download this cover as PNG';
    a.className = 'download';
    meta.append(label, a);
    const formats = (state.model && state.model.formats) || [];
    for (const format of ['svg', 'pdf']) {
      if (!formats.includes(format)) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'download';
      b.textContent = format.toUpperCase();
      b.title = `Download this cover as ${format.toUpperCase()} (1024 px, text as vector)`;
      b.dataset.format = format;
      b.addEventListener('click', () => downloadAs(c.index, format, `${base}-${body.seed}-${c.index + 1}.${format}`, b));
      meta.append(b);
    }
    tile.append(img, meta);
    grid.append(tile);
  }
  $('result').hidden = false;
}

// Back to the track before a file the server refused (its covers are still shown).
function restorePreviousFile() {
  const p = state.previous || { file: null, trackId: null };
  state.file = p.file;
  state.trackId = p.trackId;
  $('file').value = '';
  $('drop').classList.toggle('has-file', Boolean(p.file));
  $('drop').querySelector('.drop-title').textContent = p.file ? p.file.name : 'Drop an audio file here';
}

function chooseFile(file) {
  if (!file) return;
  $('file').value = '';  // choosing the same file again is a change too
  if (state.busy) {  // one batch at a time: this track goes next (the latest drop wins)
    state.nextFile = file;
    showProgress($('progress-text').textContent.replace(/ \(then .*\)$/, ''));
    return;
  }
  state.previous = { file: state.file, trackId: state.trackId };
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
  // New text: finish the current covers again (after the batch in flight, if any).
  for (const id of ['artist', 'title']) {
    $(id).addEventListener('change', () => {
      if (!state.last) return;
      if (state.busy) state.textChanged = true;
      else makeCovers({ upload: false });
    });
  }
  $('seed').value = randomSeed();
  loadModels();
}

document.addEventListener('DOMContentLoaded', init);
