// The seed page's Express receiver, verbatim in what it checks, plus the two stricter
// checks a careful receiver makes: the HMAC over the raw body, and that the raw body
// already is JSON.stringify(JSON.parse(raw)). Test-only; binds 127.0.0.1.
//
// usage: node receiver.mjs [port]      (port 0 or absent = ephemeral)
// first stdout line: "LISTENING <port>"
//
//   POST   /webhooks/reseller   verify, record, 200 {received:true} if all pass; as the seed:
//                                400 without signature headers, 500 without a secret, else 401
//   POST   /secrets {secret}    accept one more secret (one receiver, several webhooks)
//   PUT    /behaviour {status}  answer verified requests with `status` instead of 200
//                                (also RECEIVER_STATUS=NNN; {status: null} restores 200)
//   GET    /received            the records, oldest first
//   DELETE /received            forget them
import crypto from "node:crypto";
import express from "express";

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const secrets = new Set();
if (process.env.RESELLER_WEBHOOK_SECRET) secrets.add(process.env.RESELLER_WEBHOOK_SECRET);
let records = [];
let forcedStatus = Number(process.env.RECEIVER_STATUS) || null;
const KEEP_BODY_BELOW = 64 * 1024; // keep small bodies verbatim to explain a mismatch

function hmacHex(secret, ...parts) {
  const mac = crypto.createHmac("sha256", secret);
  for (const part of parts) mac.update(part);
  return mac.digest("hex");
}

// The seed's comparison, made total: timingSafeEqual throws on a length mismatch.
function safeEqualHex(given, expected) {
  const a = Buffer.from(String(given), "hex");
  const b = Buffer.from(expected, "hex");
  return a.length === b.length && a.length > 0 && crypto.timingSafeEqual(a, b);
}

function anySecret(check) {
  for (const secret of secrets) if (check(secret)) return true;
  return false;
}

const app = express();

app.post(
  "/webhooks/reseller",
  express.json({
    limit: "50mb",
    verify: (req, _res, buf) => {
      req.rawBody = Buffer.from(buf);
    },
  }),
  (req, res) => {
    const signature = req.headers["x-webhook-signature"];
    const timestamp = req.headers["x-webhook-timestamp"];
    const raw = req.rawBody ?? Buffer.alloc(0);
    const rawText = raw.toString("utf8");
    const reserialised = JSON.stringify(req.body);
    const present = Boolean(signature && timestamp);
    // Exactly the seed: HMAC over `${timestamp}.${JSON.stringify(req.body)}`.
    const stringifyVerified =
      present && anySecret((s) => safeEqualHex(signature, hmacHex(s, `${timestamp}.${reserialised}`)));
    const rawVerified =
      present && anySecret((s) => safeEqualHex(signature, hmacHex(s, `${timestamp}.`, raw)));
    const roundTrip = JSON.stringify(JSON.parse(rawText)) === rawText;
    const ok = stringifyVerified && rawVerified && roundTrip;
    const status = !present ? 400 : secrets.size === 0 ? 500 : !ok ? 401 : (forcedStatus ?? 200);
    records.push({
      webhookId: req.headers["x-webhook-id"] ?? null,
      event: req.headers["x-webhook-event"] ?? null,
      timestamp: timestamp ?? null,
      userAgent: req.headers["user-agent"] ?? null,
      contentType: req.headers["content-type"] ?? null,
      stringifyVerified,
      rawVerified,
      roundTrip,
      bodySha256: crypto.createHash("sha256").update(raw).digest("hex"),
      bodyLength: raw.length,
      eventId: req.body && typeof req.body === "object" ? (req.body.eventId ?? null) : null,
      body: raw.length < KEEP_BODY_BELOW ? rawText : null,
      reserialised: !roundTrip && reserialised.length < KEEP_BODY_BELOW ? reserialised : null,
      status,
      receivedAt: Date.now(),
    });
    if (status === 400) return res.status(400).send("Missing signature");
    if (status === 500) return res.status(500).send("Webhook secret not configured");
    if (status === 401) return res.status(401).send("Invalid signature");
    return res.status(status).json({ received: status < 300 });
  },
);

app.post("/secrets", express.json(), (req, res) => {
  const secret = req.body?.secret;
  if (typeof secret !== "string" || secret === "") return res.status(400).json({ error: "secret" });
  secrets.add(secret);
  return res.status(200).json({ secrets: secrets.size });
});

app.put("/behaviour", express.json(), (req, res) => {
  const status = req.body?.status ?? null;
  if (status !== null && !(Number.isInteger(status) && status >= 200 && status <= 599)) {
    return res.status(400).json({ error: "status" });
  }
  forcedStatus = status;
  return res.status(200).json({ status: forcedStatus ?? 200 });
});

app.get("/received", (_req, res) => res.json(records));

app.delete("/received", (_req, res) => {
  records = [];
  res.status(204).end();
});

// A body express.json() refuses (bad JSON, too large) is recorded too, as a failure.
app.use((err, req, res, _next) => {
  records.push({
    webhookId: req.headers["x-webhook-id"] ?? null,
    event: req.headers["x-webhook-event"] ?? null,
    timestamp: req.headers["x-webhook-timestamp"] ?? null,
    stringifyVerified: false,
    rawVerified: false,
    roundTrip: false,
    error: String(err?.message ?? err),
    status: err?.status ?? 500,
    receivedAt: Date.now(),
  });
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
