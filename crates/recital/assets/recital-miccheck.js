// The microphone check on the join page: record about 3 seconds, play them back, show a
// live level meter, and say plainly whether the sound is too low, clipping or fine. The
// verdict is kept in sessionStorage `recital-miccheck` so the reading page can remind
// people who skipped the check (or whose check went wrong). Nothing is uploaded.

import { Microphone, micErrorKind, pickMime, recordingSupported } from './recital-recorder.js';
import { TakeStats, clearLevel, showLevel } from './recital-meter.js';
import { messages, show } from './recital-ui.js';

export const MICCHECK_KEY = 'recital-miccheck';
const TAKE_MS = 3000;

const root = document.getElementById('miccheck');
if (root) init(root);

function init(section) {
  const m = messages(section);
  const startButton = section.querySelector('#miccheck-start');
  const playButton = section.querySelector('#miccheck-play');
  const level = section.querySelector('#miccheck-level');
  const status = section.querySelector('#miccheck-status');
  const verdictEl = section.querySelector('#miccheck-verdict');
  const audio = section.querySelector('#miccheck-audio');
  let url = null;

  section.hidden = false;
  if (!recordingSupported()) {
    show(status, m('mic-unsupported'));
    startButton.disabled = true;
    return;
  }

  startButton.addEventListener('click', run);
  playButton.addEventListener('click', () => {
    if (!audio.src) return;
    audio.currentTime = 0;
    audio.play().catch(() => {});
  });

  async function run() {
    startButton.disabled = true;
    playButton.disabled = true;
    section.dataset.state = 'starting';
    verdictEl.hidden = true;
    delete verdictEl.dataset.verdict;
    let mic;
    try {
      mic = await Microphone.open({ meter: true });
    } catch (error) {
      const kind = micErrorKind(error);
      show(status, m(`mic-${kind}`, { detail: error?.message || String(error) }));
      section.dataset.state = 'failed';
      startButton.disabled = false;
      return;
    }
    const stats = new TakeStats();
    let recording = false;
    mic.meter.addEventListener('level', (event) => {
      showLevel(level, event.detail);
      if (recording) stats.add(event.detail);
    });
    const blobs = [];
    const mime = pickMime();
    let recorder;
    try {
      recorder = new MediaRecorder(mic.recordStream, mime ? { mimeType: mime } : undefined);
    } catch (error) {
      mic.close();
      show(status, m('mic-failed', { detail: error?.message || String(error) }));
      startButton.disabled = false;
      return;
    }
    recorder.addEventListener('dataavailable', (event) => {
      if (event.data && event.data.size) blobs.push(event.data);
    });
    const stopped = new Promise((resolve) => recorder.addEventListener('stop', resolve, { once: true }));
    recorder.start();
    recording = true;
    section.dataset.state = 'recording';
    const began = Date.now();
    const tick = () => {
      const left = Math.max(0, Math.ceil((TAKE_MS - (Date.now() - began)) / 1000));
      show(status, m('miccheck-recording', { seconds: left }));
    };
    tick();
    const timer = setInterval(tick, 250);
    await new Promise((resolve) => setTimeout(resolve, TAKE_MS));
    clearInterval(timer);
    recording = false;
    recorder.stop();
    await stopped;
    mic.close();
    clearLevel(level);

    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob(blobs, { type: recorder.mimeType || mime || 'audio/webm' }));
    audio.src = url;
    playButton.disabled = false;

    const verdict = stats.verdict();
    verdictEl.dataset.verdict = verdict;
    verdictEl.className = `recital-verdict notice ${verdict === 'fine' ? 'success' : 'warning'}`;
    show(verdictEl, m(`miccheck-${verdict}`));
    show(status, m('miccheck-done'));
    section.dataset.state = 'done';
    try {
      sessionStorage.setItem(MICCHECK_KEY, JSON.stringify({ verdict, at: Date.now() }));
    } catch { /* storage off: the reader page reminds again, harmless */ }
    startButton.textContent = m('miccheck-again');
    startButton.disabled = false;
  }
}
