// The join page: one step at a time (you, latency, volume, ready), then into the room.
// What it learns (name, part, latency, input gain, seat, a guest token) goes to
// sessionStorage for the room page, which sends people back here when it is missing or
// older than 30 minutes.

import { messages, show, formatNumber, loadPlace, savePlace, newSeat } from './choir-ui.js';
import { openContext, openMic, micProblem, browserSupported, stopStream } from './choir-audio.js';
import { LatencyCalibration, VolumeCalibration, LATENCY_TIMEOUT_MS, drawHits } from './choir-calibrate.js';

const root = document.getElementById('choir-join');
const m = messages(root);
const $ = (id) => document.getElementById(id);
const room = root.dataset.room;
const state = {
  name: '',
  part: 'singer',
  latency: null, // 48 kHz samples
  gain: 1,
  token: null,
  socketUrl: null,
};
let audio = null; // { context, stream } while calibrating

const STEPS = ['you', 'latency', 'volume', 'ready'];

function go(step) {
  for (const s of STEPS) {
    const section = $(`step-${s}`);
    if (section) section.hidden = s !== step;
  }
  for (const li of root.querySelectorAll('.choir-steps li')) {
    const i = STEPS.indexOf(li.dataset.step);
    if (li.dataset.step === step) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
    li.dataset.done = String(i < STEPS.indexOf(step));
    // A listener skips the calibrations; the list shows it.
    li.dataset.skipped = String(state.part === 'listener' && (li.dataset.step === 'latency' || li.dataset.step === 'volume'));
  }
  const heading = $(`step-${step}-title`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
  if (step === 'ready') fillSummary();
}

// ---- Step 1: who, how, and the guest pass -------------------------------------------------

async function guestPass(name, password) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (root.dataset.csrf) headers['x-csrf-token'] = root.dataset.csrf;
  const body = { name };
  if (password) body.password = password;
  let response;
  try {
    response = await fetch(root.dataset.guestsUrl, {
      method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin',
    });
  } catch {
    return { problem: { detail: m('error-network') } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) return { problem: data || { detail: m('error-generic') } };
  return { pass: data };
}

function fieldError(field, text) {
  const input = $(`join-${field}`);
  const error = $(`join-${field}-error`);
  if (!input || !error) return false;
  show(error, text);
  if (text) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', `join-${field}-error join-${field}-hint`);
    input.focus();
  } else {
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', `join-${field}-hint`);
  }
  return true;
}

async function submitYou(event) {
  event.preventDefault();
  const form = event.target;
  const button = $('you-next');
  show($('you-error'), '');
  fieldError('name', '');
  fieldError('password', '');
  const name = form.elements.name.value.trim();
  if (!name) {
    fieldError('name', m('name-missing'));
    return;
  }
  state.name = name;
  state.part = form.elements.part.value === 'listener' ? 'listener' : 'singer';
  if (root.dataset.needsGuest === 'true') {
    button.disabled = true;
    const { pass, problem } = await guestPass(name, form.elements.password?.value || '');
    button.disabled = false;
    if (problem) {
      // A problem about a field (the password's 403, the name's 422) goes next to it;
      // anything else above the button.
      const field = problem.field === 'name' || problem.field === 'password' ? problem.field : null;
      if (!(field && fieldError(field, problem.detail || m('error-generic')))) show($('you-error'), problem.detail || m('error-generic'));
      return;
    }
    state.token = pass.token;
    state.socketUrl = pass.socket_url || null;
  }
  go(state.part === 'singer' ? 'latency' : 'ready');
}

// ---- Step 2: latency ----------------------------------------------------------------------

async function ensureAudio() {
  if (audio) return audio;
  const context = openContext();
  await context.resume();
  let stream;
  try {
    stream = await openMic();
  } catch (e) {
    context.close();
    throw e;
  }
  audio = { context, stream };
  return audio;
}

function micError(el, e) {
  const name = micProblem(e);
  show(el, m(name, { detail: e?.message || String(e) }));
}

let latency = null;
let latencyTimer = null;

async function startLatency() {
  show($('latency-error'), '');
  $('latency-result').hidden = true;
  $('latency-next').hidden = true;
  $('latency-listen').hidden = true;
  $('latency-start').disabled = true;
  let a;
  try {
    a = await ensureAudio();
  } catch (e) {
    micError($('latency-error'), e);
    $('latency-start').disabled = false;
    $('latency-listen').hidden = false;
    return;
  }
  latency = new LatencyCalibration(a.context, a.stream, Number($('click-volume').value));
  const began = performance.now();
  latencyTimer = setInterval(() => {
    $('latency-time').value = Math.min(LATENCY_TIMEOUT_MS, performance.now() - began) / 1000;
  }, 200);
  latency.addEventListener('level', (e) => { $('latency-level').value = Math.min(1, e.detail.peak); });
  latency.addEventListener('hit', (e) => {
    const { hits, spread } = e.detail;
    drawHits($('latency-chart'), hits);
    const text = spread === null
      ? m('latency-hits', { n: formatNumber(hits.length) })
      : m('latency-spread', { n: formatNumber(hits.length), spread: formatNumber(spread, { maximumFractionDigits: 1 }) });
    $('latency-progress').textContent = text;
  });
  latency.addEventListener('done', (e) => {
    clearInterval(latencyTimer);
    state.latency = e.detail.wire;
    drawHits($('latency-chart'), e.detail.hits);
    show($('latency-result'), m('latency-done', { ms: formatNumber(e.detail.ms, { maximumFractionDigits: 1 }) }));
    $('latency-result').className = 'notice success';
    $('latency-start').disabled = false;
    $('latency-start').textContent = m('latency-again');
    $('latency-start').classList.add('secondary');
    $('latency-next').hidden = false;
    $('latency-next').focus();
  });
  latency.addEventListener('failed', () => {
    clearInterval(latencyTimer);
    show($('latency-result'), m('latency-failed'));
    $('latency-result').className = 'notice warning';
    $('latency-start').disabled = false;
    $('latency-listen').hidden = false;
  });
  $('latency-progress').textContent = m('latency-hits', { n: formatNumber(0) });
  await latency.start();
}

function listenInstead() {
  latency?.stop();
  clearInterval(latencyTimer);
  state.part = 'listener';
  state.latency = null;
  releaseAudio();
  go('ready');
}

// ---- Step 3: volume -----------------------------------------------------------------------

async function startVolume() {
  show($('volume-error'), '');
  $('volume-start').disabled = true;
  $('volume-next').hidden = true;
  let a;
  try {
    a = await ensureAudio();
  } catch (e) {
    micError($('volume-error'), e);
    $('volume-start').disabled = false;
    return;
  }
  const volume = new VolumeCalibration(a.context, a.stream);
  volume.addEventListener('level', (e) => { $('volume-level').value = Math.min(1, e.detail.peak); });
  volume.addEventListener('progress', (e) => {
    $('volume-time').value = e.detail.fraction;
    const left = Math.ceil((1 - e.detail.fraction) * 5);
    $('volume-status').textContent = m('volume-singing', { seconds: formatNumber(left) });
  });
  volume.addEventListener('done', (e) => {
    state.gain = e.detail.gain;
    $('volume-status').textContent = m('volume-done', { gain: formatNumber(e.detail.gain, { maximumFractionDigits: 2 }) });
    $('volume-start').disabled = false;
    $('volume-start').classList.add('secondary');
    $('volume-start').textContent = m('volume-again');
    $('volume-next').hidden = false;
    $('volume-next').focus();
  });
  volume.addEventListener('quiet', () => {
    $('volume-status').textContent = '';
    show($('volume-error'), m('volume-quiet'));
    $('volume-start').disabled = false;
  });
  await volume.start();
}

// ---- Step 4: ready --------------------------------------------------------------------------

function fillSummary() {
  $('summary-name').textContent = state.name;
  $('summary-part').textContent = m(state.part === 'singer' ? 'part-singer' : 'part-listener');
  const singer = state.part === 'singer';
  $('summary-latency').textContent = singer && state.latency !== null
    ? m('summary-latency', { ms: formatNumber((state.latency / 48), { maximumFractionDigits: 1 }), n: formatNumber(state.latency) })
    : m('summary-none');
  $('summary-gain').textContent = singer ? m('summary-gain', { gain: formatNumber(state.gain, { maximumFractionDigits: 2 }) }) : m('summary-none');
}

function releaseAudio() {
  if (!audio) return;
  stopStream(audio.stream);
  audio.context.close();
  audio = null;
}

function enter() {
  const old = loadPlace(room, { any: true });
  savePlace(room, {
    name: state.name,
    part: state.part,
    latency: state.part === 'singer' ? state.latency : null,
    gain: state.part === 'singer' ? state.gain : 1,
    // The seat outlives recalibration: the same seat brings back the same place.
    seat: old?.seat || newSeat(),
    token: state.token,
    socketUrl: state.socketUrl,
  });
  releaseAudio();
  $('enter-room').disabled = true;
  $('enter-room').textContent = m('starting');
  window.location.assign(root.dataset.roomUrl);
}

// ---- Wiring -------------------------------------------------------------------------------

if (!browserSupported()) {
  show($('join-unsupported'), m('browser-unsupported'));
}
const form = $('you-form');
if (form) {
  const old = loadPlace(room, { any: true });
  if (old?.name && !form.elements.name.value) form.elements.name.value = old.name;
  if (old?.part === 'listener') $('part-listener').checked = true;
  form.addEventListener('submit', submitYou);
  $('latency-start').addEventListener('click', startLatency);
  $('click-volume').addEventListener('input', (e) => latency?.setVolume(Number(e.target.value)));
  $('latency-next').addEventListener('click', () => go('volume'));
  $('latency-listen').addEventListener('click', listenInstead);
  $('volume-start').addEventListener('click', startVolume);
  $('volume-next').addEventListener('click', () => { releaseAudio(); go('ready'); });
  $('enter-room').addEventListener('click', enter);
  $('start-over').addEventListener('click', () => { releaseAudio(); go('you'); });
  window.addEventListener('pagehide', releaseAudio);
}
