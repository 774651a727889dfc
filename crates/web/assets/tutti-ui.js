// Helpers every studio's pages share: messages rendered by the server into `data-msg-*`
// attributes (so every word a script shows is translated), filling them with values that
// keep their own direction, and numbers in the page's language.

/**
 * A message getter for the messages rendered on `root`: `m('countdown', {seconds: 3})`
 * reads `data-msg-countdown` and replaces `{seconds}` by 3.
 */
export function messages(root) {
  const key = (name) => 'msg' + name.replace(/(^|-)([a-z0-9])/g, (_, __, c) => c.toUpperCase());
  const get = (name, vars = {}) => {
    const text = root.dataset[key(name)];
    if (text === undefined) {
      console.warn(`tutti: no message data-msg-${name} on the page`);
      return name;
    }
    return text.replace(/\{(\w+)\}/g, (all, v) => (v in vars ? String(vars[v]) : all));
  };
  get.has = (name) => key(name) in root.dataset;
  return get;
}

/**
 * Puts a message with `{placeholders}` into `el`; each value (a person's name, chat
 * text) sits in its own `<bdi>` so its direction does not mix with the interface's.
 * A value that is a Node is put in as it is (a link).
 */
export function fill(el, template, data = {}) {
  el.replaceChildren();
  template.split(/\{(\w+)\}/).forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) el.append(document.createTextNode(part));
    } else if (data[part] instanceof Node) {
      el.append(data[part]);
    } else if (part in data) {
      const bdi = document.createElement('bdi');
      bdi.textContent = String(data[part]);
      el.append(bdi);
    } else {
      el.append(document.createTextNode(`{${part}}`));
    }
  });
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
  return Boolean(t.closest('input, textarea, select, button, [contenteditable=""], [contenteditable="true"], dialog'));
}

const lang = () => document.documentElement.lang || undefined;

export function formatNumber(n, options) {
  try {
    return new Intl.NumberFormat(lang(), options).format(n);
  } catch {
    return String(n);
  }
}

/** 83.5 → "1:24", digits of the page's language. */
export function formatSeconds(seconds) {
  const total = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${formatNumber(m)}:${formatNumber(s, { minimumIntegerDigits: 2 })}`;
}
