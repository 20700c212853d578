// A Standard Webhooks receiver built on the `standardwebhooks` npm package, the way
// docs/signing.md tells an Express user to write one: `express.json()` parses the body,
// and the signature is verified over `JSON.stringify(req.body)` (re-serialised). The raw
// body is verified too (what a careful receiver does), so both ways are proven.
// Test-only; binds 127.0.0.1.
//
// usage: node standard_receiver.mjs [port]     (port 0 or absent = ephemeral)
// first stdout line: "LISTENING <port>"
//
//   POST   /hooks/:name          verify with each of the endpoint's secrets, ONE secret per
//                                 `Webhook` (as a receiver that knows only that secret);
//                                 200 if any secret verifies both ways, else 401
//   POST   /secrets {name, secret}  one more secret for the endpoint `name`
//   GET    /received             the records, oldest first
//   DELETE /received             forget them
import crypto from "node:crypto";
import express from "express";
import { Webhook } from "standardwebhooks";

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const endpoints = new Map(); // name -> [secret, ...]
let records = [];

function verifies(secret, payload, headers) {
  try {
    new Webhook(secret).verify(payload, headers);
    return true;
  } catch (error) {
    return false;
  }
}

const app = express();

app.post(
  "/hooks/:name",
  express.json({
    limit: "50mb",
    verify: (req, _res, buf) => {
      req.rawBody = Buffer.from(buf);
    },
  }),
  (req, res) => {
    const secrets = endpoints.get(req.params.name) ?? [];
    const raw = req.rawBody ?? Buffer.alloc(0);
    const reserialised = JSON.stringify(req.body);
    const checks = secrets.map((secret) => ({
      secret,
      stringifyVerified: verifies(secret, reserialised, req.headers),
      rawVerified: verifies(secret, raw, req.headers),
    }));
    const ok = checks.some((c) => c.stringifyVerified && c.rawVerified);
    records.push({
      endpoint: req.params.name,
      webhookId: req.headers["webhook-id"] ?? null,
      timestamp: req.headers["webhook-timestamp"] ?? null,
      signature: req.headers["webhook-signature"] ?? null,
      event: req.headers["x-webhook-event"] ?? null,
      eventId: req.body && typeof req.body === "object" ? (req.body.eventId ?? null) : null,
      bodySha256: crypto.createHash("sha256").update(raw).digest("hex"),
      checks,
      status: ok ? 200 : 401,
    });
    if (!ok) return res.status(401).send("Invalid signature");
    return res.status(200).json({ received: true });
  },
);

app.post("/secrets", express.json(), (req, res) => {
  const { name, secret } = req.body ?? {};
  if (typeof name !== "string" || typeof secret !== "string" || secret === "") {
    return res.status(400).json({ error: "name and secret" });
  }
  endpoints.set(name, [...(endpoints.get(name) ?? []), secret]);
  return res.status(200).json({ secrets: endpoints.get(name).length });
});

app.get("/received", (_req, res) => res.json(records));

app.delete("/received", (_req, res) => {
  records = [];
  res.status(204).end();
});

app.use((err, req, res, _next) => {
  records.push({ endpoint: req.params?.name ?? null, error: String(err?.message ?? err), status: 400 });
  res.status(err?.status ?? 500).send(String(err?.message ?? "error"));
});

const server = app.listen(port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
server.keepAliveTimeout = 30_000;

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
  });
}
