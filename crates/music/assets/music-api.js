// Calls from the music pages: JSON under /api/v1/music with the page's CSRF token, and
// resumable uploads over tus 1.0 (/api/v1/uploads): a dropped connection asks the server
// how much arrived (HEAD) and continues from there.

export const API = '/api/v1/music';
const UPLOADS = '/api/v1/uploads';
const CHUNK_BYTES = 8 * 1024 * 1024;

/** A problem document the server answered, or a network failure (`status` 0). */
export class Problem extends Error {
  constructor(status, body = {}) {
    super(body.detail || body.title || (status ? `HTTP ${status}` : 'network error'));
    this.status = status;
    this.field = body.field ?? null;
    this.type = body.type || 'about:blank';
  }
}

async function problemOf(response) {
  let body = {};
  try {
    body = JSON.parse(await response.text());
  } catch {
    body = {};
  }
  return new Problem(response.status, body && typeof body === 'object' ? body : {});
}

/** JSON call under the music API; resolves to the answer (null for 204). */
export async function api(path, { method = 'GET', body, csrf = '' } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new Problem(0);
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

function metadata(pairs) {
  const utf8 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  return Object.entries(pairs)
    .map(([k, v]) => `${k} ${utf8(String(v))}`)
    .join(',');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Uploads `file` with tus and resolves to the upload's id. `onProgress(sent, total)` is
 * called as bytes are acknowledged. Network failures are retried with backoff, from the
 * offset the server reports.
 */
export async function upload(file, { csrf, onProgress = () => {}, studio = 'music' } = {}) {
  const tus = { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': csrf };
  const created = await fetch(UPLOADS, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      ...tus,
      'Upload-Length': String(file.size),
      'Upload-Metadata': metadata({ filename: file.name, filetype: file.type || '', studio }),
    },
  });
  if (!created.ok) throw await problemOf(created);
  const location = created.headers.get('Location');
  const id = location.split('/').filter(Boolean).pop();
  let offset = 0;
  let failures = 0;
  onProgress(0, file.size);
  while (offset < file.size) {
    try {
      const body = file.slice(offset, Math.min(file.size, offset + CHUNK_BYTES));
      const sent = await fetch(location, {
        method: 'PATCH',
        credentials: 'same-origin',
        headers: { ...tus, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
        body,
      });
      if (sent.status === 409 || sent.status >= 500) {
        throw new Problem(sent.status);
      }
      if (!sent.ok) throw await problemOf(sent);
      offset = Number(sent.headers.get('Upload-Offset'));
      failures = 0;
      onProgress(offset, file.size);
    } catch (error) {
      if (error instanceof Problem && error.status && error.status < 500 && error.status !== 409) throw error;
      failures += 1;
      if (failures > 8) throw error;
      await sleep(Math.min(30000, 500 * 2 ** failures));
      const head = await fetch(location, { method: 'HEAD', credentials: 'same-origin', headers: tus }).catch(() => null);
      if (head?.ok) offset = Number(head.headers.get('Upload-Offset'));
    }
  }
  return id;
}
