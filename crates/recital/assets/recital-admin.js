// The campaign admin page: sends a text file's bytes with the session's CSRF token (a
// plain form cannot carry a file to a JSON-first server) and shows its progress; and
// reloads while an export is being written so its progress bar moves.

const form = document.getElementById('file-form');
if (form) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const file = form.querySelector('input[type=file]').files[0];
    if (!file) return;
    const status = document.getElementById('f-status');
    const progress = document.getElementById('f-progress');
    const params = new URLSearchParams({ name: file.name });
    const title = form.querySelector('input[name=title]').value.trim();
    if (title) params.set('title', title);
    if (form.querySelector('input[name=list]').checked) params.set('list', 'true');
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${form.dataset.action}?${params}`);
    xhr.setRequestHeader('X-CSRF-Token', form.dataset.csrf);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    progress.hidden = false;
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        status.textContent = form.dataset.done;
        window.location.reload();
      } else {
        let detail = xhr.statusText;
        try { detail = JSON.parse(xhr.responseText).detail || detail; } catch { /* not JSON */ }
        status.textContent = detail;
        progress.hidden = true;
      }
    });
    xhr.addEventListener('error', () => { status.textContent = xhr.statusText || 'network error'; });
    xhr.send(file);
  });
}

if (document.querySelector('#exports tr[data-state="queued"], #exports tr[data-state="running"]')) {
  setTimeout(() => window.location.reload(), 2000);
}
