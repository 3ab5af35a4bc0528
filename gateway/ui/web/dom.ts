// A tiny DOM builder: elements from tag, attributes and children. Text always goes in as text
// nodes (never as HTML), so names, labels and manifests from the registry cannot inject markup.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'class') el.className = String(value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces everything in `parent` with `children`. */
export function show(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A numeric column's heading: right-aligned, as its cells are. */
export interface NumericHeading {
  num: string;
}

/** The UI's one kind of table: `table.list` with a row of headings and a body of rows. */
export function listTable(attrs: Attrs, headings: Array<string | NumericHeading | null>, ...rows: Child[]): HTMLTableElement {
  const ths = headings.map((title) => (title === null ? null : typeof title === 'string' ? h('th', null, title) : h('th', { class: 'num' }, title.num)));
  return h('table', { ...attrs, class: 'list' }, h('thead', null, h('tr', null, ths)), h('tbody', null, rows));
}
