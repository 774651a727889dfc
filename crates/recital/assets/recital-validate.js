// Validation (validate.html): listen to someone's clip and say whether it reads the
// sentence (and its label) correctly. Yes / No become available once the clip was played
// to its end; the keys Y and N do the same. Then the next clip; nothing waiting → a
// friendly message.

import { api, csrfOf } from './recital-api.js';
import { fill, formatNumber, messages, problemText, rawMessage, show, typingTarget } from './recital-ui.js';

const root = document.getElementById('validate');
if (root) main(root);

function main(page) {
  const m = messages(page);
  const csrf = csrfOf(page);
  const slug = page.dataset.campaign;
  const $ = (id) => document.getElementById(id);
  const els = {
    clip: $('val-clip'),
    label: $('val-label'),
    text: $('val-text'),
    audio: $('val-audio'),
    yes: $('val-yes'),
    no: $('val-no'),
    hint: $('val-hint'),
    state: $('val-state'),
    live: $('val-live'),
    error: $('val-error'),
    empty: $('val-empty'),
    count: $('val-count'),
  };
  let clip = null;
  let played = false;
  let voting = false;
  let votes = 0;

  function setState(next) {
    page.dataset.state = next;
    const canVote = next === 'ready' && played && !voting;
    els.yes.disabled = !canVote;
    els.no.disabled = !canVote;
    els.clip.hidden = !(next === 'ready' || next === 'voting');
    els.empty.hidden = next !== 'empty';
    els.hint.textContent = played ? m('validate-keys') : m('validate-listen-first');
    els.state.textContent = next === 'loading' ? m('loading') : '';
  }

  function announce(text) {
    els.live.textContent = '';
    setTimeout(() => { els.live.textContent = text; }, 50);
  }

  async function load() {
    played = false;
    clip = null;
    setState('loading');
    show(els.error, '');
    try {
      clip = await api(`/campaigns/${encodeURIComponent(slug)}/validation/next`);
    } catch (error) {
      show(els.error, problemText(m, error));
      setState('failed');
      return;
    }
    if (!clip) {
      els.audio.removeAttribute('src');
      setState('empty');
      announce(m('validate-empty-title'));
      return;
    }
    els.clip.dataset.clip = clip.clip_id;
    els.text.textContent = clip.text;
    if (clip.language) els.text.lang = clip.language;
    if (clip.dir) els.text.dir = clip.dir;
    if (clip.label) {
      fill(els.label, rawMessage(page, 'clip-label'), { label: clip.label });
      els.label.hidden = false;
    } else {
      els.label.hidden = true;
    }
    els.audio.src = clip.audio_url;
    els.audio.load();
    setState('ready');
    announce(clip.text);
  }

  async function vote(valid) {
    if (!clip || !played || voting) return;
    voting = true;
    setState('voting');
    try {
      await api(`/clips/${encodeURIComponent(clip.clip_id)}/votes`, { method: 'POST', body: { valid }, csrf });
    } catch (error) {
      voting = false;
      show(els.error, problemText(m, error));
      setState('ready');
      return;
    }
    voting = false;
    votes += 1;
    show(els.count, m('validate-thanks', { n: formatNumber(votes) }));
    els.audio.pause();
    await load();
    if (!els.clip.hidden) els.audio.focus();
  }

  els.audio.addEventListener('ended', () => {
    played = true;
    setState('ready');
  });
  els.audio.addEventListener('error', () => {
    if (!clip) return;
    // A clip that does not play is not a valid one: let the person say so.
    played = true;
    show(els.error, m('validate-audio-error'));
    setState('ready');
  });
  // A report skips the clip for this person; two reports take it out of the queue.
  $('val-report-send').addEventListener('click', async () => {
    if (!clip || voting) return;
    voting = true;
    try {
      const reason = $('val-report-reason').value;
      await api(`/clips/${encodeURIComponent(clip.clip_id)}/reports`, { method: 'POST', body: { reason }, csrf });
    } catch (error) {
      voting = false;
      show(els.error, problemText(m, error));
      return;
    }
    voting = false;
    els.audio.pause();
    await load();
  });
  els.yes.addEventListener('click', () => vote(true));
  els.no.addEventListener('click', () => vote(false));

  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || typingTarget(event)) return;
    const key = event.key.toLowerCase();
    // Letters where they are (a Hebrew keyboard has no Y or N: use the key's place).
    const latin = /^[a-z]$/.test(key);
    if (key === 'y' || (!latin && event.code === 'KeyY')) {
      event.preventDefault();
      vote(true);
    } else if (key === 'n' || (!latin && event.code === 'KeyN')) {
      event.preventDefault();
      vote(false);
    }
  });

  load();
}
