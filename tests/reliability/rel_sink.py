"""Out-of-process SMTP sink and webhook receiver for the reliability suite.

    python rel_sink.py RECORD_FILE SMTP_PORT HTTP_PORT

Every email and every webhook POST becomes one JSON line in RECORD_FILE (flushed at once), so
the suite can count deliveries while services are killed and restarted around it. It runs in its
own process because the test process is patched by eventlet, which asyncio does not survive.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

LOCK = threading.Lock()


def record(out, entry: dict) -> None:
    with LOCK:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        out.flush()


class Mail:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        record(
            self.out,
            {
                "channel": "email",
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(message.get("Subject", "")),
                "message_id": str(message.get("Message-ID", "")),
                "headers": {k: str(v) for k, v in message.items()},
                "body": body.get_content() if body is not None else "",
            },
        )
        return "250 OK"


def webhook_handler(out):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            record(
                out,
                {
                    "channel": "webhook",
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "raw": raw.decode("utf-8", "replace"),
                },
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def main() -> None:
    path, smtp_port, http_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = open(path, "a", encoding="utf-8")
    controller = Controller(Mail(out), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    server = ThreadingHTTPServer(("127.0.0.1", http_port), webhook_handler(out))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()
        server.shutdown()


if __name__ == "__main__":
    main()
