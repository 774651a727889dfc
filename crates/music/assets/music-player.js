// The release player: one audio element plays the page's tracks in turn (continuous
// playback), the waveform is drawn from the track's peaks and seeks on click or arrow
// keys, ReplayGain evens out volume between tracks, media session controls work on
// phones, and `#track=3&time=20s` deep links start there. The page lists every track
// with its own <audio> for readers without JavaScript.

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

function parseHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const track = Number(params.get('track'));
  const time = String(params.get('time') || '').match(/^(?:(\d+)m)?(\d+(?:\.\d+)?)s?$/);
  return {
    track: Number.isInteger(track) && track > 0 ? track : null,
    time: time ? Number(time[1] || 0) * 60 + Number(time[2]) : 0,
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
    if (at > 0) audio.addEventListener('loadedmetadata', () => { audio.currentTime = at; }, { once: true });
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
  audio.addEventListener('loadedmetadata', () => { durationEl.textContent = clock(audio.duration); draw(); });
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
  const link = parseHash(location.hash);
  const first = link.track ? items.findIndex((li) => Number(li.querySelector('.n')?.textContent) === link.track) : 0;
  select(Math.max(0, first), { at: link.time });
  window.tuttiPlayer = { audio, select, get index() { return index; } };
}
