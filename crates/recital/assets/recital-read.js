// Long-form reading (read.html): the speaker reads a document aloud, sentence by
// sentence, in one continuous recording.
//
// Enter starts and stops; while reading, the arrow pointing in the text's reading direction
// (← in right-to-left text, → in left-to-right) goes to the next sentence and the other to
// the previous one; a click or tap on a sentence selects it when not recording; on a touch
// screen a tap on the text while recording is "next". Buttons do all of it too.
// "Next" records, on the audio clock, when the sentence just read ended. Hiding the tab or
// an interrupted microphone pauses safely (the part's recorder stops and flushes); Resume
// starts a new part. Stop asks what to keep: Save, Save without the last sentence, Delete.

import { api, csrfOf } from './recital-api.js';
import { LiveWarnings, clearLevel, showLevel } from './recital-meter.js';
import {
  Microphone, PartRecorder, ScreenLock, listRecords, micErrorKind, readRecord, recordedMs,
  recordingSupported, removeRecord, showUploadStatus, updateRecord, uploader,
} from './recital-recorder.js';
import {
  formatBytes, formatDuration, messages, problemText, reducedMotion, show, typingTarget,
} from './recital-ui.js';

const MICCHECK_KEY = 'recital-miccheck';

const root = document.getElementById('reader');
if (root) main(root);

function main(reader) {
  const m = messages(reader);
  const csrf = csrfOf(reader);
  const documentId = reader.dataset.document;
  const rtl = reader.dataset.textDir === 'rtl';
  const $ = (id) => document.getElementById(id);
  const els = {
    text: $('document'),
    start: $('rec-start'),
    resume: $('rec-resume'),
    next: $('rec-next'),
    prev: $('rec-prev'),
    stop: $('rec-stop'),
    level: $('rec-level'),
    state: $('rec-state'),
    live: $('rec-live'),
    warning: $('rec-warning'),
    error: $('rec-error'),
    upload: $('upload-status'),
    reminder: $('miccheck-reminder'),
    reminderText: $('miccheck-reminder-text'),
    carried: $('continue-notice'),
    finish: $('rec-finish'),
    saved: $('saved-notice'),
    savedText: $('saved-text'),
    savedLink: $('saved-link'),
    dialog: $('stop-dialog'),
    dialogStatus: $('stop-status'),
    dialogError: $('stop-error'),
    save: $('stop-save'),
    saveDrop: $('stop-save-drop'),
    discard: $('stop-delete'),
    keep: $('stop-cancel'),
  };
  const sentences = [...els.text.querySelectorAll('.sentence')];
  const index = new Map(sentences.map((s, i) => [s.dataset.id, i]));
  if (!sentences.length) return;

  let active = index.get(reader.dataset.position) ?? 0;
  let state = 'idle';
  let mic = null;
  let part = null;
  let sessionId = null;
  let stopEnd = 0;
  let pauseReason = null;
  let clock = null;
  const warnings = new LiveWarnings();
  const screen = new ScreenLock();

  // ---- Uploads ---------------------------------------------------------------------
  let lastUploadState = null;
  uploader.addEventListener('status', (event) => {
    const status = event.detail;
    showUploadStatus(els.upload, status, m, { formatBytes, problemText });
    if (status.state !== lastUploadState && (status.state === 'offline' || status.state === 'error')) {
      announce(els.upload.textContent);
    }
    lastUploadState = status.state;
  });
  uploader.start(csrf);

  // ---- A session left unfinished (a reload, a closed tab) continues ----------------
  const carried = listRecords().find((r) => r.document_id === documentId && r.kind === 'long-form'
    && !r.end && !r.discard);
  if (carried) {
    sessionId = carried.id;
    els.carried.hidden = false;
  }

  // ---- Microphone check reminder -----------------------------------------------------
  let check = null;
  try {
    check = JSON.parse(sessionStorage.getItem(MICCHECK_KEY) || 'null');
  } catch { check = null; }
  if (!check) show(els.reminderText, m('miccheck-reminder-skipped'));
  else if (check.verdict !== 'fine') show(els.reminderText, m(`miccheck-reminder-${check.verdict}`));
  els.reminder.hidden = Boolean(check && check.verdict === 'fine');

  if (!recordingSupported()) {
    show(els.error, m('mic-unsupported'));
    els.start.disabled = true;
  }

  // ---- Position --------------------------------------------------------------------
  let wantedPosition = null;
  let savingPosition = false;
  async function savePosition(id) {
    wantedPosition = id;
    if (savingPosition) return;
    savingPosition = true;
    while (wantedPosition !== null) {
      const sentenceId = wantedPosition;
      wantedPosition = null;
      try {
        await api(`/documents/${encodeURIComponent(documentId)}/position`, {
          method: 'PUT', body: { sentence_id: sentenceId }, csrf,
        });
      } catch { /* the position is a convenience; the next move saves it again */ }
    }
    savingPosition = false;
  }

  function select(i, { save = true, scroll = true } = {}) {
    const target = Math.max(0, Math.min(sentences.length - 1, i));
    sentences[active]?.removeAttribute('aria-current');
    active = target;
    const el = sentences[active];
    el.setAttribute('aria-current', 'true');
    reader.dataset.active = el.dataset.id;
    if (scroll) el.scrollIntoView({ block: 'center', behavior: reducedMotion() ? 'auto' : 'smooth' });
    if (save) savePosition(el.dataset.id);
  }

  // ---- State and controls ----------------------------------------------------------
  function setState(next) {
    state = next;
    reader.dataset.state = next;
    const busy = next === 'starting' || next === 'stopping' || next === 'saving';
    els.start.hidden = !(next === 'idle' || next === 'starting');
    els.start.disabled = next !== 'idle' || !recordingSupported();
    els.resume.hidden = next !== 'paused';
    els.stop.hidden = !(next === 'recording' || next === 'paused' || next === 'stopping');
    els.stop.disabled = busy;
    els.resume.disabled = busy;
    els.next.disabled = busy;
    els.prev.disabled = busy;
    els.finish.disabled = busy || next !== 'idle';
    if (next !== 'recording') clearLevel(els.level);
    renderState();
  }

  function renderState() {
    const recorded = sessionId ? recordedMs(readRecord(sessionId)) : 0;
    let text;
    switch (state) {
      case 'starting': text = m('state-starting'); break;
      case 'recording': text = m('state-recording', { time: formatDuration(part ? part.timelineMs() : recorded) }); break;
      case 'paused':
        text = m(pauseReason === 'hidden' ? 'paused-hidden' : pauseReason === 'interrupted' ? 'paused-interrupted' : 'state-paused',
          { time: formatDuration(recorded) });
        break;
      case 'stopping':
      case 'saving': text = m('state-stopped', { time: formatDuration(recorded) }); break;
      default: text = m('state-ready');
    }
    els.state.textContent = text;
  }

  function announce(text) {
    els.live.textContent = '';
    // A new text node so that screen readers announce a repeated message too.
    setTimeout(() => { els.live.textContent = text; }, 50);
  }

  function showError(text) {
    show(els.error, text);
  }

  warnings.addEventListener('change', (event) => {
    const kind = event.detail.kind;
    els.warning.dataset.kind = kind || '';
    show(els.warning, kind ? m(`warn-${kind}`) : '');
  });

  // ---- Recording -------------------------------------------------------------------
  async function openMic() {
    mic = await Microphone.open({ meter: true });
    mic.meter.addEventListener('level', (event) => {
      if (state !== 'recording') return;
      showLevel(els.level, event.detail);
      warnings.add(event.detail);
    });
    mic.addEventListener('interrupted', () => pause('interrupted'));
  }

  function closeMic() {
    mic?.close();
    mic = null;
  }

  async function beginPart() {
    part = new PartRecorder({ mic, sessionId });
    part.addEventListener('interrupted', () => pause('interrupted'));
    part.addEventListener('failure', (event) => showError(m('error-recorder', { detail: event.detail?.message || String(event.detail) })));
    await part.start();
    warnings.reset();
    screen.acquire();
    pauseReason = null;
    setState('recording');
    clearInterval(clock);
    clock = setInterval(renderState, 250);
  }

  async function start() {
    if (state !== 'idle' || !recordingSupported()) return;
    const hadFocus = document.activeElement === els.start;
    showError('');
    els.saved.hidden = true;
    setState('starting');
    try {
      await openMic();
    } catch (error) {
      showError(m(`mic-${micErrorKind(error)}`, { detail: error?.message || String(error) }));
      closeMic();
      setState('idle');
      return;
    }
    try {
      if (sessionId) {
        try {
          const session = await api(`/sessions/${encodeURIComponent(sessionId)}`);
          if (!session || session.state !== 'recording') {
            removeRecord(sessionId);
            sessionId = null;
          }
        } catch (error) {
          // Offline: go on with the same session, its chunks wait here.
          if (!error.network) {
            removeRecord(sessionId);
            sessionId = null;
          }
        }
      }
      if (!sessionId) {
        const session = await api('/sessions', { method: 'POST', body: { document_id: documentId }, csrf });
        sessionId = session.id;
        updateRecord(sessionId, (r) => {
          r.kind = 'long-form';
          r.document_id = documentId;
          r.campaign = reader.dataset.campaign;
        });
      }
      els.carried.hidden = true;
      await beginPart();
    } catch (error) {
      closeMic();
      part = null;
      showError(problemText(m, error));
      setState('idle');
      return;
    }
    announce(m('announce-started'));
    if (hadFocus) els.text.focus({ preventScroll: true });
    select(active, { save: false });
  }

  async function stopPart() {
    clearInterval(clock);
    screen.release();
    warnings.reset();
    const current = part;
    part = null;
    if (current) await current.stop();
    closeMic();
  }

  async function pause(reason) {
    if (state !== 'recording') return;
    pauseReason = reason;
    setState('stopping');
    await stopPart();
    setState('paused');
    announce(els.state.textContent);
  }

  async function resume() {
    if (state !== 'paused') return;
    const hadFocus = document.activeElement === els.resume;
    showError('');
    setState('starting');
    try {
      await openMic();
      await beginPart();
    } catch (error) {
      closeMic();
      part = null;
      showError(error?.name ? m(`mic-${micErrorKind(error)}`, { detail: error.message }) : problemText(m, error));
      setState('paused');
      return;
    }
    announce(m('announce-started'));
    if (hadFocus) els.text.focus({ preventScroll: true });
  }

  async function stop() {
    if (state === 'recording') {
      setState('stopping');
      await stopPart();
    } else if (!(state === 'paused' || (state === 'idle' && sessionId))) {
      return;
    }
    stopEnd = recordedMs(readRecord(sessionId));
    setState('stopping');
    openDialog();
  }

  function next() {
    if (state === 'recording') {
      const end = part.timelineMs();
      uploader.segments(sessionId, [{ sentence_id: sentences[active].dataset.id, end_ms: end }]);
      if (active >= sentences.length - 1) {
        announce(m('end-of-text'));
        stop();
        return;
      }
      select(active + 1);
    } else if (state === 'idle' || state === 'paused') {
      select(active + 1);
    }
  }

  function prev() {
    if (state === 'recording' || state === 'idle' || state === 'paused') select(active - 1);
  }

  // ---- The stop dialog -------------------------------------------------------------
  function dialogBusy(busy) {
    for (const b of [els.save, els.saveDrop, els.discard, els.keep]) b.disabled = busy;
  }

  function openDialog() {
    show(els.dialogStatus, '');
    show(els.dialogError, '');
    dialogBusy(false);
    if (typeof els.dialog.showModal === 'function') els.dialog.showModal();
    else els.dialog.setAttribute('open', '');
    els.save.focus();
  }

  function closeDialog() {
    if (els.dialog.open) els.dialog.close();
  }

  async function finish(keepLast) {
    setState('saving');
    dialogBusy(true);
    show(els.dialogError, '');
    show(els.dialogStatus, m('still-saving'));
    const id = sessionId;
    uploader.segments(id, [{ sentence_id: sentences[active].dataset.id, end_ms: stopEnd }]);
    let session;
    try {
      session = await uploader.end(id, keepLast);
    } catch (error) {
      show(els.dialogStatus, '');
      show(els.dialogError, problemText(m, error));
      dialogBusy(false);
      setState('stopping');
      return;
    }
    sessionId = null;
    closeDialog();
    setState('idle');
    els.savedText.textContent = m('saved');
    els.savedLink.href = `/recital/sessions/${encodeURIComponent(session?.id || id)}`;
    els.savedLink.hidden = false;
    els.saved.hidden = false;
    announce(m('saved'));
    if (keepLast) select(active + 1);
    els.start.focus();
  }

  function discard() {
    const id = sessionId;
    sessionId = null;
    uploader.discard(id).catch(() => { /* shown by the upload status */ });
    closeDialog();
    setState('idle');
    els.savedText.textContent = m('deleted');
    els.savedLink.hidden = true;
    els.saved.hidden = false;
    announce(m('deleted'));
    els.start.focus();
  }

  function keepReading() {
    closeDialog();
    pauseReason = null;
    setState('paused');
    els.resume.focus();
  }

  els.save.addEventListener('click', () => finish(true));
  els.saveDrop.addEventListener('click', () => finish(false));
  els.discard.addEventListener('click', discard);
  els.keep.addEventListener('click', keepReading);
  els.dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    if (state === 'stopping') keepReading();
  });

  // ---- Buttons, keys, taps -----------------------------------------------------------
  els.start.addEventListener('click', start);
  els.resume.addEventListener('click', resume);
  els.stop.addEventListener('click', stop);
  els.finish.addEventListener('click', stop);
  els.next.addEventListener('click', next);
  els.prev.addEventListener('click', prev);

  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (els.dialog.open || typingTarget(event)) return;
    const onControl = event.target instanceof Element && event.target.closest('button, a, summary, [role=button]');
    if (event.key === 'Enter') {
      if (onControl) return;
      event.preventDefault();
      if (state === 'idle') start();
      else if (state === 'paused') resume();
      else if (state === 'recording') stop();
      return;
    }
    const nextKey = rtl ? 'ArrowLeft' : 'ArrowRight';
    const prevKey = rtl ? 'ArrowRight' : 'ArrowLeft';
    if (event.key === nextKey) {
      event.preventDefault();
      next();
    } else if (event.key === prevKey) {
      event.preventDefault();
      prev();
    }
  });

  let pointer = 'mouse';
  els.text.addEventListener('pointerdown', (event) => { pointer = event.pointerType || 'mouse'; });
  els.text.addEventListener('click', (event) => {
    if (state === 'recording') {
      if (pointer === 'touch' || pointer === 'pen') next();
      return;
    }
    if (state !== 'idle' && state !== 'paused') return;
    const sentence = event.target instanceof Element && event.target.closest('.sentence');
    if (sentence) select(index.get(sentence.dataset.id));
  });

  // ---- Pausing safely --------------------------------------------------------------
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') pause('hidden');
  });
  window.addEventListener('pagehide', () => { pause('hidden'); });
  window.addEventListener('beforeunload', (event) => {
    if (state === 'recording' || state === 'saving') {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  select(active, { save: false, scroll: reader.dataset.position !== '' });
  setState('idle');
}
