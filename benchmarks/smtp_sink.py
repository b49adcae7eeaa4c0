"""A local SMTP sink for the benchmarks: an aiosmtpd process that writes one line per accepted mail.

    python benchmarks/smtp_sink.py PORT PATH      # appends "recipient message-id" per recipient

``SinkProcess`` runs it (no eventlet here: a benchmark that does not monkey-patch may use it).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SinkProcess:
    def __init__(self, tmp: Path, name: str):
        self.port = free_port()
        self.path = tmp / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.port), str(self.path)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def lines(self) -> list[tuple[str, str]]:
        return [tuple(line.split(" ", 1)) for line in self.path.read_text().splitlines() if line]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)


def serve(port: int, path: str) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self, out):
            self.out = out

        async def handle_DATA(self, server, session, envelope):
            message_id = ""
            for line in envelope.content.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    message_id = line.split(b":", 1)[1].strip().decode()
                    break
                if not line:
                    break
            for rcpt in envelope.rcpt_tos:
                self.out.write(f"{rcpt} {message_id}\n")
            return "250 OK"

    with open(path, "w", buffering=1) as out:
        controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
        controller.start()
        print("ready", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            controller.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
