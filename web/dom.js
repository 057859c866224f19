// DOM helpers of the page's modules: look-up by id, element building (text only, never HTML:
// every string shown may come from a label or a registry), definition-list facts, downloads.

export const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `text` for textContent, others as attributes) and
 * children (null children are skipped). */
export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

/** A `dt`/`dd` pair in `dl`, unless the value is empty. */
export function fact(dl, label, value) {
  if (value == null || value === '') return;
  dl.append(el('dt', { text: label }), el('dd', { text: String(value) }));
}

/** Offers `text` as a file download named `name`. */
export function download(name, type, text) {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
