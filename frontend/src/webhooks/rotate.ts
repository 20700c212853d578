/**
 * Rotating a webhook's signing secret, confirmed. Standard Webhooks deliveries carry both
 * signatures for the overlap chosen here (receivers switch secrets without failed checks);
 * Hookline's header has room for one, so there the old secret stops at once.
 */
import type { Api, Webhook } from "../api";
import { OVERLAPS } from "../organisations/format";
import { confirmAction } from "../ui/confirm";
import { h } from "../ui/dom";
import { revealOnce } from "../ui/reveal";
import { schemeOf } from "./scheme";

export interface RotatedSecret {
  secret: string;
  secretMasked: string;
  previousSecretExpiresAt: string | null;
}

/** "" keeps the server's default overlap (HOOKLINE_SECRET_ROTATION_OVERLAP_SECONDS). */
export function overlapBody(choice: string): { overlapSeconds?: number } {
  return choice === "" ? {} : { overlapSeconds: Number(choice) };
}

export function rotateSecret(api: Api, id: string, body: { overlapSeconds?: number }): Promise<RotatedSecret> {
  return api.request("POST", `/v1/webhooks/${encodeURIComponent(id)}/secret/rotate`, body);
}

export function confirmRotateSecret(api: Api, webhook: Webhook, onRotated: () => void): void {
  const standard = schemeOf(webhook) === "standard-webhooks";
  const select = h("select", { class: "input", testid: "secret-overlap", attrs: { id: "secret-overlap", name: "overlap" } });
  select.append(h("option", { attrs: { value: "" }, text: "The default (24 hours unless configured)" }));
  for (const o of OVERLAPS) select.append(h("option", { attrs: { value: String(o.seconds) }, text: o.label }));
  let rotated: RotatedSecret | null = null;
  confirmAction({
    title: "Rotate signing secret?",
    testid: "rotate-secret-modal",
    action: "Rotate secret",
    focusBody: standard,
    body: standard
      ? [
          h("p", {}, "A new secret signs the deliveries of ", h("strong", { text: webhook.name }), ". Both signatures are sent, space-separated, until the overlap ends; then only the new one."),
          h("label", { class: "label", attrs: { for: "secret-overlap" }, text: "Old secret keeps signing for" }),
          select,
        ]
      : [
          h(
            "p",
            {},
            "A new secret signs the deliveries of ",
            h("strong", { text: webhook.name }),
            " at once: a receiver still checking with the old one refuses them until it has the new one. (Standard Webhooks signatures can overlap.)",
          ),
        ],
    run: async () => {
      rotated = await rotateSecret(api, webhook.id, standard ? overlapBody(select.value) : {});
    },
    after: () => {
      if (!rotated) return;
      onRotated();
      revealOnce({
        title: "New signing secret",
        intro: ["The new signing secret of ", h("strong", { text: webhook.name }), ":"],
        secret: rotated.secret,
        copyLabel: `Copy new secret of ${webhook.name}`,
        note: "Give it to your receiver now; the card's copy button reveals it again later.",
      });
    },
  });
}
