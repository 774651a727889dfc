// The room page: shows what the server says (roster, song, console, health, chat,
// lyrics) and sends what the person does. Audio and the socket are choir-engine.js's;
// this module only draws and listens. Timed things (countdowns, the lyric line) follow
// the engine's playback position, so every page shows them when it hears them.

import { Engine } from './choir-engine.js';
import { browserSupported, micProblem, WIRE_RATE } from './choir-audio.js';
import { messages, fill, show, typingTarget, formatSeconds, formatNumber, loadPlace } from './choir-ui.js';

const root = document.getElementById('choir-room');
const m = messages(root);
const $ = (id) => document.getElementById(id);
const BUCKETS = 6;

const place = loadPlace(root.dataset.room);
if (!place) {
  // Nothing calibrated (or too long ago): the join page first.
  window.location.replace(root.dataset.joinUrl);
  throw new Error('choir: no place stored for this room');
}
const singer = place.part === 'singer';
root.dataset.part = place.part;

const view = {
  you: null,
  singers: new Map(),
  song: null,
  console: null,
  lagging: false,
  margin: null,
  lines: [],
  cues: [],
  cueLine: -1, // the leader's last cued line
  shownLine: -1,
  missing: [], // seconds missing per stats report, the last 5 s
};

const engine = new Engine({ socketUrl: root.dataset.socketUrl, place });
const isLeader = () => view.song?.leader != null && view.song.leader === view.you;

// ---- Status and problems ------------------------------------------------------------------

let noticeTimer = null;
function notice(text, kind = '') {
  const el = $('room-notice');
  el.className = `notice ${kind}`.trim();
  show(el, text);
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => show(el, ''), 12000);
}

let problemTimer = null;
function problem(text, sticky = false) {
  show($('room-problem'), text);
  clearTimeout(problemTimer);
  if (text && !sticky) problemTimer = setTimeout(() => show($('room-problem'), ''), 12000);
}

engine.addEventListener('status', (e) => {
  const { state, code, reason, retryIn } = e.detail;
  root.dataset.state = state;
  const el = $('connection');
  if (state === 'connecting') el.textContent = m('connecting');
  else if (state === 'open') {
    el.textContent = m('connected');
    if ($('room-problem').querySelector('a')) show($('room-problem'), '');
  }
  else if (state === 'closed') {
    el.textContent = m('reconnecting', { seconds: formatNumber(Math.ceil(retryIn / 1000)) });
    if (e.detail.refused) {
      const link = document.createElement('a');
      link.href = root.dataset.joinUrl;
      link.textContent = m('join-again');
      fill($('room-problem'), m('never-connected'), { link });
      $('room-problem').hidden = false;
    }
  }
  else if (state === 'ended') {
    let text = m('ended');
    if (code === 4003) text = m('ended-removed');
    else if (code === 4000) text = m('ended-elsewhere');
    else if (code === 1008) text = m('ended-refused');
    if (reason) text = `${text} ${m('ended-reason', { reason })}`;
    el.textContent = text;
    problem(text, true);
  }
});

engine.addEventListener('problem', (e) => {
  const { kind, message } = e.detail;
  if (kind === 'mic') {
    const name = micProblem({ name: message });
    problem(m(name, { detail: message }), true);
    for (const input of document.querySelectorAll('#mic-modes input')) input.disabled = true;
  } else if (kind === 'codec') {
    problem(m('codec-missing'), true);
  }
});

// ---- Messages from the server -----------------------------------------------------------

engine.addEventListener('message', (e) => {
  const msg = e.detail;
  switch (msg.type) {
    case 'welcome':
      view.you = msg.you;
      renderAll();
      break;
    case 'roster':
      view.singers = new Map(msg.singers.map((s) => [s.id, s]));
      renderAll();
      break;
    case 'singer':
      view.singers.set(msg.singer.id, msg.singer);
      if (msg.singer.id === view.you) setLagging(msg.singer.lagging);
      renderAll();
      break;
    case 'left':
      view.singers.delete(msg.id);
      renderAll();
      break;
    case 'song':
      view.song = msg.song;
      renderAll();
      break;
    case 'console':
      view.console = msg.console;
      renderConsoleGlobal();
      break;
    case 'health':
      view.margin = msg.margin_ms;
      setLagging(msg.lagging);
      renderHealth();
      break;
    case 'chat':
      addChat(msg);
      break;
    case 'lyrics':
      setLyrics(msg.text, msg.image);
      break;
    case 'cue':
      view.cues.push({ line: msg.line, at: msg.at });
      view.cues.sort((a, b) => a.at - b.at);
      break;
    case 'recorded': {
      const link = document.createElement('a');
      link.href = msg.url;
      link.textContent = m('recorded-link-text');
      const el = $('recorded');
      fill(el, m('recorded'), { link });
      el.hidden = false;
      break;
    }
    case 'reset':
      view.cues = [];
      view.cueLine = -1;
      notice(m('reset'));
      break;
    case 'error':
      // Breaks in the voice are the engine's business; lag has its own notice.
      if (msg.code === 'lagging') setLagging(true);
      else if (msg.code !== 'discontinuous') problem(m('error', { detail: msg.message, code: msg.code }));
      break;
    default:
  }
});

function renderAll() {
  renderBuckets();
  renderSong();
  renderConsole();
  renderLyricsControls();
}

// ---- Buckets --------------------------------------------------------------------------------

function me() {
  return view.singers.get(view.you) || null;
}

function badge(text, kind) {
  const b = document.createElement('span');
  b.className = `badge ${kind}`;
  b.textContent = text;
  return b;
}

function renderBuckets() {
  const mine = me()?.bucket;
  const leader = view.song?.leader;
  for (let b = 0; b < BUCKETS; b += 1) {
    const li = root.querySelector(`.choir-bucket[data-bucket="${b}"]`);
    const people = [...view.singers.values()].filter((s) => s.bucket === b)
      .sort((x, y) => (x.id === view.you ? -1 : y.id === view.you ? 1 : x.name.localeCompare(y.name)));
    const ul = li.querySelector('.choir-people');
    ul.replaceChildren(...people.map((s) => {
      const item = document.createElement('li');
      item.className = 'choir-person';
      item.dataset.part = s.part;
      if (s.id === view.you) item.dataset.you = 'true';
      if (s.lagging) item.dataset.lagging = 'true';
      const name = document.createElement('bdi');
      name.textContent = s.name;
      item.append(name);
      if (s.id === view.you) item.append(' ', badge(m('you'), 'info'));
      if (s.id === leader) item.append(' ', badge(m('leader-badge'), 'success'));
      if (s.part === 'listener') item.append(' ', badge(m('listener'), ''));
      if (s.lagging) item.append(' ', badge(m('lagging-badge'), 'warning'));
      if (s.soloed) item.append(' ', badge(m('soloed-badge'), 'info'));
      return item;
    }));
    if (!people.length) {
      const empty = document.createElement('li');
      empty.className = 'choir-empty';
      empty.textContent = m('bucket-empty');
      ul.append(empty);
    }
    li.dataset.mine = String(b === mine);
    li.dataset.count = String(people.length);
    li.querySelector('.choir-bucket-count').textContent = formatNumber(people.length);
    const move = li.querySelector('.choir-move');
    if (move) {
      move.hidden = !singer || b === mine || isLeader();
      move.textContent = m('join-bucket');
    }
  }
}

root.querySelector('#buckets').addEventListener('click', (e) => {
  const button = e.target.closest('.choir-move');
  if (!button) return;
  engine.send({ type: 'move', bucket: Number(button.dataset.bucket) });
});

// ---- Song -----------------------------------------------------------------------------------

function nameOf(id) {
  return view.singers.get(id)?.name ?? '?';
}

function renderSong() {
  const song = view.song;
  const leading = isLeader();
  const led = song?.leader != null;
  const started = song?.start != null;
  const state = $('song-state');
  if (!led) state.textContent = m('no-song');
  else if (!started) fill(state, m('song-ready'), { name: nameOf(song.leader) });
  else if (song.end == null) fill(state, m('song-running'), { name: nameOf(song.leader) });
  else fill(state, m('song-ended'), { name: nameOf(song.leader) });
  // A running song is led to its end (or halted) before the next is set up.
  $('lead-open').hidden = !singer || (started && song.end == null);
  $('song-start').hidden = !leading || started;
  $('song-stop').hidden = !leading || !started || song.end != null;
  $('seize').hidden = !singer || !led || leading;
  $('halt').hidden = leading || !started || song.end != null;
  $('record-toggle').hidden = !leading;
  $('record').checked = Boolean(song?.recording);
  $('recording-badge').hidden = !song?.recording;
  root.dataset.leading = String(leading);
}

function number(id) {
  const v = $(id).value.trim();
  if (!v) return null;
  const n = Math.round(Number(v));
  return Number.isFinite(n) && n > 0 ? n : null;
}

$('lead-open').addEventListener('click', () => {
  $('lead-form').hidden = false;
  $('lead-open').setAttribute('aria-expanded', 'true');
  ($('lead-setlist') || $('lead-bpm')).focus();
});
$('lead-cancel').addEventListener('click', () => {
  $('lead-form').hidden = true;
  $('lead-open').setAttribute('aria-expanded', 'false');
  $('lead-open').focus();
});
$('lead-setlist')?.addEventListener('change', (e) => {
  const option = e.target.selectedOptions[0];
  if (!option?.value) return;
  $('lead-bpm').value = option.dataset.bpm;
  $('lead-beats').value = option.dataset.beats;
  $('lead-repeats').value = option.dataset.repeats;
  $('lead-track').value = option.dataset.track;
});
$('lead-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const someoneElse = view.song?.leader != null && !isLeader();
  if (someoneElse && !(await confirmDialog(m('seize-confirm', { name: nameOf(view.song.leader) })))) return;
  engine.send({
    type: 'lead',
    bpm: number('lead-bpm'),
    beats_per_repeat: number('lead-beats'),
    repeats: number('lead-repeats'),
    track: $('lead-track').value || null,
  });
  const option = $('lead-setlist')?.selectedOptions[0];
  if (option?.value && option.dataset.lyrics) {
    // Leading takes a moment to come back; the lyrics go once we lead.
    pendingLyrics = option.dataset.lyrics;
  }
  $('lead-form').hidden = true;
  $('lead-open').setAttribute('aria-expanded', 'false');
});
let pendingLyrics = null;
engine.addEventListener('message', (e) => {
  if (e.detail.type === 'song' && pendingLyrics !== null && isLeader()) {
    engine.send({ type: 'lyrics', text: pendingLyrics, image: null });
    pendingLyrics = null;
  }
});

$('song-start').addEventListener('click', () => engine.send({ type: 'start' }));
$('song-stop').addEventListener('click', () => engine.send({ type: 'stop' }));
$('seize').addEventListener('click', async () => {
  if (await confirmDialog(m('seize-confirm', { name: nameOf(view.song?.leader) }))) {
    // Seizing keeps the song's settings; the lead form can change them after.
    const s = view.song || {};
    engine.send({ type: 'lead', bpm: s.bpm ?? null, beats_per_repeat: s.beats_per_repeat ?? null, repeats: s.repeats ?? null, track: s.track ?? null });
  }
});
$('halt').addEventListener('click', async () => {
  if (await confirmDialog(m('halt-confirm'))) engine.send({ type: 'stop' });
});
$('record').addEventListener('change', (e) => engine.send({ type: 'record', on: e.target.checked }));

/** A modal yes/no question; resolves true for yes. */
function confirmDialog(text) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    const done = (answer) => {
      $('confirm-yes').onclick = null;
      $('confirm-no').onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    $('confirm-yes').onclick = () => done(true);
    $('confirm-no').onclick = () => done(false);
    dialog.onclose = () => done(false);
    dialog.showModal();
    $('confirm-no').focus();
  });
}

// ---- Countdowns (driven by the playback position) --------------------------------------------

let lastAnnounced = null;
function renderCountdowns(pos) {
  const song = view.song;
  const you = $('countdown-you');
  const last = $('countdown-last');
  if (!song || song.start == null || pos === null) {
    you.hidden = true;
    last.hidden = true;
    return;
  }
  const untilYou = (song.start - pos) / WIRE_RATE;
  if (untilYou > 0) {
    you.textContent = m('countdown-you', { time: formatSeconds(untilYou) });
    you.dataset.soon = String(untilYou <= 5);
  } else {
    you.textContent = m('countdown-you-now');
    you.dataset.soon = 'false';
  }
  you.hidden = song.end != null && pos > song.end;
  // Announce now and then, not every second (a screen reader would read nothing else).
  const step = untilYou > 0 ? [60, 30, 10, 5, 3, 2, 1].find((t) => untilYou <= t + 0.3 && untilYou > t - 0.7) : 0;
  if (step !== undefined && step !== lastAnnounced) {
    lastAnnounced = step;
    $('countdown-announce').textContent = you.textContent;
  }
  const delays = song.delays || [];
  const mine = engine.delay;
  if (song.end != null && delays.length && mine !== null) {
    const remaining = (song.end - pos + Math.max(...delays) - mine) / WIRE_RATE;
    last.textContent = remaining > 0 ? m('countdown-last', { time: formatSeconds(remaining) }) : m('countdown-last-done');
    last.hidden = false;
  } else {
    last.hidden = true;
  }
}

// ---- Meters -------------------------------------------------------------------------------------

engine.addEventListener('stats', (e) => {
  const s = e.detail;
  $('input-level').value = Math.min(1, s.peak);
  view.missing.push(s.missing);
  if (view.missing.length > 50) view.missing.shift();
  view.buffer = s.buffer;
  root.dataset.monitor = String(s.monitored);
  $('monitoring').hidden = !s.monitored;
  renderHealth();
});

function renderHealth() {
  const missing = view.missing.reduce((a, b) => a + b, 0);
  // The server's view (how early our voice arrives before the next bucket needs it)
  // and ours (mix audio missing when it was to be played), the worse of the two.
  let bars = 5;
  if (singer && view.margin !== null && view.margin !== undefined) {
    const margin = view.margin;
    bars = margin >= 1500 ? 5 : margin >= 1000 ? 4 : margin >= 600 ? 3 : margin >= 300 ? 2 : margin > 0 ? 1 : 0;
  }
  const penalty = missing === 0 ? 0 : missing < 0.05 ? 1 : missing < 0.3 ? 2 : 3;
  bars = Math.max(0, Math.min(bars, 5 - penalty));
  const known = view.missing.length > 0 || view.margin !== null;
  const el = $('health');
  el.dataset.bars = String(known ? bars : 0);
  const text = !known ? m('health-unknown') : bars >= 4 ? m('health-good') : bars >= 2 ? m('health-fair') : m('health-poor');
  $('health-text').textContent = text;
}

function setLagging(lagging) {
  view.lagging = Boolean(lagging);
  $('lagging').hidden = !view.lagging || !singer;
}
$('retry').addEventListener('click', () => {
  engine.send({ type: 'retry' });
  $('lagging').hidden = true;
});

// ---- Microphone modes and push to talk ------------------------------------------------------

function setMic(mode) {
  engine.setMicMode(mode);
  $('talk').hidden = mode !== 'push';
  renderMic();
}

function renderMic() {
  const mode = engine.micMode;
  let text = m('mic-state-off');
  if (mode === 'on') text = m('mic-state-on');
  if (mode === 'push') text = engine.talking ? m('mic-talking') : m('mic-state-push');
  $('mic-state').textContent = text;
  root.dataset.mic = engine.sendingNow ? 'sending' : mode;
  $('talk').setAttribute('aria-pressed', String(engine.talking));
}

for (const input of document.querySelectorAll('#mic-modes input[name=mic]')) {
  input.addEventListener('change', () => setMic(input.value));
}

function talk(on) {
  if (engine.micMode !== 'push' || engine.talking === on) return;
  engine.setTalking(on);
  renderMic();
}
// Space anywhere but where it types or presses; the mode's own radio buttons count as
// "anywhere", since focus stays on them right after choosing push to talk.
const onMicRadio = (e) => e.target instanceof Element && e.target.matches('#mic-modes input[type=radio]');
document.addEventListener('keydown', (e) => {
  if (e.code !== 'Space' || (typingTarget(e) && !onMicRadio(e)) || engine.micMode !== 'push') return;
  e.preventDefault();
  if (!e.repeat) talk(true);
});
document.addEventListener('keyup', (e) => {
  if (e.code === 'Space' && engine.micMode === 'push') talk(false);
});
window.addEventListener('blur', () => talk(false));
$('talk').addEventListener('pointerdown', (e) => { e.preventDefault(); talk(true); });
for (const type of ['pointerup', 'pointercancel', 'pointerleave']) $('talk').addEventListener(type, () => talk(false));

// ---- The leader's console -------------------------------------------------------------------

function throttle(fn, ms) {
  let timer = null;
  let args = null;
  return (...a) => {
    args = a;
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
}

const sendConsole = throttle(() => engine.send({
  type: 'console',
  auto_gain: $('auto-gain').checked,
  backing_volume: Number($('backing-volume').value),
  global_volume: Number($('global-volume').value),
}), 150);
for (const id of ['auto-gain', 'backing-volume', 'global-volume']) $(id).addEventListener('input', sendConsole);

function renderConsoleGlobal() {
  const c = view.console;
  if (!c) return;
  // Not while the leader is moving the very control.
  if (document.activeElement !== $('auto-gain')) $('auto-gain').checked = c.auto_gain;
  if (document.activeElement !== $('backing-volume')) $('backing-volume').value = c.backing_volume;
  if (document.activeElement !== $('global-volume')) $('global-volume').value = c.global_volume;
}

const voiceSenders = new Map();
function sendVoice(id, row) {
  if (!voiceSenders.has(id)) {
    voiceSenders.set(id, throttle((r) => engine.send({
      type: 'voice',
      singer: id,
      mic_volume: Number(r.querySelector('.voice-volume').value),
      soloed: r.querySelector('.voice-solo').checked,
    }), 150));
  }
  voiceSenders.get(id)(row);
}

function renderConsole() {
  const leading = isLeader();
  $('console').hidden = !leading;
  if (!leading) return;
  const body = $('voices');
  const singers = [...view.singers.values()].filter((s) => s.part === 'singer')
    .sort((a, b) => a.bucket - b.bucket || a.name.localeCompare(b.name));
  const rows = new Map([...body.querySelectorAll('tr')].map((r) => [Number(r.dataset.id), r]));
  const ordered = singers.map((s) => {
    let row = rows.get(s.id);
    if (!row) {
      row = $('voice-row').content.firstElementChild.cloneNode(true);
      row.dataset.id = String(s.id);
      const volume = row.querySelector('.voice-volume');
      const solo = row.querySelector('.voice-solo');
      volume.id = `voice-volume-${s.id}`;
      solo.id = `voice-solo-${s.id}`;
      volume.addEventListener('input', () => sendVoice(s.id, row));
      solo.addEventListener('change', () => sendVoice(s.id, row));
      row.querySelector('.voice-remove').addEventListener('click', async () => {
        if (await confirmDialog(m('remove-confirm', { name: nameOf(s.id) }))) engine.send({ type: 'remove', singer: s.id });
      });
    }
    row.querySelector('.voice-name').textContent = s.name;
    const volume = row.querySelector('.voice-volume');
    const solo = row.querySelector('.voice-solo');
    volume.setAttribute('aria-label', `${s.name}: ${volume.closest('td').dataset.label}`);
    solo.setAttribute('aria-label', `${s.name}: ${solo.closest('td').dataset.label}`);
    if (document.activeElement !== volume) volume.value = s.mic_volume;
    solo.checked = s.soloed;
    row.querySelector('.voice-remove').hidden = s.id === view.you;
    return row;
  });
  body.replaceChildren(...ordered);
}

// ---- Lyrics and cues --------------------------------------------------------------------------

function sameOrigin(url) {
  try {
    return new URL(url, window.location.href).origin === window.location.origin;
  } catch {
    return false;
  }
}

function setLyrics(text, image) {
  view.lines = (text || '').split(/\r?\n/);
  while (view.lines.length && !view.lines[view.lines.length - 1].trim()) view.lines.pop();
  view.cues = [];
  view.cueLine = -1;
  view.shownLine = -1;
  const list = $('lyrics-lines');
  list.replaceChildren(...view.lines.map((line, i) => {
    const li = document.createElement('li');
    li.textContent = line;
    li.dataset.line = String(i);
    if (!line.trim()) li.className = 'choir-blank';
    return li;
  }));
  const img = $('lyrics-image');
  if (image && sameOrigin(image)) {
    img.src = image;
    img.hidden = false;
  } else {
    img.removeAttribute('src');
    img.hidden = true;
  }
  $('lyrics-empty').hidden = view.lines.length > 0 || !img.hidden;
  if (isLeader()) $('lyrics-text').value = text || '';
}

function renderLyricsControls() {
  $('lyrics-leader').hidden = !isLeader();
}

function highlight(pos) {
  if (pos === null) return;
  let line = -1;
  for (const cue of view.cues) {
    if (cue.at <= pos) line = cue.line;
    else break;
  }
  if (line === view.shownLine) return;
  view.shownLine = line;
  for (const li of $('lyrics-lines').children) {
    if (Number(li.dataset.line) === line) {
      li.setAttribute('aria-current', 'true');
      li.scrollIntoView({ block: 'nearest', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    } else {
      li.removeAttribute('aria-current');
    }
  }
}

function cue(step) {
  if (!isLeader() || !view.lines.length) return;
  let line = view.cueLine;
  do line += step; while (line >= 0 && line < view.lines.length && !view.lines[line].trim());
  if (line < 0 || line >= view.lines.length) return;
  const at = engine.position();
  if (at === null) return;
  view.cueLine = line;
  // What the leader hears now is where everyone else's highlight goes, later.
  engine.send({ type: 'cue', line, at });
}

$('cue-next').addEventListener('click', () => cue(1));
$('cue-prev').addEventListener('click', () => cue(-1));
document.addEventListener('keydown', (e) => {
  if (!isLeader() || typingTarget(e)) return;
  if (e.key === 'ArrowDown' || e.key === 'PageDown') {
    e.preventDefault();
    cue(1);
  } else if (e.key === 'ArrowUp' || e.key === 'PageUp') {
    e.preventDefault();
    cue(-1);
  }
});
$('lyrics-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const image = $('lyrics-image-url').value.trim();
  engine.send({ type: 'lyrics', text: $('lyrics-text').value, image: image || null });
});

// ---- Chat -------------------------------------------------------------------------------------

function addChat(msg) {
  const li = document.createElement('p');
  const mine = msg.from === view.you;
  li.className = mine ? 'choir-chat-mine' : '';
  fill(li, m(mine ? 'chat-you' : 'chat-line'), { name: msg.name, text: msg.text });
  const log = $('chat-log');
  log.append(li);
  while (log.children.length > 200) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text) return;
  if (engine.send({ type: 'chat', text })) $('chat-text').value = '';
});

// ---- The clock of the page -------------------------------------------------------------------

function frame() {
  const pos = engine.position();
  renderCountdowns(pos);
  highlight(pos);
  requestAnimationFrame(frame);
}

// ---- Start --------------------------------------------------------------------------------------

async function start() {
  if (!browserSupported()) {
    problem(m('browser-unsupported'), true);
    return;
  }
  if (!singer) $('mic-modes').hidden = true;
  if (!singer) $('level-row').hidden = true;
  const micDefault = singer ? 'on' : 'off';
  const radio = $(`mic-${micDefault}`);
  if (radio) radio.checked = true;
  try {
    await engine.startAudio();
  } catch (e) {
    problem(m('error', { detail: e?.message || String(e), code: '' }), true);
  }
  setMic(micDefault);
  const soundOff = () => { $('sound-off').hidden = !engine.suspended; };
  soundOff();
  engine.context?.addEventListener('statechange', soundOff);
  $('sound-on').addEventListener('click', async () => {
    await engine.resume();
    soundOff();
  });
  engine.connect();
  requestAnimationFrame(frame);
}

window.addEventListener('pagehide', () => engine.close());
// For the browser tests (and the curious, in the console).
window.tuttiChoir = { engine, view };
start();
