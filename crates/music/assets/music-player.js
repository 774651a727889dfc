// The release player: one audio element plays the page's tracks in turn (continuous
// playback), the waveform is drawn from the track's peaks and seeks on click or arrow
// keys, ReplayGain evens out volume between tracks, media session controls work on
// phones, and `#track=3&time=20s` deep links (also `time=1m20s`, plain seconds) start
// there, on the release and track pages and in the player other sites embed. The page
// lists every track with its own <audio> for readers without JavaScript.

const root = document.querySelector('[data-player]');
if (root) start(root);

function clock(seconds) {
  if (!Number.isFinite(seconds)) return '0:00';
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The linear volume that brings a track to the ReplayGain reference, never clipping. */
export function replayGainVolume(gainDb, peak) {
  const gain = Number(gainDb);
  if (!Number.isFinite(gain)) return 1;
  let linear = 10 ** (gain / 20);
  const p = Number(peak);
  if (Number.isFinite(p) && p > 0) linear = Math.min(linear, 1 / p);
  return Math.min(1, linear);
}

/** Seconds from a link's time: `80`, `80s`, `1m20s`, `1h2m3s` or `1m` (0 when unreadable). */
export function parseTime(raw) {
  const m = String(raw || '').trim().match(/^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$/);
  if (!m || !(m[1] || m[2] || m[3])) return 0;
  return Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Number(m[3] || 0);
}

/** Where a deep link (`#track=3&time=20s`, `t` too, as other players write it) starts. */
export function parseHash(hash) {
  const params = new URLSearchParams(String(hash).replace(/^#/, ''));
  const track = Number(params.get('track'));
  return {
    track: Number.isInteger(track) && track > 0 ? track : null,
    time: parseTime(params.get('time') ?? params.get('t')),
  };
}

function start(root) {
  const items = [...root.querySelectorAll('.tracks .track')].filter((li) => li.querySelector('audio source'));
  const panel = root.querySelector('.player');
  if (!items.length || !panel) return;
  root.classList.add('enhanced');
  panel.hidden = false;
  const audio = new Audio();
  audio.preload = 'metadata';
  const toggle = panel.querySelector('[data-action="toggle"]');
  const now = panel.querySelector('.now');
  const timeEl = panel.querySelector('[data-time]');
  const durationEl = panel.querySelector('[data-duration]');
  const canvas = panel.querySelector('canvas.waveform');
  const lyrics = [...document.querySelectorAll('#lyrics[class~="synced"] li')];
  let index = 0;
  let peaks = [];
  let counted = false;
  // Where the selected track starts once its length is known (a deep link's time).
  let startAt = 0;

  function sourcesOf(li) {
    return [...li.querySelectorAll('audio source')].map((s) => ({ src: s.getAttribute('src'), type: s.getAttribute('type') }));
  }

  function pick(li) {
    const probe = document.createElement('audio');
    const sources = sourcesOf(li);
    return (sources.find((s) => probe.canPlayType(s.type)) || sources[sources.length - 1]).src;
  }

  async function loadPeaks(li) {
    peaks = [];
    draw();
    try {
      const answer = await fetch(li.dataset.waveform, { credentials: 'same-origin' });
      if (answer.ok) peaks = (await answer.json()).peaks || [];
    } catch {
      peaks = [];
    }
    draw();
  }

  function draw() {
    const ctx = canvas.getContext('2d');
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(root);
    const played = audio.duration ? audio.currentTime / audio.duration : 0;
    const n = peaks.length;
    for (let x = 0; x < width; x += 1) {
      const pair = n ? peaks[Math.floor((x / width) * n)] : [-0.02, 0.02];
      const top = ((1 - pair[1]) / 2) * height;
      const bottom = ((1 - pair[0]) / 2) * height;
      ctx.fillStyle = x / width <= played ? style.getPropertyValue('--accent') || '#36c' : style.getPropertyValue('--border-strong') || '#999';
      ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    canvas.setAttribute('aria-valuenow', String(Math.round(played * 100)));
    canvas.setAttribute('aria-valuetext', `${clock(audio.currentTime)} / ${clock(audio.duration)}`);
  }

  function select(i, { play = false, at = 0 } = {}) {
    index = (i + items.length) % items.length;
    items.forEach((li, k) => li.setAttribute('aria-current', k === index ? 'true' : 'false'));
    const li = items[index];
    audio.src = pick(li);
    audio.volume = replayGainVolume(li.dataset.gain, li.dataset.peak);
    counted = false;
    now.textContent = li.dataset.title;
    startAt = at;
    loadPeaks(li);
    if ('mediaSession' in navigator && window.MediaMetadata) {
      navigator.mediaSession.metadata = new MediaMetadata({ title: li.dataset.title, artist: document.querySelector('.lead a')?.textContent || '' });
    }
    if (play) audio.play().catch(() => {});
  }

  function seekBy(seconds) {
    if (audio.duration) audio.currentTime = Math.min(audio.duration, Math.max(0, audio.currentTime + seconds));
  }

  toggle.addEventListener('click', () => (audio.paused ? audio.play().catch(() => {}) : audio.pause()));
  panel.querySelector('[data-action="next"]')?.addEventListener('click', () => select(index + 1, { play: !audio.paused }));
  panel.querySelector('[data-action="previous"]')?.addEventListener('click', () => select(index - 1, { play: !audio.paused }));
  audio.addEventListener('play', () => { toggle.textContent = '⏸'; toggle.setAttribute('aria-label', toggle.dataset.pause); });
  audio.addEventListener('pause', () => { toggle.textContent = '▶'; toggle.setAttribute('aria-label', toggle.dataset.play); });
  audio.addEventListener('ended', () => { if (index + 1 < items.length) select(index + 1, { play: true }); });
  audio.addEventListener('loadedmetadata', () => {
    if (startAt > 0) audio.currentTime = Math.min(startAt, audio.duration || startAt);
    startAt = 0;
    durationEl.textContent = clock(audio.duration);
    draw();
  });
  audio.addEventListener('timeupdate', () => {
    timeEl.textContent = clock(audio.currentTime);
    draw();
    if (!counted && audio.currentTime > 5) {
      counted = true;
      fetch(`/api/v1/music/tracks/${items[index].dataset.id}/plays`, { method: 'POST', credentials: 'omit' }).catch(() => {});
    }
    const ms = audio.currentTime * 1000;
    let current = null;
    for (const line of lyrics) if (Number(line.dataset.startMs) <= ms) current = line;
    lyrics.forEach((line) => line.setAttribute('aria-current', line === current ? 'true' : 'false'));
  });
  canvas.addEventListener('click', (event) => {
    const box = canvas.getBoundingClientRect();
    const fraction = (event.clientX - box.left) / box.width;
    const rtl = getComputedStyle(canvas).direction === 'rtl';
    if (audio.duration) audio.currentTime = (rtl ? 1 - fraction : fraction) * audio.duration;
  });
  canvas.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowRight') { seekBy(5); event.preventDefault(); }
    if (event.key === 'ArrowLeft') { seekBy(-5); event.preventDefault(); }
  });
  document.addEventListener('keydown', (event) => {
    if (event.target.closest('input, textarea, select, button, canvas')) return;
    if (event.key === ' ') { toggle.click(); event.preventDefault(); }
    else if (event.key === 'ArrowRight') seekBy(5);
    else if (event.key === 'ArrowLeft') seekBy(-5);
    else if (event.key === 'n' || event.key === 'N') select(index + 1, { play: !audio.paused });
    else if (event.key === 'p' || event.key === 'P') select(index - 1, { play: !audio.paused });
  });
  items.forEach((li, i) => {
    li.querySelector('a')?.addEventListener('click', (event) => {
      if (event.metaKey || event.ctrlKey || items.length === 1) return;
      event.preventDefault();
      select(i, { play: true });
    });
  });
  if ('mediaSession' in navigator) {
    const session = navigator.mediaSession;
    session.setActionHandler('play', () => audio.play());
    session.setActionHandler('pause', () => audio.pause());
    session.setActionHandler('nexttrack', () => select(index + 1, { play: true }));
    session.setActionHandler('previoustrack', () => select(index - 1, { play: true }));
    session.setActionHandler('seekto', (d) => { audio.currentTime = d.seekTime; });
  }
  const numberOf = (li) => Number(li.querySelector('.n')?.textContent);
  // A deep link selects its track and time, and plays if the browser lets a page start
  // by itself (it stays ready there if not); a new one while the page is open, too.
  function follow(hash, { initial = false } = {}) {
    const link = parseHash(hash);
    const deep = link.track !== null || link.time > 0;
    if (!initial && !deep) return;
    const found = link.track ? items.findIndex((li) => numberOf(li) === link.track) : (initial ? 0 : index);
    select(Math.max(0, found), { at: link.time, play: deep });
  }
  follow(location.hash, { initial: true });
  window.addEventListener('hashchange', () => follow(location.hash));

  // "Copy a link to this moment": this page's address with the track and time playing.
  const share = document.querySelector('[data-action="share-moment"]');
  if (share && navigator.clipboard) {
    share.hidden = false;
    const label = share.textContent;
    share.addEventListener('click', async () => {
      const url = new URL(location.href);
      url.hash = `track=${numberOf(items[index])}&time=${Math.floor(audio.currentTime || 0)}s`;
      try {
        await navigator.clipboard.writeText(url.href);
        share.textContent = share.dataset.copied || label;
        setTimeout(() => { share.textContent = label; }, 2000);
      } catch {
        share.textContent = label;
      }
    });
  }
  window.tuttiPlayer = { audio, select, get index() { return index; } };
}
