"""A Standard Webhooks receiver built on the `standardwebhooks` package from PyPI, verifying
the raw body as docs/signing.md's Python example does. Test-only; binds 127.0.0.1. The same
protocol as tests/receivers/node/standard_receiver.mjs:

    python tests/receivers/python/standard_receiver.py [port]   (0 or absent: ephemeral)
    first stdout line: "LISTENING <port>"

    POST   /hooks/<name>          verify with each of the endpoint's secrets, one secret per
                                  `Webhook` (a receiver that knows only that secret); 200 if
                                  any verifies, else 401
    POST   /secrets {name, secret}  one more secret for the endpoint `name`
    GET    /received              the records, oldest first
    DELETE /received              forget them
"""

import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

_lock = threading.Lock()
_endpoints: dict[str, list[str]] = {}
_records: list[dict[str, Any]] = []


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib names it `format`
        pass  # quiet: the records are the log

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _answer(self, status: int, payload: Any = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/secrets":
            given = json.loads(body)
            with _lock:
                _endpoints.setdefault(given["name"], []).append(given["secret"])
                count = len(_endpoints[given["name"]])
            return self._answer(200, {"secrets": count})
        if not self.path.startswith("/hooks/"):
            return self._answer(404, {"error": "not found"})
        name = self.path.removeprefix("/hooks/")
        headers = {key.lower(): value for key, value in self.headers.items()}
        with _lock:
            secrets = list(_endpoints.get(name, []))
        checks = [{"secret": s, "rawVerified": _verifies(s, body, headers)} for s in secrets]
        ok = any(check["rawVerified"] for check in checks)
        try:
            event_id = json.loads(body).get("eventId")
        except (ValueError, AttributeError):
            event_id = None
        record = {
            "endpoint": name,
            "webhookId": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "event": headers.get("x-webhook-event"),
            "eventId": event_id,
            "bodySha256": hashlib.sha256(body).hexdigest(),
            "checks": checks,
            "status": 200 if ok else 401,
        }
        with _lock:
            _records.append(record)
        return self._answer(record["status"], {"received": ok})

    def do_GET(self) -> None:
        if self.path != "/received":
            return self._answer(404, {"error": "not found"})
        with _lock:
            return self._answer(200, list(_records))

    def do_DELETE(self) -> None:
        with _lock:
            _records.clear()
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
