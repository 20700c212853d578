/**
 * DOM helpers. Every string becomes a text node or an attribute value: nothing here
 * parses HTML, so a webhook named `<img onerror=...>` is shown, never run.
 */

export type Child = Node | string | number | null | undefined | false;

type Handlers = { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };

export interface Props {
  class?: string;
  testid?: string;
  text?: string;
  attrs?: Record<string, string | number | boolean | null | undefined>;
  on?: Handlers;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.testid) el.dataset.testid = props.testid;
  if (props.attrs) setAttrs(el, props.attrs);
  if (props.on) {
    for (const [name, handler] of Object.entries(props.on)) {
      el.addEventListener(name, handler as EventListener);
    }
  }
  if (props.text !== undefined) el.textContent = props.text;
  append(el, ...children);
  return el;
}

export function setAttrs(el: Element, attrs: NonNullable<Props["attrs"]>): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) el.removeAttribute(name);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A small "Loading…" / error placeholder used while a page fetches. */
export function statusLine(text: string, kind: "muted" | "error" = "muted"): HTMLElement {
  return h("p", { class: `status-line ${kind}`, text, attrs: { role: kind === "error" ? "alert" : "status" } });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Puts exactly `nodes` into `parent`, in order, moving as little as possible: kept nodes
 * stay attached, so a scrolled payload block or a focused button survives a re-render.
 */
export function reconcile(parent: Element, nodes: readonly Node[]): void {
  nodes.forEach((node, i) => {
    const at = parent.childNodes[i] ?? null;
    if (at !== node) parent.insertBefore(node, at);
  });
  while (parent.childNodes.length > nodes.length) parent.lastChild?.remove();
}
