// JSON calls to the recital API (/api/v1/recital) from the speaker's pages: same-origin
// credentials, the page's CSRF token on every call that changes something, JSON bodies,
// and RFC 9457 problem documents turned into a `Problem` error whose `detail` is what the
// page shows.

export const API = '/api/v1/recital';

const RETRY_AFTER_MAX_MS = 5 * 60 * 1000;

/** The answer's `Retry-After` in milliseconds (seconds or an HTTP date), or null. */
export function retryAfterMs(response) {
  const value = response?.headers?.get('Retry-After');
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(RETRY_AFTER_MAX_MS, Math.max(0, seconds * 1000));
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.min(RETRY_AFTER_MAX_MS, Math.max(0, date - Date.now()));
  return null;
}

/** A problem document the server answered (or a network failure, `status` 0). */
export class Problem extends Error {
  constructor({ status = 0, type = 'about:blank', title = '', detail = '', field = null } = {}) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.type = type;
    this.title = title;
    this.detail = detail || title || '';
    this.field = field;
  }

  /** The last segment of the problem's type (`…/session-ended` → `session-ended`). */
  get kind() {
    return String(this.type || '').split(/[/#]/).filter(Boolean).pop() || '';
  }

  /** Whether the request never reached the server (offline, connection reset). */
  get network() {
    return this.status === 0;
  }

  static async from(response) {
    let body = {};
    try {
      const text = await response.text();
      if (text) body = JSON.parse(text);
    } catch {
      body = {};
    }
    if (typeof body !== 'object' || body === null) body = {};
    const problem = new Problem({
      status: response.status,
      type: body.type,
      title: body.title || response.statusText,
      detail: body.detail,
      field: body.field ?? null,
    });
    problem.retryAfter = retryAfterMs(response);
    return problem;
  }
}

/**
 * Calls `path` under the recital API. `body` (if given) is sent as JSON. Resolves to the
 * parsed JSON answer, `null` for an empty one (204); rejects with a `Problem`.
 */
export async function api(path, { method = 'GET', body, csrf = '', signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new Problem({ status: 0, detail: '' });
  }
  if (!response.ok) throw await Problem.from(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** The page's CSRF token, rendered into `data-csrf` on the page's root element. */
export function csrfOf(root) {
  return root.dataset.csrf || document.querySelector('[data-csrf]')?.dataset.csrf || '';
}
