// Clip recording (clip.html): one sentence, and its label ("Read this as: joy"), at a
// time. One take is one session: Record creates it and streams the take's chunks; Stop
// ends the take, Listen plays it back from memory, Re-record deletes the session and
// records a new one, Submit posts the one segment (the take's length) and ends the
// session once everything is saved, then asks the server every second for its verdict.
// Skip asks for another sentence; Report sends a reason, then skips.

import { api, csrfOf } from './recital-api.js';
import { LiveWarnings, clearLevel, showLevel } from './recital-meter.js';
import {
  Microphone, PartRecorder, ScreenLock, micErrorKind, recordingSupported, showUploadStatus,
  updateRecord, uploader,
} from './recital-recorder.js';
import {
  fill, formatBytes, formatDuration, messages, problemText, rawMessage, show,
} from './recital-ui.js';

const MAX_TAKE_MS = 60000;
const POLL_MS = 1000;
const POLL_MAX = 180;
// The server reads one `skip` (the sentence just passed over); set this to send every
// sentence skipped on this visit once it reads the parameter repeated.
const SEND_ALL_SKIPS = false;

const root = document.getElementById('clip');
if (root) main(root);

function main(page) {
  const m = messages(page);
  const csrf = csrfOf(page);
  const slug = page.dataset.campaign;
  const $ = (id) => document.getElementById(id);
  const els = {
    prompt: $('clip-prompt'),
    label: $('clip-label'),
    text: $('clip-text'),
    empty: $('clip-empty'),
    record: $('clip-record'),
    stop: $('clip-stop'),
    listen: $('clip-listen'),
    rerecord: $('clip-rerecord'),
    submit: $('clip-submit'),
    skip: $('clip-skip'),
    reportOpen: $('clip-report-open'),
    level: $('clip-level'),
    state: $('clip-state'),
    live: $('clip-live'),
    warning: $('clip-warning'),
    error: $('clip-error'),
    upload: $('clip-upload'),
    audio: $('clip-audio'),
    verdict: $('clip-verdict'),
    verdictText: $('clip-verdict-text'),
    problems: $('clip-problems'),
    redo: $('clip-redo'),
    nextPrompt: $('clip-next'),
    reportForm: $('report-form'),
    reportError: $('report-error'),
    reportCancel: $('report-cancel'),
    reportSend: $('report-send'),
  };

  let prompt = readPrompt();
  let state = prompt ? 'ready' : 'empty';
  let mic = null;
  let part = null;
  let sessionId = null;
  let takeMs = 0;
  let audioUrl = null;
  let clock = null;
  let poll = null;
  const skipped = [];
  const warnings = new LiveWarnings();
  const screen = new ScreenLock();

  uploader.addEventListener('status', (event) => {
    showUploadStatus(els.upload, event.detail, m, { formatBytes, problemText });
  });
  uploader.start(csrf);

  if (!recordingSupported()) show(els.error, m('mic-unsupported'));

  function readPrompt() {
    const d = els.prompt?.dataset;
    if (!d || !d.sentence) return null;
    return {
      sentence_id: d.sentence,
      document_id: d.document,
      label: d.label || null,
      text: els.text.textContent,
      language: els.text.lang,
      dir: els.text.dir,
    };
  }

  function renderPrompt() {
    if (!prompt) {
      els.prompt.hidden = true;
      els.empty.hidden = false;
      return;
    }
    els.empty.hidden = true;
    els.prompt.hidden = false;
    els.prompt.dataset.sentence = prompt.sentence_id;
    els.prompt.dataset.document = prompt.document_id;
    els.prompt.dataset.label = prompt.label || '';
    els.text.textContent = prompt.text;
    if (prompt.language) els.text.lang = prompt.language;
    if (prompt.dir) els.text.dir = prompt.dir;
    if (prompt.label) {
      fill(els.label, rawMessage(page, 'clip-label'), { label: prompt.label });
      els.label.hidden = false;
    } else {
      els.label.hidden = true;
    }
  }

  function setState(next) {
    state = next;
    page.dataset.state = next;
    const has = Boolean(prompt);
    const can = recordingSupported();
    els.record.hidden = !(next === 'ready' || next === 'starting');
    els.record.disabled = next !== 'ready' || !can;
    els.stop.hidden = next !== 'recording';
    els.listen.hidden = next !== 'recorded';
    els.rerecord.hidden = next !== 'recorded';
    els.submit.hidden = next !== 'recorded';
    for (const b of [els.listen, els.rerecord, els.submit]) b.disabled = next !== 'recorded';
    const idle = next === 'ready' || next === 'recorded' || next === 'verdict';
    els.skip.hidden = !has || next === 'empty';
    els.reportOpen.hidden = !has || next === 'empty';
    els.skip.disabled = !idle;
    els.reportOpen.disabled = !idle;
    els.verdict.hidden = next !== 'verdict';
    if (next !== 'recording') clearLevel(els.level);
    if (next === 'empty') renderPrompt();
    renderState();
  }

  function renderState() {
    let text = '';
    switch (state) {
      case 'ready': text = m('clip-state-ready'); break;
      case 'starting': text = m('state-starting'); break;
      case 'recording': text = m('state-recording', { time: formatDuration(part ? part.positionMs() : 0) }); break;
      case 'recorded': text = m('clip-state-recorded', { time: formatDuration(takeMs) }); break;
      case 'submitting': text = m('still-saving'); break;
      case 'checking': text = m('clip-checking'); break;
      case 'loading': text = m('loading'); break;
      default: text = '';
    }
    els.state.textContent = text;
  }

  function announce(text) {
    els.live.textContent = '';
    setTimeout(() => { els.live.textContent = text; }, 50);
  }

  warnings.addEventListener('change', (event) => {
    const kind = event.detail.kind;
    els.warning.dataset.kind = kind || '';
    show(els.warning, kind ? m(`warn-${kind}`) : '');
  });

  function forgetTake() {
    if (audioUrl) URL.revokeObjectURL(audioUrl);
    audioUrl = null;
    els.audio.removeAttribute('src');
    els.audio.load();
    takeMs = 0;
  }

  /** Deletes the take that was recorded but not submitted. */
  function discardTake() {
    if (sessionId && state === 'recorded') uploader.discard(sessionId).catch(() => {});
    sessionId = null;
    forgetTake();
  }

  async function record() {
    if (!prompt || !(state === 'ready' || state === 'verdict' || state === 'recorded')) return;
    show(els.error, '');
    if (state === 'recorded') discardTake();
    else forgetTake();
    setState('starting');
    try {
      mic = await Microphone.open({ meter: true });
    } catch (error) {
      show(els.error, m(`mic-${micErrorKind(error)}`, { detail: error?.message || String(error) }));
      setState('ready');
      return;
    }
    mic.meter.addEventListener('level', (event) => {
      if (state !== 'recording') return;
      showLevel(els.level, event.detail);
      warnings.add(event.detail);
    });
    mic.addEventListener('interrupted', () => { if (state === 'recording') stopTake(); });
    try {
      const body = { document_id: prompt.document_id, sentence_id: prompt.sentence_id };
      if (prompt.label) body.label = prompt.label;
      const session = await api('/sessions', { method: 'POST', body, csrf });
      sessionId = session.id;
      updateRecord(sessionId, (r) => {
        r.kind = 'clip';
        r.campaign = slug;
        r.sentence_id = prompt.sentence_id;
      });
      part = new PartRecorder({ mic, sessionId, keepBlobs: true });
      part.addEventListener('interrupted', () => { if (state === 'recording') stopTake(); });
      part.addEventListener('failure', (event) => show(els.error, m('error-recorder', { detail: event.detail?.message || String(event.detail) })));
      await part.start();
    } catch (error) {
      mic.close();
      mic = null;
      part = null;
      show(els.error, problemText(m, error));
      setState('ready');
      return;
    }
    warnings.reset();
    screen.acquire();
    setState('recording');
    announce(m('announce-started'));
    els.stop.focus();
    clearInterval(clock);
    clock = setInterval(() => {
      renderState();
      if (part && part.positionMs() >= MAX_TAKE_MS) stopTake();
    }, 250);
  }

  async function stopTake() {
    if (state !== 'recording') return;
    setState('stopping');
    clearInterval(clock);
    screen.release();
    warnings.reset();
    const current = part;
    part = null;
    takeMs = await current.stop();
    mic?.close();
    mic = null;
    audioUrl = URL.createObjectURL(current.blob());
    els.audio.src = audioUrl;
    setState('recorded');
    announce(els.state.textContent);
    els.listen.focus();
  }

  function listen() {
    if (!audioUrl) return;
    els.audio.currentTime = 0;
    els.audio.play().catch(() => {});
  }

  async function submit() {
    if (state !== 'recorded' || !sessionId) return;
    els.audio.pause();
    const id = sessionId;
    setState('submitting');
    uploader.segments(id, [{ sentence_id: prompt.sentence_id, end_ms: takeMs }]);
    try {
      await uploader.end(id, true);
    } catch (error) {
      show(els.error, problemText(m, error));
      setState('recorded');
      return;
    }
    sessionId = null;
    setState('checking');
    announce(m('clip-checking'));
    check(id, 0);
  }

  async function check(id, tries) {
    clearTimeout(poll);
    let session = null;
    try {
      session = await api(`/sessions/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!error.network && error.status !== 429 && error.status < 500) {
        verdict({ error: problemText(m, error) });
        return;
      }
    }
    if (session) {
      // A failed processing is tried again by the server: say so, and keep asking.
      show(els.error, session.error ? m('clip-failed', { detail: session.error }) : '');
      if (session.state === 'processed' || session.state === 'published') {
        verdict({ session });
        return;
      }
      if (session.state === 'discarded') {
        verdict({ error: m('clip-discarded') });
        return;
      }
    }
    if (tries + 1 >= POLL_MAX) {
      verdict({ error: m('clip-slow') });
      return;
    }
    poll = setTimeout(() => check(id, tries + 1), POLL_MS);
  }

  function verdict({ session, error }) {
    show(els.error, '');
    els.problems.replaceChildren();
    const v = session?.verdict;
    let ok = false;
    if (error) {
      els.verdict.dataset.ok = 'error';
      els.verdictText.textContent = m('clip-failed', { detail: error });
    } else if (!v || v.ok) {
      ok = true;
      els.verdict.dataset.ok = 'true';
      els.verdictText.textContent = m('verdict-ok');
    } else {
      els.verdict.dataset.ok = 'false';
      els.verdictText.textContent = m('verdict-bad');
      for (const problem of v.problems || []) {
        const li = document.createElement('li');
        li.dataset.kind = problem.kind;
        li.textContent = m.has(`problem-${problem.kind}`) ? m(`problem-${problem.kind}`) : (problem.detail || problem.kind);
        els.problems.append(li);
      }
    }
    els.problems.hidden = !els.problems.children.length;
    els.verdict.className = `recital-verdict notice ${ok ? 'success' : error ? 'error' : 'warning'}`;
    setState('verdict');
    announce([els.verdictText.textContent, ...[...els.problems.children].map((li) => li.textContent)].join(' '));
    (ok ? els.nextPrompt : els.redo).focus();
  }

  async function loadNext({ skip = false } = {}) {
    if (skip && prompt) skipped.push(prompt.sentence_id);
    discardTake();
    els.reportForm.hidden = true;
    show(els.error, '');
    setState('loading');
    const skips = SEND_ALL_SKIPS ? skipped : skipped.slice(-1);
    const query = skips.map((id) => `skip=${encodeURIComponent(id)}`).join('&');
    try {
      const next = await api(`/campaigns/${encodeURIComponent(slug)}/prompts/next${query ? `?${query}` : ''}`);
      prompt = next;
    } catch (error) {
      show(els.error, problemText(m, error));
      setState(prompt ? 'ready' : 'empty');
      return;
    }
    renderPrompt();
    setState(prompt ? 'ready' : 'empty');
    if (prompt) {
      announce(prompt.text);
      els.record.focus();
    } else {
      announce(m('clip-empty-title'));
    }
  }

  // ---- Reporting a sentence --------------------------------------------------------
  function openReport() {
    if (!prompt) return;
    els.reportForm.reset();
    show(els.reportError, '');
    els.reportForm.hidden = false;
    els.reportForm.querySelector('input[name=reason]')?.focus();
  }

  els.reportForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!prompt) return;
    const data = new FormData(els.reportForm);
    const reason = data.get('reason');
    if (!reason) {
      show(els.reportError, m('report-choose'));
      return;
    }
    const body = { reason };
    const note = String(data.get('note') || '').trim();
    if (note) body.note = note;
    els.reportSend.disabled = true;
    try {
      await api(`/sentences/${encodeURIComponent(prompt.sentence_id)}/reports`, { method: 'POST', body, csrf });
    } catch (error) {
      show(els.reportError, problemText(m, error));
      els.reportSend.disabled = false;
      return;
    }
    els.reportSend.disabled = false;
    els.reportForm.hidden = true;
    announce(m('report-sent'));
    await loadNext({ skip: true });
  });
  els.reportCancel.addEventListener('click', () => {
    els.reportForm.hidden = true;
    els.reportOpen.focus();
  });

  // ---- Wiring ----------------------------------------------------------------------
  els.record.addEventListener('click', record);
  els.stop.addEventListener('click', stopTake);
  els.listen.addEventListener('click', listen);
  els.rerecord.addEventListener('click', record);
  els.submit.addEventListener('click', submit);
  els.redo.addEventListener('click', record);
  els.nextPrompt.addEventListener('click', () => loadNext());
  els.skip.addEventListener('click', () => loadNext({ skip: true }));
  els.reportOpen.addEventListener('click', openReport);

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden' && state === 'recording') stopTake();
  });
  window.addEventListener('beforeunload', (event) => {
    if (state === 'recording' || state === 'submitting') {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  renderPrompt();
  setState(state);
}
