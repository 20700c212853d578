/**
 * Signature schemes per webhook (SPEC 7): Hookline's own (the default, the seed's headers)
 * or Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature "v1,<base64>").
 */
export type SignatureScheme = "hookline" | "standard-webhooks";

export const SCHEMES: readonly { value: SignatureScheme; label: string; headers: string }[] = [
  { value: "hookline", label: "Hookline", headers: "x-webhook-timestamp, x-webhook-signature (hex HMAC-SHA256)" },
  {
    value: "standard-webhooks",
    label: "Standard Webhooks",
    headers: "webhook-id, webhook-timestamp, webhook-signature (v1,<base64>): verifiable with the standardwebhooks libraries",
  },
];

/** The scheme of a webhook as the API gave it; a server without schemes signs the Hookline way. */
export function schemeOf(w: { id: string; signatureScheme?: string | null }): SignatureScheme {
  return w.signatureScheme === "standard-webhooks" ? "standard-webhooks" : "hookline";
}

export function schemeLabel(scheme: SignatureScheme): string {
  return SCHEMES.find((s) => s.value === scheme)?.label ?? scheme;
}

/**
 * What the form sends: the choice when it changes anything (a new webhook off the default,
 * or an edit that switches), so a save that leaves the scheme alone does not mention it.
 */
export function schemeToSend(chosen: SignatureScheme, existing: SignatureScheme | null): { signatureScheme?: SignatureScheme } {
  const current = existing ?? "hookline";
  return chosen === current ? {} : { signatureScheme: chosen };
}
