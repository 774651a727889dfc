// What the choir pages share beyond the platform's helpers (tutti-ui.js, re-exported
// here): what the join page leaves for the room page in sessionStorage.

export { messages, fill, show, typingTarget, formatNumber, formatSeconds } from './tutti-ui.js';

// ---- What the join page leaves for the room page ----------------------------------------

/** Calibration results are trusted this long (headphones move, rooms get noisy). */
export const VALID_MS = 30 * 60 * 1000;
const key = (room) => `tutti-choir:${room}`;

/**
 * The stored place in a room: `{name, part, latency, gain, seat, token, saved}`, or null
 * when there is none or it is older than VALID_MS (`any` also returns an old one, for
 * its seat and name).
 */
export function loadPlace(room, { any = false } = {}) {
  try {
    const place = JSON.parse(sessionStorage.getItem(key(room)) || 'null');
    if (!place || typeof place !== 'object') return null;
    if (!any && !(Date.now() - (place.saved || 0) < VALID_MS)) return null;
    return place;
  } catch {
    return null;
  }
}

export function savePlace(room, place) {
  const value = { ...place, saved: Date.now() };
  try {
    sessionStorage.setItem(key(room), JSON.stringify(value));
  } catch {
    // Storage full or off: the room page will send the person back here.
  }
  return value;
}

/** A seat: a random string made once per room and browser session. */
export function newSeat() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
