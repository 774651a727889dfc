// Small helpers the recital pages share: messages rendered by the server into `data-msg-*`
// attributes (so every word a script shows is translated), placeholders filled in,
// durations and numbers formatted in the page's language.

/**
 * A message getter for the messages rendered on `root`: `m('upload-pending', {n: 3})`
 * reads `data-msg-upload-pending` and replaces `{n}` by 3.
 */
export function messages(root) {
  const get = (name, vars = {}) => {
    const key = 'msg' + name.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase());
    const text = root.dataset[key];
    if (text === undefined) {
      console.warn(`recital: no message data-msg-${name} on the page`);
      return name;
    }
    return text.replace(/\{(\w+)\}/g, (all, v) => (v in vars ? String(vars[v]) : all));
  };
  get.has = (name) => ('msg' + name.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase())) in root.dataset;
  return get;
}

/**
 * Puts a message with placeholders into `el`, each value of `data` (user or campaign data,
 * such as a label) isolated in its own `<bdi>` so its direction does not mix with the
 * interface's. `template` is the raw message with `{name}` placeholders.
 */
export function fill(el, template, data = {}) {
  el.replaceChildren();
  const parts = template.split(/\{(\w+)\}/);
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) el.append(document.createTextNode(part));
    } else if (part in data) {
      const bdi = document.createElement('bdi');
      bdi.textContent = String(data[part]);
      el.append(bdi);
    } else {
      el.append(document.createTextNode(`{${part}}`));
    }
  });
}

/** The raw message text of `name` on `root`, placeholders left in (for `fill`). */
export function rawMessage(root, name) {
  const key = 'msg' + name.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase());
  return root.dataset[key] ?? name;
}

const lang = () => document.documentElement.lang || undefined;

/** 83500 → "1:23" (or "1:01:23"), digits of the page's language. */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor((ms || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

export function formatNumber(n, options) {
  try {
    return new Intl.NumberFormat(lang(), options).format(n);
  } catch {
    return String(n);
  }
}

/** 1536 → "1.5 kB", in the page's language. */
export function formatBytes(bytes) {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  try {
    return new Intl.NumberFormat(lang(), {
      style: 'unit', unit: units[unit], unitDisplay: 'short', maximumFractionDigits: unit ? 1 : 0,
    }).format(value);
  } catch {
    return `${Math.round(value)} ${['B', 'kB', 'MB', 'GB'][unit]}`;
  }
}

/** What to tell the person about a failed call: the problem's detail, else a fallback. */
export function problemText(m, problem) {
  if (problem && problem.network) return m('error-network');
  if (problem && problem.detail) return problem.detail;
  return m('error-generic');
}

/** Shows `text` in `el` (and unhides it), or hides `el` when `text` is empty. */
export function show(el, text) {
  if (!el) return;
  el.textContent = text || '';
  el.hidden = !text;
}

/** Whether a key event comes from a place where keys mean typing or pressing. */
export function typingTarget(event) {
  const t = event.target;
  if (!(t instanceof Element)) return false;
  return Boolean(t.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"], dialog'));
}

export const reducedMotion = () => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
