// The track editor's audio: a chosen file uploads with tus (resumable, with a progress
// bar), becomes the track's new audio, and its processing is followed until it is ready
// or has failed. The words of the track are a plain form and need no script.

import { api, upload } from './music-api.js';

const section = document.getElementById('replace-audio');
if (section) start(section);

function start(section) {
  const { track, album, csrf } = section.dataset;
  const input = document.getElementById('audio-file');
  const bar = document.getElementById('audio-progress');
  const status = document.getElementById('audio-status');
  const error = document.getElementById('audio-error');
  const msg = (key) => section.dataset[`msg${key[0].toUpperCase()}${key.slice(1)}`] || key;
  const statusText = (s) => document.querySelector(`[data-status-text="${s}"]`)?.textContent || s;

  async function follow() {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const release = await api(`/albums/${album}`);
      const t = release.tracks.find((x) => x.id === track);
      if (!t) return;
      status.textContent = statusText(t.status);
      bar.value = t.progress;
      if (t.status === 'ready' || t.status === 'failed') {
        bar.hidden = true;
        error.textContent = t.error || '';
        return;
      }
    }
  }

  input.addEventListener('change', async () => {
    const file = input.files[0];
    if (!file) return;
    input.disabled = true;
    error.textContent = '';
    bar.hidden = false;
    bar.value = 0;
    status.textContent = msg('uploading');
    bar.setAttribute('aria-label', `${msg('uploading')} ${file.name}`);
    try {
      const id = await upload(file, {
        csrf,
        onProgress: (sent, total) => { bar.value = total ? Math.round((sent / total) * 100) : 100; },
      });
      await api(`/tracks/${track}/audio`, { method: 'PUT', body: { upload_id: id }, csrf });
      status.textContent = msg('processing');
      bar.value = 0;
      bar.setAttribute('aria-label', `${msg('processing')} ${file.name}`);
      await follow();
    } catch (e) {
      status.textContent = msg('failed');
      error.textContent = e.message;
      bar.hidden = true;
    } finally {
      input.disabled = false;
      input.value = '';
    }
  });

  // A replacement still processing when the page opened keeps its bar moving.
  if (!bar.hidden) follow();
}
