// The call page: one WebSocket to the meeting (signalling, roster, chat, host actions and
// the notes, protocol v1 in crates/meetings/src/protocol.rs) and one RTCPeerConnection to
// the server's SFU. The page publishes its microphone, its camera in two simulcast layers
// (H.264 first, which the server can merge into a recording) and, when shared, a screen;
// it receives everyone else's tracks on transceivers the server offers, and `tracks`
// says whose each one is. When offers cross, the server yields: the page drops the
// server's offer, and the server answers the page's and offers again.

import { messages, fill, show, formatNumber } from './tutti-ui.js';
import { mountNotes } from './meetings-notes.js';

const root = document.getElementById('meeting-call');
const m = messages(root);
const $ = (id) => document.getElementById(id);

const VERSION = 1;
const CHANNEL_NOTES = 0x59; // 'Y'
// Close codes after which reconnecting would not help.
const FINAL = new Map([
  [4001, 'ended'],
  [4003, 'ended-removed'],
  [4004, 'ended-missing'],
  [4009, 'ended-version'],
]);

const state = {
  you: null,
  role: null,
  participants: new Map(), // id → participant
  tracks: new Map(), // mid → {participant, source}
  received: new Map(), // mid → MediaStreamTrack
  speaking: new Set(),
  waiting: [],
  locked: false,
  recording: false,
  iceServers: [],
  audioMuted: false,
  videoMuted: false,
  hand: false,
};

const local = { mic: null, camera: null, screen: null, stream: new MediaStream() };
let socket = null;
let pc = null;
let senders = { mic: null, camera: null, screen: null }; // transceivers
let makingOffer = false;
let retries = 0;
let finished = false;
let notes = null;
let guestToken = null; // a guest's pass, for every reconnect

// ---- Devices and the preview -------------------------------------------------------------

const constraints = () => ({
  audio: { deviceId: $('mic-select').value ? { exact: $('mic-select').value } : undefined, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: { deviceId: $('camera-select').value ? { exact: $('camera-select').value } : undefined, width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } },
});

async function openDevices() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints());
    setLocal('mic', stream.getAudioTracks()[0] || null);
    setLocal('camera', stream.getVideoTracks()[0] || null);
    show($('device-problem'), '');
  } catch (e) {
    // A meeting without a camera or microphone is still a meeting: listen, read, write.
    show($('device-problem'), e.name === 'NotAllowedError' ? m('devices-denied') : m('devices-missing'));
  }
  await listDevices();
}

function setLocal(kind, track) {
  const old = local[kind];
  if (old && old !== track) {
    local.stream.removeTrack(old);
    old.stop();
  }
  local[kind] = track;
  if (track && kind !== 'screen') {
    local.stream.addTrack(track);
    if (kind === 'mic') track.enabled = !state.audioMuted;
    if (kind === 'camera') track.enabled = !state.videoMuted;
  }
  $('preview').srcObject = local.stream;
  if (kind === 'mic') meterOn(track);
  const t = senders[kind];
  if (t) t.sender.replaceTrack(track && (kind !== 'camera' || !state.videoMuted) ? track : null);
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  for (const [select, kind, current] of [
    [$('mic-select'), 'audioinput', local.mic],
    [$('camera-select'), 'videoinput', local.camera],
  ]) {
    const chosen = current?.getSettings().deviceId || select.value;
    select.replaceChildren();
    let n = 0;
    for (const d of devices.filter((d) => d.kind === kind)) {
      n += 1;
      const option = new Option(d.label || m(kind === 'audioinput' ? 'mic-n' : 'camera-n', { n: formatNumber(n) }), d.deviceId);
      option.selected = d.deviceId === chosen;
      select.append(option);
    }
    select.disabled = n === 0;
  }
}

for (const [id, kind] of [['mic-select', 'audio'], ['camera-select', 'video']]) {
  $(id).addEventListener('change', async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints()[kind] });
      setLocal(kind === 'audio' ? 'mic' : 'camera', stream.getTracks()[0]);
    } catch {
      show($('device-problem'), m('devices-failed'));
    }
  });
}
navigator.mediaDevices?.addEventListener('devicechange', listDevices);

// The input level meter: the person sees that their microphone hears them.
let meter = null;
function meterOn(track) {
  meter?.close();
  meter = null;
  if (!track) return;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const data = new Float32Array(analyser.fftSize);
  const bar = $('mic-level');
  const draw = () => {
    if (ctx.state === 'closed') return;
    analyser.getFloatTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v));
    const level = state.audioMuted ? 0 : Math.min(1, peak * 1.5);
    bar.value = level;
    $('tile-you')?.classList.toggle('speaking', level > 0.08);
    requestAnimationFrame(draw);
  };
  draw();
  meter = ctx;
}

// ---- The socket ---------------------------------------------------------------------------

function connect() {
  const url = new URL(root.dataset.socketUrl, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (guestToken) url.searchParams.set('guest', guestToken);
  status('connecting');
  socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => {
    retries = 0;
    send({ type: 'hello', version: VERSION });
  };
  socket.onmessage = (e) => {
    if (typeof e.data === 'string') {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      handle(msg).catch((err) => console.error('meetings: handling', msg.type, err));
    } else {
      const bytes = new Uint8Array(e.data);
      if (bytes[0] === CHANNEL_NOTES) notes?.receive(bytes.subarray(1));
    }
  };
  socket.onclose = (e) => {
    closePeer();
    if (finished) return;
    if (FINAL.has(e.code)) return finish(FINAL.get(e.code));
    retries += 1;
    const wait = Math.min(10000, 500 * 2 ** Math.min(retries, 5));
    status('reconnecting', { seconds: formatNumber(Math.ceil(wait / 1000)) });
    setTimeout(connect, wait);
  };
}

function send(msg) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

function sendNotes(bytes) {
  if (socket?.readyState !== WebSocket.OPEN) return;
  const frame = new Uint8Array(bytes.length + 1);
  frame[0] = CHANNEL_NOTES;
  frame.set(bytes, 1);
  socket.send(frame);
}

function status(name, vars) {
  root.dataset.state = name;
  $('connection').textContent = m(name, vars);
}

function finish(reason) {
  finished = true;
  closePeer();
  for (const t of [local.mic, local.camera, local.screen]) t?.stop();
  meter?.close();
  status(reason);
  $('call-main').hidden = true;
  $('call-waiting').hidden = true;
  $('call-over').hidden = false;
  socket?.close();
}

// ---- Messages from the server ---------------------------------------------------------------

async function handle(msg) {
  switch (msg.type) {
    case 'waiting':
      status('waiting');
      $('call-setup').hidden = true;
      $('call-waiting').hidden = false;
      break;
    case 'admitted':
      $('call-waiting').hidden = true;
      break;
    case 'welcome':
      state.you = msg.you;
      state.role = msg.role;
      state.iceServers = msg.ice_servers || [];
      root.dataset.role = msg.role;
      setLocked(msg.locked);
      setRecording(msg.recording);
      status('connected');
      $('call-setup').hidden = true;
      $('call-waiting').hidden = true;
      $('call-main').hidden = false;
      startNotes();
      openPeer();
      sendMedia();
      break;
    case 'roster':
      state.participants = new Map(msg.participants.map((p) => [p.id, p]));
      drawAll();
      break;
    case 'joined':
    case 'participant':
      state.participants.set(msg.participant.id, msg.participant);
      if (msg.participant.id === state.you) state.hand = msg.participant.hand;
      drawAll();
      break;
    case 'left':
      state.participants.delete(msg.id);
      drawAll();
      break;
    case 'speaking':
      state.speaking = new Set(msg.ids);
      for (const tile of $('grid').children) tile.classList.toggle('speaking', state.speaking.has(Number(tile.dataset.participant)));
      break;
    case 'offer':
      await onOffer(msg.sdp);
      break;
    case 'answer':
      if (pc && pc.signalingState === 'have-local-offer') await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      sendMedia();
      break;
    case 'candidate':
      if (pc && msg.candidate) await pc.addIceCandidate({ candidate: msg.candidate, sdpMLineIndex: 0 }).catch(() => {});
      break;
    case 'tracks':
      state.tracks = new Map(msg.tracks.map((t) => [t.mid, t]));
      drawAll();
      break;
    case 'chat_history':
      $('chat-lines').replaceChildren();
      msg.lines.forEach(chatLine);
      break;
    case 'chat':
      chatLine(msg.line);
      break;
    case 'lobby':
      state.waiting = msg.waiting;
      drawLobby();
      break;
    case 'locked':
      setLocked(msg.locked);
      break;
    case 'recording':
      setRecording(msg.on);
      break;
    case 'muted':
      state.audioMuted = true;
      if (local.mic) local.mic.enabled = false;
      drawControls();
      notice(m('muted-by-host'));
      break;
    case 'removed':
      finish('ended-removed');
      break;
    case 'ended':
      finish('ended');
      break;
    case 'error':
      notice(m('error', { detail: msg.message }), 'danger');
      break;
  }
}

let noticeTimer = null;
function notice(text, kind = '') {
  const el = $('call-notice');
  el.className = `notice ${kind}`.trim();
  show(el, text);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => show(el, ''), 10000);
}

function setLocked(on) {
  state.locked = on;
  $('lock').setAttribute('aria-pressed', String(on));
  $('lock').textContent = m(on ? 'unlock' : 'lock');
  show($('locked-badge'), on ? m('locked') : '');
}

function setRecording(on) {
  state.recording = on;
  // Everyone, guests included, sees that the meeting is being recorded.
  show($('recording-badge'), on ? m('recording-on') : '');
  $('record').setAttribute('aria-pressed', String(on));
  $('record').textContent = m(on ? 'record-stop' : 'record-start');
}

// ---- The peer connection ------------------------------------------------------------------

function preferH264(transceiver) {
  const caps = RTCRtpReceiver.getCapabilities?.('video');
  if (!caps || !transceiver.setCodecPreferences) return;
  const rank = (c) => {
    const f = c.sdpFmtpLine || '';
    if (c.mimeType === 'video/H264' && /profile-level-id=42e01f/i.test(f) && /packetization-mode=1/.test(f)) return 0;
    if (c.mimeType === 'video/H264') return 1;
    if (c.mimeType === 'video/VP8') return 2;
    return 3;
  };
  try {
    transceiver.setCodecPreferences([...caps.codecs].sort((a, b) => rank(a) - rank(b)));
  } catch {
    // A browser that refuses the order still negotiates one the server takes.
  }
}

function openPeer() {
  closePeer();
  pc = new RTCPeerConnection({ iceServers: state.iceServers, bundlePolicy: 'max-bundle' });
  pc.onicecandidate = (e) => send({ type: 'candidate', candidate: e.candidate ? e.candidate.candidate : '' });
  pc.ontrack = (e) => {
    state.received.set(e.transceiver.mid, e.track);
    e.track.onunmute = drawAll;
    drawAll();
  };
  pc.onnegotiationneeded = negotiate;
  pc.oniceconnectionstatechange = () => {
    // A changed network (Wi-Fi to mobile): new ICE credentials over the same socket.
    if (pc?.iceConnectionState === 'failed') pc.restartIce();
  };
  senders.mic = pc.addTransceiver(local.mic || 'audio', { direction: 'sendonly', streams: [local.stream] });
  senders.camera = pc.addTransceiver(state.videoMuted ? 'video' : local.camera || 'video', {
    direction: 'sendonly',
    streams: [local.stream],
    sendEncodings: [
      { rid: 'h', maxBitrate: 900_000 },
      { rid: 'l', maxBitrate: 150_000, scaleResolutionDownBy: 2 },
    ],
  });
  preferH264(senders.camera);
  if (local.screen) addScreen();
  window.meetingCall.pc = pc;
}

function closePeer() {
  if (!pc) return;
  pc.onnegotiationneeded = null;
  pc.close();
  pc = null;
  senders = { mic: null, camera: null, screen: null };
  state.received.clear();
  state.tracks.clear();
}

async function negotiate() {
  if (!pc) return;
  try {
    makingOffer = true;
    await pc.setLocalDescription();
    send({ type: 'offer', sdp: pc.localDescription.sdp });
  } catch (e) {
    console.error('meetings: offer', e);
  } finally {
    makingOffer = false;
  }
}

async function onOffer(sdp) {
  if (!pc) return;
  // Crossed offers: the SFU yields (it answers ours and offers again afterwards), so
  // its offer is dropped here.
  if (makingOffer || pc.signalingState !== 'stable') return;
  await pc.setRemoteDescription({ type: 'offer', sdp });
  await pc.setLocalDescription();
  send({ type: 'answer', sdp: pc.localDescription.sdp });
}

/** Tells the server what each of our `mid`s carries and what is muted. */
function sendMedia() {
  const sources = [];
  for (const [kind, source] of [['mic', 'microphone'], ['camera', 'camera'], ['screen', 'screen']]) {
    const mid = senders[kind]?.mid;
    if (mid != null) sources.push({ mid, source });
  }
  send({ type: 'media', audio_muted: state.audioMuted, video_muted: state.videoMuted, sources });
}

function addScreen() {
  senders.screen = pc.addTransceiver(local.screen, { direction: 'sendonly' });
  preferH264(senders.screen);
}

// ---- What the person does -----------------------------------------------------------------

$('mute').addEventListener('click', () => {
  state.audioMuted = !state.audioMuted;
  if (local.mic) local.mic.enabled = !state.audioMuted;
  sendMedia();
  drawControls();
});

$('camera').addEventListener('click', () => {
  state.videoMuted = !state.videoMuted;
  if (local.camera) local.camera.enabled = !state.videoMuted;
  // Off means nothing is sent, not black frames.
  senders.camera?.sender.replaceTrack(state.videoMuted ? null : local.camera);
  sendMedia();
  drawControls();
});

$('screen').addEventListener('click', async () => {
  if (local.screen) return stopScreen();
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    local.screen = stream.getVideoTracks()[0];
    local.screen.onended = stopScreen;
    if (pc) addScreen();
    drawControls();
    drawAll();
  } catch {
    notice(m('screen-failed'));
  }
});

function stopScreen() {
  local.screen?.stop();
  local.screen = null;
  if (senders.screen && pc) {
    senders.screen.sender.replaceTrack(null);
    senders.screen.direction = 'inactive';
  }
  senders.screen = null;
  sendMedia();
  drawControls();
  drawAll();
}

$('hand').addEventListener('click', () => {
  state.hand = !state.hand;
  send({ type: 'hand', raised: state.hand });
  drawControls();
});

$('leave').addEventListener('click', () => {
  finish('left');
});

$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text) return;
  send({ type: 'chat', text });
  $('chat-text').value = '';
});

$('lock').addEventListener('click', () => send({ type: 'lock', locked: !state.locked }));
$('record').addEventListener('click', () => send({ type: 'record', on: !state.recording }));
$('end').addEventListener('click', () => {
  if (confirm(m('end-confirm'))) send({ type: 'end' });
});
$('admit-all').addEventListener('click', () => send({ type: 'admit' }));

$('join').addEventListener('click', async () => {
  if (root.dataset.guestsUrl) {
    const name = $('guest-name').value.trim();
    if (!name) {
      $('guest-name').setCustomValidity(m('name-needed'));
      $('guest-name').reportValidity();
      return;
    }
    $('join').disabled = true;
    const pass = await guestPass(name);
    $('join').disabled = false;
    if (!pass) return;
    guestToken = pass.token;
  }
  $('join').disabled = true;
  connect();
});

/** A guest's pass for this meeting's socket (the server checks that guests may come). */
async function guestPass(name) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (root.dataset.csrf) headers['x-csrf-token'] = root.dataset.csrf;
  let response;
  try {
    response = await fetch(root.dataset.guestsUrl, {
      method: 'POST', headers, body: JSON.stringify({ name }), credentials: 'same-origin',
    });
  } catch {
    show($('device-problem'), m('network'));
    return null;
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    show($('device-problem'), m('error', { detail: data?.detail || response.statusText }));
    return null;
  }
  return data;
}
$('guest-name')?.addEventListener('input', () => $('guest-name').setCustomValidity(''));

function drawControls() {
  for (const [id, on, onText, offText] of [
    ['mute', state.audioMuted, 'unmute', 'mute'],
    ['camera', state.videoMuted, 'camera-on', 'camera-off'],
    ['screen', Boolean(local.screen), 'screen-stop', 'screen-share'],
    ['hand', state.hand, 'hand-lower', 'hand-raise'],
  ]) {
    $(id).setAttribute('aria-pressed', String(on));
    $(id).textContent = m(on ? onText : offText);
  }
}

// ---- Drawing ------------------------------------------------------------------------------

function drawAll() {
  drawGrid();
  drawRoster();
}

/** Tiles: you, everyone else with their camera, and each shared screen. */
function drawGrid() {
  const grid = $('grid');
  const wanted = [];
  wanted.push({ key: 'you', participant: state.you, name: m('you'), video: state.videoMuted ? null : local.camera, self: true });
  if (local.screen) wanted.push({ key: 'you-screen', participant: state.you, name: m('your-screen'), video: local.screen, screen: true, self: true });
  const byParticipant = new Map();
  for (const [mid, t] of state.tracks) {
    const track = state.received.get(mid);
    if (!track) continue;
    const entry = byParticipant.get(t.participant) || {};
    if (t.source === 'microphone') entry.audio = track;
    else if (t.source === 'camera') entry.video = track;
    else if (t.source === 'screen') entry.screen = track;
    byParticipant.set(t.participant, entry);
  }
  for (const [id, p] of state.participants) {
    if (id === state.you) continue;
    const media = byParticipant.get(id) || {};
    wanted.push({ key: `p${id}`, participant: id, name: p.name, video: p.video_muted ? null : media.video, audio: media.audio, p });
    if (media.screen) wanted.push({ key: `s${id}`, participant: id, name: m('screen-of', { name: p.name }), video: media.screen, screen: true });
  }
  const keep = new Set(wanted.map((w) => w.key));
  for (const tile of [...grid.children]) if (!keep.has(tile.dataset.key)) tile.remove();
  wanted.forEach((w, i) => {
    let tile = grid.querySelector(`[data-key="${w.key}"]`);
    if (!tile) {
      tile = $('tile-template').content.firstElementChild.cloneNode(true);
      tile.dataset.key = w.key;
      if (w.key === 'you') tile.id = 'tile-you';
      tile.querySelector('video').muted = true; // sound plays through the tile's own <audio>
    }
    tile.dataset.participant = String(w.participant ?? '');
    tile.classList.toggle('screen', Boolean(w.screen));
    tile.classList.toggle('speaking', state.speaking.has(w.participant) && !w.self);
    const video = tile.querySelector('video');
    const stream = w.video ? new MediaStream([w.video]) : null;
    if ((video.srcObject?.getTracks()[0] || null) !== (w.video || null)) video.srcObject = stream;
    tile.classList.toggle('no-video', !w.video);
    const audio = tile.querySelector('audio');
    if (!w.self && (audio.srcObject?.getTracks()[0] || null) !== (w.audio || null)) {
      audio.srcObject = w.audio ? new MediaStream([w.audio]) : null;
      audio.play?.().catch(() => show($('sound-off'), m('sound-off')));
    }
    fill(tile.querySelector('.tile-name'), '{name}', { name: w.name });
    const badges = [];
    if (w.p?.audio_muted) badges.push(m('badge-muted'));
    if (w.p?.hand) badges.push(m('badge-hand'));
    if (w.self && state.audioMuted) badges.push(m('badge-muted'));
    if (w.self && state.hand) badges.push(m('badge-hand'));
    tile.querySelector('.tile-badges').textContent = badges.join(' · ');
    tile.querySelector('.tile-initial').textContent = (w.name || '?').trim().charAt(0).toUpperCase();
    if (grid.children[i] !== tile) grid.insertBefore(tile, grid.children[i] || null);
  });
  // Columns for 1 to 12 tiles (and more): as square a grid as the count allows.
  grid.dataset.count = String(wanted.length);
  grid.style.setProperty('--columns', String(Math.ceil(Math.sqrt(wanted.length))));
}

function drawRoster() {
  const list = $('roster');
  list.replaceChildren();
  const host = state.role === 'host';
  const people = [...state.participants.values()].sort((a, b) => Number(b.hand) - Number(a.hand) || a.name.localeCompare(b.name));
  $('roster-count').textContent = formatNumber(people.length);
  for (const p of people) {
    const li = $('roster-template').content.firstElementChild.cloneNode(true);
    li.dataset.participant = String(p.id);
    fill(li.querySelector('.roster-name'), p.id === state.you ? m('you-named', { name: p.name }) : '{name}', { name: p.name });
    const states = [];
    if (p.role === 'host') states.push(m('badge-host'));
    if (p.role === 'guest') states.push(m('badge-guest'));
    states.push(m(p.audio_muted ? 'badge-muted' : 'badge-mic-on'));
    if (p.video_muted) states.push(m('badge-camera-off'));
    if (p.screen) states.push(m('badge-screen'));
    if (p.hand) states.push(m('badge-hand'));
    li.querySelector('.roster-state').textContent = states.join(' · ');
    const mute = li.querySelector('.roster-mute');
    const remove = li.querySelector('.roster-remove');
    const mine = p.id === state.you;
    mute.hidden = !host || mine || p.audio_muted;
    remove.hidden = !host || mine;
    mute.setAttribute('aria-label', m('mute-someone', { name: p.name }));
    remove.setAttribute('aria-label', m('remove-someone', { name: p.name }));
    mute.onclick = () => send({ type: 'mute', participant: p.id });
    remove.onclick = () => {
      if (confirm(m('remove-confirm', { name: p.name }))) send({ type: 'remove', participant: p.id });
    };
    list.append(li);
  }
}

function drawLobby() {
  const section = $('lobby');
  section.hidden = state.role !== 'host' || state.waiting.length === 0;
  const list = $('lobby-list');
  list.replaceChildren();
  for (const w of state.waiting) {
    const li = document.createElement('li');
    const name = document.createElement('bdi');
    name.textContent = w.name;
    const admit = document.createElement('button');
    admit.type = 'button';
    admit.className = 'secondary';
    admit.textContent = m('admit');
    admit.setAttribute('aria-label', m('admit-someone', { name: w.name }));
    admit.onclick = () => send({ type: 'admit', participant: w.id });
    li.append(name, ' ', admit);
    list.append(li);
  }
  if (state.waiting.length && state.role === 'host') notice(m('someone-waiting', { n: formatNumber(state.waiting.length) }));
}

const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { hour: 'numeric', minute: '2-digit' });

function chatLine(line) {
  const li = document.createElement('li');
  const time = document.createElement('time');
  time.dateTime = line.at;
  time.textContent = timeFormat.format(new Date(line.at));
  const text = document.createElement('span');
  fill(text, m('chat-line'), { name: line.name, text: line.text });
  li.append(time, ' ', text);
  const lines = $('chat-lines');
  lines.append(li);
  lines.scrollTop = lines.scrollHeight;
}

// ---- Notes --------------------------------------------------------------------------------

const colors = ['#b3261e', '#006a6a', '#6b4ea2', '#8a5100', '#1b6e1b', '#0b57d0'];

function startNotes() {
  if (notes) {
    // Reconnected: the same document syncs again with the server.
    notes.resync();
    return;
  }
  const name = root.dataset.guestsUrl ? $('guest-name').value.trim() : root.dataset.name;
  notes = mountNotes($('notes-editor'), {
    send: sendNotes,
    name,
    color: colors[Math.floor(Math.random() * colors.length)],
    labels: JSON.parse(root.dataset.notesLabels || '{}'),
  });
}

// ---- Start --------------------------------------------------------------------------------

window.meetingCall = { pc: null, state };
drawControls();
if (!navigator.mediaDevices || !window.RTCPeerConnection) {
  show($('device-problem'), m('browser-unsupported'));
} else {
  openDevices();
}
