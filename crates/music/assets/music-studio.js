// The release editor: dropped or chosen files upload one after another (tus, resumable)
// with a progress bar each, become tracks, and show their processing until ready; an
// unreadable file says so and does not stop the others. Tracks are put in order by
// dragging or with the arrow buttons, and deleted with a confirmation.

import { api, upload } from './music-api.js';

const section = document.getElementById('upload');
const list = document.getElementById('studio-tracks');
if (section && list) start(section, list);

function start(section, list) {
  const album = section.dataset.album;
  const csrf = section.dataset.csrf;
  const uploads = document.getElementById('uploads');
  const input = document.getElementById('track-files');
  const zone = section.querySelector('.dropzone');
  const msg = (key) => section.dataset[`msg${key[0].toUpperCase()}${key.slice(1)}`] || key;
  let queue = Promise.resolve();

  function row(file) {
    const li = document.createElement('li');
    li.className = 'upload';
    const name = document.createElement('span');
    name.textContent = file.name;
    const state = document.createElement('span');
    state.className = 'muted';
    state.textContent = msg('uploading');
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', `${msg('uploading')} ${file.name}`);
    li.append(name, state, bar);
    uploads.append(li);
    return { li, state, bar };
  }

  async function send(file) {
    const view = row(file);
    try {
      const id = await upload(file, {
        csrf,
        onProgress: (sent, total) => { view.bar.value = total ? Math.round((sent / total) * 100) : 100; },
      });
      const track = await api(`/albums/${album}/tracks`, { method: 'POST', body: { upload_id: id }, csrf });
      view.state.textContent = msg('processing');
      view.bar.value = 0;
      view.bar.setAttribute('aria-label', `${msg('processing')} ${file.name}`);
      await follow(track.id, view);
    } catch (error) {
      view.state.textContent = `${msg('failed')}: ${error.message}`;
      view.state.className = 'error';
      view.bar.hidden = true;
    }
  }

  async function follow(trackId, view) {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const album_ = await api(`/albums/${album}`);
      const track = album_.tracks.find((t) => t.id === trackId);
      if (!track) return;
      view.bar.value = track.progress;
      if (track.status === 'ready') {
        view.state.textContent = msg('ready');
        view.bar.hidden = true;
        refresh(album_);
        return;
      }
      if (track.status === 'failed') {
        view.state.textContent = track.error || msg('failed');
        view.state.className = 'error';
        view.bar.hidden = true;
        refresh(album_);
        return;
      }
    }
  }

  function refresh(album_) {
    // The list reflects the server's order and titles (tags fill them in).
    const known = new Map([...list.children].map((li) => [li.dataset.id, li]));
    for (const t of album_.tracks) {
      let li = known.get(t.id);
      if (!li) {
        li = document.getElementById('track-row').content.firstElementChild.cloneNode(true);
        li.dataset.id = t.id;
        list.append(li);
      }
      li.querySelector('.n').textContent = t.position;
      li.querySelector('.title').textContent = t.title;
      li.querySelector('a.edit')?.setAttribute('href', `/music/studio/tracks/${t.id}`);
      li.querySelector('.status').textContent =
        document.querySelector(`[data-status-text="${t.status}"]`)?.textContent || t.status;
      li.dataset.status = t.status;
      list.append(li);
    }
  }

  function enqueue(files) {
    for (const file of files) queue = queue.then(() => send(file));
  }

  input.addEventListener('change', () => { enqueue([...input.files]); input.value = ''; });
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    enqueue([...event.dataTransfer.files]);
  });

  async function saveOrder() {
    const ids = [...list.children].map((li) => li.dataset.id);
    const album_ = await api(`/albums/${album}/order`, { method: 'PUT', body: { tracks: ids }, csrf });
    refresh(album_);
  }

  let dragged = null;
  list.addEventListener('dragstart', (event) => {
    dragged = event.target.closest('li');
    dragged?.classList.add('dragging');
  });
  list.addEventListener('dragover', (event) => {
    event.preventDefault();
    const over = event.target.closest('li');
    if (!dragged || !over || over === dragged) return;
    const box = over.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
  });
  list.addEventListener('dragend', () => {
    dragged?.classList.remove('dragging');
    dragged = null;
    saveOrder();
  });
  list.addEventListener('click', async (event) => {
    const button = event.target.closest('button');
    const li = event.target.closest('li');
    if (!button || !li) return;
    if (button.dataset.move === 'up' && li.previousElementSibling) {
      list.insertBefore(li, li.previousElementSibling);
      await saveOrder();
    } else if (button.dataset.move === 'down' && li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
      await saveOrder();
    } else if ('delete' in button.dataset && window.confirm(button.dataset.confirmText)) {
      await api(`/tracks/${li.dataset.id}`, { method: 'DELETE', csrf });
      li.remove();
    }
  });

  // Tracks still processing when the page opened keep their bars moving.
  for (const li of list.children) {
    if (li.dataset.status === 'waiting' || li.dataset.status === 'processing') {
      const bar = li.querySelector('progress');
      const state = li.querySelector('.status');
      follow(li.dataset.id, { bar, state, li });
    }
  }
}
