/**
 * "Recover…" and "Replay missing…" on the delivery log: after an outage, send a window's
 * failed (or cancelled) deliveries again in one go, or create the deliveries a webhook never
 * had. The forms only gather the window; the API validates (its 422 shows under the field)
 * and refuses a disabled webhook (409, shown as is). A recovery's progress is polled from
 * GET /v1/recoveries/{id} until it is done.
 */
import { ApiError, type Api, type Webhook } from "../api";
import { CATALOGUE, sortTypes } from "../catalogue";
import { getRecovery, recover, replayMissing, type RecoverStatus, type Recovery, type ReplayResult } from "../operations";
import { errorMessage, h, replace } from "../ui/dom";
import { openModal } from "../ui/modal";
import { formatDateTime } from "../ui/time";
import { fromLocalInput, toLocalInput } from "./filters";

const DAY_MS = 24 * 3600 * 1000;
const POLL_MS = 1000;
const RECOVER_STATUSES: readonly RecoverStatus[] = ["failed", "cancelled"];
const STATE_TEXT: Record<Recovery["state"], string> = { running: "Running", done: "Done", stopped: "Stopped" };
const STATE_BADGE: Record<Recovery["state"], string> = { running: "badge-amber", done: "badge-green", stopped: "badge-red" };

/** Which form field an API error key belongs to ("since", "body.until", "eventTypes.0" …). */
export function windowField(key: string, fields: readonly string[]): string | null {
  for (const part of key.split(/[.[\]]/)) if (fields.includes(part)) return part;
  return null;
}

/** "3 of 5 queued again" while running, or the final count. */
export function recoveryText(r: Pick<Recovery, "state" | "matched" | "queued">): string {
  if (r.matched === 0) return "No delivery matched: nothing to send again.";
  const of = `${r.queued} of ${r.matched} matching deliver${r.matched === 1 ? "y" : "ies"}`;
  if (r.state === "stopped") return `Stopped: ${of} queued again; the webhook was disabled or deleted meanwhile.`;
  return r.state === "done" ? `Done: ${of} queued again.` : `Running: ${of} queued again so far…`;
}

export function replayText(r: ReplayResult): string {
  const n = `${r.created} deliver${r.created === 1 ? "y" : "ies"}`;
  const clamped = r.clamped ? ` (the window starts at ${formatDateTime(r.since)}: older events are no longer kept)` : "";
  return `${r.created === 0 ? "No missing deliveries" : `Created ${n}`} for events this webhook never had${clamped}.`;
}

interface WindowForm {
  form: HTMLFormElement;
  errors: Record<string, HTMLElement>;
  since: HTMLInputElement;
  until: HTMLInputElement;
  formError: HTMLElement;
  submit: HTMLButtonElement;
  cancel: HTMLButtonElement;
}

function windowForm(prefix: string, submitText: string, extra: HTMLElement[], fields: readonly string[]): WindowForm {
  const errors: Record<string, HTMLElement> = {};
  for (const f of fields) errors[f] = h("p", { class: "field-error", testid: `${prefix}-error-${f}`, attrs: { id: `${prefix}-${f}-error` } });
  const since = h("input", {
    class: "input",
    testid: `${prefix}-since`,
    attrs: { id: `${prefix}-since`, type: "datetime-local", required: true, "aria-describedby": `${prefix}-since-error` },
  });
  since.value = toLocalInput(new Date(Date.now() - DAY_MS).toISOString());
  const until = h("input", {
    class: "input",
    testid: `${prefix}-until`,
    attrs: { id: `${prefix}-until`, type: "datetime-local", "aria-describedby": `${prefix}-until-hint ${prefix}-until-error` },
  });
  const formError = h("p", { class: "form-error", testid: `${prefix}-form-error`, attrs: { role: "alert" } });
  const submit = h("button", { class: "btn btn-primary", testid: `${prefix}-submit`, attrs: { type: "submit", form: `${prefix}-form` }, text: submitText });
  const cancel = h("button", { class: "btn", testid: `${prefix}-cancel`, attrs: { type: "button" }, text: "Cancel" });
  const form = h(
    "form",
    { attrs: { id: `${prefix}-form`, novalidate: true }, testid: `${prefix}-form` },
    h(
      "div",
      { class: "limit-row" },
      h("div", { class: "field" }, h("label", { class: "label", attrs: { for: `${prefix}-since` }, text: "From" }), since, errors.since),
      h(
        "div",
        { class: "field" },
        h("label", { class: "label", attrs: { for: `${prefix}-until` }, text: "To" }),
        until,
        h("p", { class: "hint", attrs: { id: `${prefix}-until-hint` }, text: "Empty: until now." }),
        errors.until,
      ),
    ),
    ...extra,
    formError,
  );
  return { form, errors, since, until, formError, submit, cancel };
}

function showApiError(f: WindowForm, err: unknown, fields: readonly string[]): void {
  if (!(err instanceof ApiError)) {
    f.formError.textContent = errorMessage(err);
    return;
  }
  const general: string[] = [];
  for (const [key, message] of Object.entries(err.fields)) {
    const field = windowField(key, fields);
    const target = field ? f.errors[field] : undefined;
    if (target) target.textContent = target.textContent ? `${target.textContent} ${message}` : message;
    else general.push(message);
  }
  if (general.length > 0 || Object.keys(err.fields).length === 0) f.formError.textContent = general.join(" ") || err.message;
}

function clearErrors(f: WindowForm): void {
  f.formError.textContent = "";
  for (const el of Object.values(f.errors)) el.textContent = "";
}

/** The window as the API takes it; null (and a message under "From") when "From" is empty. */
function windowValue(f: WindowForm): { since: string; until?: string } | null {
  const since = fromLocalInput(f.since.value);
  if (!since) {
    if (f.errors.since) f.errors.since.textContent = "Choose when the window starts.";
    f.since.focus();
    return null;
  }
  const until = fromLocalInput(f.until.value);
  return until ? { since, until } : { since };
}

/** Submitting a window form: the window checked, `send` called once (the button disabled
 * meanwhile), the dialog closed with the answer for `onOk`, or the API's errors under their fields. */
function onWindowSubmit<T>(
  f: WindowForm,
  fields: readonly string[],
  modal: { close(): void },
  onOk: (answer: T) => void,
  send: (window_: { since: string; until?: string }) => Promise<T>,
): void {
  f.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const window_ = windowValue(f);
    if (!window_) return;
    f.submit.disabled = true;
    send(window_)
      .then((answer) => {
        modal.close();
        onOk(answer);
      })
      .catch((err: unknown) => {
        f.submit.disabled = false;
        showApiError(f, err, fields);
      });
  });
}

/** The Recover… dialog; `onStarted` gets the 202's recovery. */
export function openRecover(api: Api, webhook: Webhook, onStarted: (r: Recovery) => void): void {
  const fields = ["since", "until", "statuses", "eventTypes"];
  const statusBoxes = RECOVER_STATUSES.map((s) => {
    const box = h("input", { testid: `recover-status-${s}`, attrs: { type: "checkbox", id: `recover-status-${s}`, value: s } });
    box.checked = true;
    return { s, box, label: h("label", { class: "check check-compact", attrs: { for: `recover-status-${s}` } }, box, h("span", { class: "check-title", text: s })) };
  });
  const typeBoxes = sortTypes(webhook.events).map((t) => {
    const box = h("input", { testid: `recover-event-${t}`, attrs: { type: "checkbox", id: `recover-event-${t}`, value: t } });
    return {
      t,
      box,
      label: h(
        "label",
        { class: "check check-compact", attrs: { for: `recover-event-${t}` } },
        box,
        h("span", { class: "check-title" }, h("span", { class: `dot dot-${CATALOGUE[t].colour}` }), CATALOGUE[t].label),
      ),
    };
  });
  const errorsFor = (name: string): HTMLElement => h("p", { class: "field-error", testid: `recover-error-${name}` });
  const statusErr = errorsFor("statuses");
  const typeErr = errorsFor("eventTypes");
  const f = windowForm(
    "recover",
    "Recover deliveries",
    [
      h("fieldset", { class: "field" }, h("legend", { class: "label", text: "Deliveries that ended" }), h("div", { class: "check-row" }, ...statusBoxes.map((b) => b.label)), statusErr),
      h(
        "fieldset",
        { class: "field" },
        h("legend", { class: "label", text: "Event types" }),
        h("div", { class: "check-row" }, ...typeBoxes.map((b) => b.label)),
        h("p", { class: "hint", text: "None selected: every type this webhook receives." }),
        typeErr,
      ),
      h("p", {
        class: "hint",
        text: "Every matching delivery is queued again and sent by the dispatcher with a fresh signature. Running it twice never queues a delivery that is already waiting.",
      }),
    ],
    ["since", "until"],
  );
  f.errors.statuses = statusErr;
  f.errors.eventTypes = typeErr;
  const modal = openModal({ title: "Recover deliveries", testid: "recover-modal", body: [f.form], footer: [f.cancel, f.submit] });
  f.cancel.addEventListener("click", () => modal.close());
  onWindowSubmit(f, fields, modal, onStarted, (window_) => {
    const eventTypes = typeBoxes.filter((b) => b.box.checked).map((b) => b.t);
    const input = {
      ...window_,
      statuses: statusBoxes.filter((b) => b.box.checked).map((b) => b.s),
      ...(eventTypes.length > 0 ? { eventTypes } : {}),
    };
    return recover(api, webhook.id, input);
  });
}

/** The Replay missing… dialog; `onDone` gets the count created. */
export function openReplay(api: Api, webhook: Webhook, onDone: (r: ReplayResult) => void): void {
  const fields = ["since", "until"];
  const f = windowForm(
    "replay",
    "Create missing deliveries",
    [
      h("p", {
        class: "hint",
        text: `Events of ${webhook.name}'s types (and organisations) accepted in the window that it never received get a delivery now, e.g. a webhook created today receiving yesterday's events.`,
      }),
    ],
    fields,
  );
  const modal = openModal({ title: "Replay missing events", testid: "replay-modal", body: [f.form], footer: [f.cancel, f.submit] });
  f.cancel.addEventListener("click", () => modal.close());
  onWindowSubmit(f, fields, modal, onDone, (window_) => replayMissing(api, webhook.id, window_));
}

export interface RecoveryView {
  el: HTMLElement;
  stop(): void;
}

/** The progress strip of one recovery, polled while it runs; `onDone` fires once it ends (done or stopped). */
export function recoveryProgress(api: Api, initial: Recovery, onDone: (r: Recovery) => void): RecoveryView {
  const bar = h("div", { class: "progress-fill" });
  const text = h("span", { testid: "recovery-text" });
  const el = h(
    "section",
    { class: "recovery-progress card-surface", testid: "recovery-progress", attrs: { role: "status", "aria-live": "polite", "data-recovery-id": initial.id } },
    h("div", { class: "recovery-head" }, h("strong", { text: "Recovery" }), h("code", { class: "small muted", text: initial.id })),
    h("div", { class: "progress", attrs: { role: "progressbar", "aria-label": "Queued again" } }, bar),
    text,
  );
  let timer: number | undefined;
  let stopped = false;
  let finished = false;

  function render(r: Recovery): void {
    el.dataset.state = r.state;
    el.dataset.matched = String(r.matched);
    el.dataset.queued = String(r.queued);
    const pct = r.matched > 0 ? Math.round((100 * r.queued) / r.matched) : 100;
    bar.style.width = `${pct}%`;
    el.querySelector(".progress")?.setAttribute("aria-valuenow", String(pct));
    replace(
      text,
      h("span", { class: `badge ${STATE_BADGE[r.state]}`, testid: "recovery-state", text: STATE_TEXT[r.state] }),
      " ",
      h("span", { testid: "recovery-summary", text: recoveryText(r) }),
    );
    if (r.state !== "running" && !finished) {
      finished = true;
      onDone(r);
    }
  }

  function poll(): void {
    if (stopped || finished) return;
    timer = window.setTimeout(() => {
      getRecovery(api, initial.id)
        .then((r) => {
          if (!stopped) render(r);
        })
        .catch((err: unknown) => {
          if (!stopped) replace(text, h("span", { class: "field-error", text: `Could not read the recovery: ${errorMessage(err)}` }));
        })
        .finally(poll);
    }, POLL_MS);
  }

  render(initial);
  poll();
  return {
    el,
    stop() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
