// Replay (replay.html): the session's audio with its transcript beside it. While the audio
// plays the current cue is highlighted (aria-current) and kept in view; a click on a cue
// plays from its start. Before processing (no audio yet) the page asks the server every
// few seconds and reloads itself when the audio is there.

import { api } from './recital-api.js';
import { messages, show } from './recital-ui.js';

const POLL_MS = 4000;

const root = document.getElementById('replay');
if (root) main(root);

function main(page) {
  const m = messages(page);
  const pending = document.getElementById('replay-pending');
  if (pending) {
    waitForAudio(page, m, pending);
    return;
  }
  const audio = document.getElementById('replay-audio');
  const list = document.getElementById('cue-list');
  if (!audio || !list) return;
  const cues = [...list.querySelectorAll('.cue')].map((el) => ({
    el,
    start: Number(el.dataset.start) / 1000,
    end: Number(el.dataset.end) / 1000,
  }));
  let current = null;

  function setCurrent(cue) {
    if (cue === current) return;
    current?.el.removeAttribute('aria-current');
    current = cue;
    page.dataset.cue = cue ? cue.el.dataset.index : '';
    if (!cue) return;
    cue.el.setAttribute('aria-current', 'true');
    // Keep it in view inside the list without moving the page around.
    const box = list.getBoundingClientRect();
    const r = cue.el.getBoundingClientRect();
    if (r.top < box.top || r.bottom > box.bottom) {
      list.scrollTop += r.top - box.top - (box.height - r.height) / 2;
    }
  }

  function follow() {
    const t = audio.currentTime;
    setCurrent(cues.find((c) => t >= c.start && t < c.end) || null);
  }

  audio.addEventListener('timeupdate', follow);
  audio.addEventListener('seeked', follow);
  // The subtitle track says so too, where the browser loads it.
  const track = audio.textTracks?.[0];
  if (track) track.addEventListener('cuechange', follow);

  list.addEventListener('click', (event) => {
    const button = event.target instanceof Element && event.target.closest('.cue');
    if (!button) return;
    const cue = cues.find((c) => c.el === button);
    if (!cue) return;
    audio.currentTime = cue.start;
    setCurrent(cue);
    audio.play().catch(() => {});
  });
}

function waitForAudio(page, m, pending) {
  const id = page.dataset.session;
  const status = document.getElementById('replay-status');
  const tick = async () => {
    let session;
    try {
      session = await api(`/sessions/${encodeURIComponent(id)}`);
    } catch {
      setTimeout(tick, POLL_MS * 2);
      return;
    }
    pending.dataset.state = session.state;
    // Processing that failed is tried again by the server: say so, and keep asking.
    show(status, session.error ? m('replay-error', { detail: session.error }) : '');
    if (session.state === 'discarded') {
      show(status, m('replay-discarded'));
      return;
    }
    if (session.audio_url) {
      window.location.reload();
      return;
    }
    setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}
