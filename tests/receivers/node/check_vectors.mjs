// Checks every published test vector (docs/vectors/*.json) the way a Node receiver would:
// the body bytes, JSON.stringify(JSON.parse(body)) === body, the hookline signature the
// seed's Express way (over JSON.stringify(req.body)) and over the raw bytes, and the
// Standard Webhooks headers with the `standardwebhooks` npm package's own `verify` (its
// clock set to the vector's timestamp), raw and re-serialised, during a rotation with
// either secret alone, and a wrong secret refused.
//
// usage: node check_vectors.mjs <directory>
// stdout: one JSON line per vector: {"file", "name", "checks": {check: true|false}}
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Webhook } from "standardwebhooks";

const directory = process.argv[2];
const realNow = Date.now;

function verifies(secret, payload, headers, nowSeconds) {
  Date.now = () => nowSeconds * 1000;
  try {
    new Webhook(secret).verify(payload, headers);
    return true;
  } catch {
    return false;
  } finally {
    Date.now = realNow;
  }
}

function hmacHex(secret, text) {
  return crypto.createHmac("sha256", secret).update(text).digest("hex");
}

function check(vector) {
  const bytes = Buffer.from(vector.body.base64, "base64");
  const text = vector.body.utf8;
  const parsed = JSON.parse(text);
  const reserialised = JSON.stringify(parsed);
  const hl = vector.hookline;
  const sw = vector.standardWebhooks;
  const now = Number(sw.timestamp);
  const id = vector.deliveryId;
  const rotation = sw.duringRotation;
  const single = sw.headers["webhook-signature"].split(" ");
  const both = rotation.headers["webhook-signature"].split(" ");
  return {
    bytesAreTheUtf8: Buffer.from(text, "utf8").equals(bytes),
    sha256: crypto.createHash("sha256").update(bytes).digest("hex") === vector.body.sha256,
    length: bytes.length === vector.body.length,
    canonical: reserialised === text,
    dataIsTheInputParsed: JSON.stringify(parsed.data) === JSON.stringify(JSON.parse(vector.input.data)),
    envelopeFields:
      parsed.eventId === vector.input.envelope.eventId &&
      parsed.timestamp === vector.input.envelope.timestamp &&
      parsed.event === vector.input.envelope.event,
    hooklineSeedWay: hmacHex(hl.secret, `${hl.timestamp}.${reserialised}`) === hl.headers["x-webhook-signature"],
    hooklineRaw:
      crypto.createHmac("sha256", hl.secret).update(`${hl.timestamp}.`).update(bytes).digest("hex") ===
      hl.headers["x-webhook-signature"],
    hooklineHeaders:
      hl.headers["x-webhook-timestamp"] === hl.timestamp && hl.headers["x-webhook-id"] === id,
    standardHeaders: sw.headers["webhook-id"] === id && sw.headers["webhook-timestamp"] === sw.timestamp,
    standardSign: new Webhook(sw.secret).sign(id, new Date(now * 1000), bytes) === sw.headers["webhook-signature"],
    standardVerifyRaw: verifies(sw.secret, bytes, sw.headers, now),
    standardVerifyReserialised: verifies(sw.secret, reserialised, sw.headers, now),
    standardSingleSignature: single.length === 1,
    standardWrongSecretRefused: !verifies(rotation.previousSecret, bytes, sw.headers, now),
    standardTooOldRefused: !verifies(sw.secret, bytes, sw.headers, now + 3600),
    rotationTwoSignatures: both.length === 2 && both[0] === single[0],
    rotationNewAlone: verifies(sw.secret, bytes, rotation.headers, now),
    rotationPreviousAlone: verifies(rotation.previousSecret, reserialised, rotation.headers, now),
  };
}

const files = fs.readdirSync(directory).filter((name) => name.endsWith(".json")).sort();
for (const file of files) {
  const vector = JSON.parse(fs.readFileSync(path.join(directory, file), "utf8"));
  let checks;
  try {
    checks = check(vector);
  } catch (error) {
    checks = { ran: false, error: String(error?.message ?? error) };
  }
  process.stdout.write(`${JSON.stringify({ file, name: vector.name, checks })}\n`);
}
