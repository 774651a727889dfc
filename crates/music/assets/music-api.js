// Calls from the music pages: JSON under /api/v1/music with the page's CSRF token, and
// resumable uploads over tus 1.0 (/api/v1/uploads) with tus-js-client (vendored): a
// dropped connection asks the server how much arrived (HEAD) and continues from there.

import { Upload } from '/assets/tus.js';

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

/**
 * Uploads `file` with tus (tus-js-client) and resolves to the upload's id.
 * `onProgress(sent, total)` follows the bytes the server acknowledged. Network failures
 * and server errors are retried with backoff from the offset the server reports, and an
 * upload cut off by a reload continues where it stopped (its address is remembered in
 * localStorage until it succeeds).
 */
export function upload(file, { csrf, onProgress = () => {}, studio = 'music' } = {}) {
  return new Promise((resolve, reject) => {
    const job = new Upload(file, {
      endpoint: UPLOADS,
      chunkSize: CHUNK_BYTES,
      retryDelays: [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
      metadata: { filename: file.name, filetype: file.type || '', studio },
      headers: { 'X-CSRF-Token': csrf },
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => onProgress(sent, total),
      onShouldRetry: (error) => {
        const status = error.originalResponse?.getStatus() ?? 0;
        return status === 0 || status === 409 || status === 423 || status >= 500;
      },
      onError: (error) => {
        const response = error.originalResponse;
        let body = {};
        try {
          body = JSON.parse(response?.getBody() || '{}');
        } catch {
          body = {};
        }
        reject(new Problem(response?.getStatus() ?? 0, body && typeof body === 'object' ? body : {}));
      },
      onSuccess: () => resolve(job.url.split('/').filter(Boolean).pop()),
    });
    onProgress(0, file.size);
    job.findPreviousUploads()
      .then((previous) => {
        if (previous.length) job.resumeFromPreviousUpload(previous[0]);
        job.start();
      })
      .catch(() => job.start());
  });
}
