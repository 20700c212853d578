/** Create / edit modal. Shows the API's 422 messages under each field; the API is the validator. */
import { ApiError, type Api, type Webhook } from "../api";
import { CATALOGUE, EVENT_TYPES, type EventType } from "../catalogue";
import { errorMessage, h } from "../ui/dom";
import { openModal } from "../ui/modal";
import { organisationPicker } from "./routing";
import { SCHEMES, schemeOf, schemeToSend, type SignatureScheme } from "./scheme";
import { TRACEPARENT_HINT, traceparentOf, traceparentToSend } from "./traceparent";

type Field = "name" | "url" | "events" | "maxInFlight" | "ratePerSecond" | "signatureScheme" | "organisationIds";
const FIELDS: readonly Field[] = ["name", "url", "events", "maxInFlight", "ratePerSecond", "signatureScheme", "organisationIds"];

/** An optional limit as typed: empty means no limit (null); anything else is sent as a number
 * and the API validates it (its 422 shows under the field). */
export function limitValue(raw: string): number | null {
  const text = raw.trim();
  return text === "" ? null : Number(text);
}

function limitInput(id: Field, placeholder: string, value: number | null | undefined): HTMLInputElement {
  const input = h("input", {
    class: "input",
    testid: `webhook-${id}-input`,
    attrs: { id: `wh-${id}`, name: id, type: "number", min: "0", step: "any", placeholder, "aria-describedby": `wh-${id}-error` },
  });
  input.value = value === null || value === undefined ? "" : String(value);
  return input;
}

/** Maps an API field key ("url", "events.0", "body.name") to the form field it belongs to. */
export function fieldFor(key: string): Field | null {
  for (const part of key.split(/[.[\]]/)) {
    if ((FIELDS as readonly string[]).includes(part)) return part as Field;
  }
  return null;
}

export function openWebhookForm(api: Api, existing: Webhook | null, onSaved: (w: Webhook) => void): void {
  const editing = existing !== null;
  const errors = {} as Record<Field, HTMLElement>;
  for (const f of FIELDS) {
    errors[f] = h("p", { class: "field-error", testid: `field-error-${f}`, attrs: { id: `wh-${f}-error` } });
  }
  const nameInput = h("input", {
    class: "input",
    testid: "webhook-name-input",
    attrs: { id: "wh-name", name: "name", autocomplete: "off", "aria-describedby": "wh-name-error" },
  });
  nameInput.value = existing?.name ?? "";
  const urlInput = h("input", {
    class: "input",
    testid: "webhook-url-input",
    attrs: {
      id: "wh-url",
      name: "url",
      type: "url",
      inputmode: "url",
      autocomplete: "off",
      placeholder: "https://yourdomain.com/reseller/events",
      "aria-describedby": "wh-url-hint wh-url-error",
    },
  });
  urlInput.value = existing?.url ?? "";
  const boxes = EVENT_TYPES.map((type) => {
    const info = CATALOGUE[type];
    const box = h("input", {
      testid: `webhook-event-${type}`,
      attrs: { type: "checkbox", name: "events", value: type, id: `wh-ev-${type}` },
    });
    box.checked = existing?.events.includes(type) ?? false;
    const label = h(
      "label",
      { class: "check", attrs: { for: `wh-ev-${type}` } },
      box,
      h(
        "span",
        { class: "check-text" },
        h("span", { class: "check-title" }, h("span", { class: `dot dot-${info.colour}` }), info.label),
        h("code", { class: "small", text: type }),
        h("span", { class: "muted small", text: info.description }),
      ),
    );
    return { type, box, label };
  });
  const existingScheme = existing ? schemeOf(existing) : null;
  const schemeRadios = SCHEMES.map((scheme) => {
    const radio = h("input", {
      testid: `webhook-scheme-${scheme.value}`,
      attrs: { type: "radio", name: "signatureScheme", value: scheme.value, id: `wh-scheme-${scheme.value}` },
    });
    radio.checked = scheme.value === (existingScheme ?? "hookline");
    const label = h(
      "label",
      { class: "check", attrs: { for: `wh-scheme-${scheme.value}` } },
      radio,
      h(
        "span",
        { class: "check-text" },
        h("span", { class: "check-title", text: scheme.label }),
        h("span", { class: "muted small", text: scheme.headers }),
      ),
    );
    return { value: scheme.value, radio, label };
  });
  const chosenScheme = (): SignatureScheme => schemeRadios.find((r) => r.radio.checked)?.value ?? "hookline";
  const maxInFlightInput = limitInput("maxInFlight", "No limit", existing?.maxInFlight);
  const rateInput = limitInput("ratePerSecond", "No limit", existing?.ratePerSecond);
  const existingTraceparent = existing ? traceparentOf(existing) : null;
  const traceparentBox = h("input", {
    testid: "webhook-traceparent-input",
    attrs: { type: "checkbox", name: "sendTraceparent", id: "wh-sendTraceparent", "aria-describedby": "wh-sendTraceparent-hint" },
  });
  traceparentBox.checked = existingTraceparent ?? false;
  const orgPicker = organisationPicker(api, existing?.organisationIds ?? [], errors.organisationIds);
  const formError = h("p", { class: "form-error", testid: "form-error", attrs: { role: "alert" } });
  const submit = h("button", {
    class: "btn btn-primary",
    testid: "webhook-submit",
    attrs: { type: "submit", form: "webhook-form" },
    text: editing ? "Update Webhook" : "Create Webhook",
  });
  const cancel = h("button", {
    class: "btn",
    testid: "webhook-cancel",
    attrs: { type: "button" },
    text: "Cancel",
  });

  const form = h(
    "form",
    { attrs: { id: "webhook-form", novalidate: true }, testid: "webhook-form" },
    h(
      "div",
      { class: "field" },
      h("label", { class: "label", attrs: { for: "wh-name" }, text: "Webhook Name" }),
      nameInput,
      errors.name,
    ),
    h(
      "div",
      { class: "field" },
      h("label", { class: "label", attrs: { for: "wh-url" }, text: "Webhook URL" }),
      urlInput,
      h("p", {
        class: "hint",
        attrs: { id: "wh-url-hint" },
        text: "Only public HTTPS URLs are accepted: no localhost, private IPs or plain HTTP.",
      }),
      errors.url,
    ),
    h(
      "fieldset",
      { class: "field", attrs: { "aria-describedby": "wh-events-error" } },
      h("legend", { class: "label", text: "Events" }),
      h("div", { class: "check-list" }, ...boxes.map((b) => b.label)),
      errors.events,
    ),
    orgPicker.el,
    h(
      "fieldset",
      { class: "field", testid: "webhook-scheme-field", attrs: { "aria-describedby": "wh-signatureScheme-error" } },
      h("legend", { class: "label", text: "Signature scheme" }),
      h("div", { class: "check-list" }, ...schemeRadios.map((r) => r.label)),
      existing
        ? h("p", {
            class: "hint",
            testid: "webhook-scheme-hint",
            text: "Switching the scheme makes a new secret in its format at once: copy it from the card to your receiver.",
          })
        : null,
      errors.signatureScheme,
    ),
    h(
      "fieldset",
      { class: "field" },
      h("legend", { class: "label", text: "Delivery limits (optional)" }),
      h(
        "div",
        { class: "limit-row" },
        h(
          "div",
          {},
          h("label", { class: "small", attrs: { for: "wh-maxInFlight" }, text: "Attempts at once" }),
          maxInFlightInput,
          errors.maxInFlight,
        ),
        h(
          "div",
          {},
          h("label", { class: "small", attrs: { for: "wh-ratePerSecond" }, text: "Attempts per second" }),
          rateInput,
          errors.ratePerSecond,
        ),
      ),
      h("p", {
        class: "hint",
        text: "Held across every worker. Empty: Hookline adapts to the endpoint by itself.",
      }),
    ),
    h(
      "div",
      { class: "field", testid: "webhook-traceparent-field" },
      h(
        "label",
        { class: "check", attrs: { for: "wh-sendTraceparent" } },
        traceparentBox,
        h(
          "span",
          { class: "check-text" },
          h("span", { class: "check-title", text: "Send traceparent header" }),
          h("span", { class: "muted small", attrs: { id: "wh-sendTraceparent-hint" }, testid: "webhook-traceparent-hint", text: TRACEPARENT_HINT }),
        ),
      ),
    ),
    formError,
  );

  const inputs: Record<Field, HTMLElement> = {
    name: nameInput,
    url: urlInput,
    events: boxes[0]?.box ?? nameInput,
    maxInFlight: maxInFlightInput,
    ratePerSecond: rateInput,
    organisationIds: orgPicker.el,
    signatureScheme: schemeRadios[0]?.radio ?? nameInput,
  };

  function clearErrors(): void {
    formError.textContent = "";
    for (const f of FIELDS) {
      errors[f].textContent = "";
      inputs[f].removeAttribute("aria-invalid");
    }
  }

  function showErrors(err: ApiError): void {
    let first: Field | null = null;
    const general: string[] = [];
    for (const [key, message] of Object.entries(err.fields)) {
      const field = fieldFor(key);
      if (!field) {
        general.push(message);
        continue;
      }
      errors[field].textContent = errors[field].textContent ? `${errors[field].textContent} ${message}` : message;
      inputs[field].setAttribute("aria-invalid", "true");
      first = first ?? field;
    }
    if (first === null || general.length > 0) formError.textContent = general.join(" ") || err.message;
    (first ? inputs[first] : submit).focus();
  }

  const modal = openModal({
    title: editing ? "Edit Webhook" : "Add Webhook",
    testid: "webhook-modal",
    body: [form],
    footer: [cancel, submit],
  });
  cancel.addEventListener("click", () => modal.close());

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors();
    const events: EventType[] = boxes.filter((b) => b.box.checked).map((b) => b.type);
    const input = {
      name: nameInput.value,
      url: urlInput.value.trim(),
      events,
      maxInFlight: limitValue(maxInFlightInput.value),
      ratePerSecond: limitValue(rateInput.value),
      organisationIds: orgPicker.value(),
      ...schemeToSend(chosenScheme(), existingScheme),
      ...traceparentToSend(traceparentBox.checked, existingTraceparent),
    };
    submit.disabled = true;
    const request = existing ? api.updateWebhook(existing.id, input) : api.createWebhook(input);
    request
      .then((saved) => {
        modal.close();
        onSaved(saved);
      })
      .catch((err: unknown) => {
        submit.disabled = false;
        if (err instanceof ApiError) showErrors(err);
        else formError.textContent = errorMessage(err);
      });
  });
}
