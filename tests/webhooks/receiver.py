"""A local webhook receiver for tests: a threading HTTP server on 127.0.0.1 (port 0) that records every
request (path, headers, raw body) and answers per path: /ok 200, /fail 500, /flaky 503 once then 200, /slow
waits, /big 5 MB, /drip."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


def start_receiver() -> Receiver:
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            rec: Receiver = holder["r"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with rec.lock:
                rec.requests.append(Received(self.path, {k: v for k, v in self.headers.items()}, body))
            try:
                if self.path == "/slow":
                    rec.release.wait(8)
                    self._answer(200, b"late")
                elif self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    deadline = time.monotonic() + 8
                    while time.monotonic() < deadline and not rec.release.is_set():
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        rec.release.wait(0.2)
                elif self.path == "/big":
                    chunk = b"E" * 65536
                    self.send_response(502)
                    self.send_header("Content-Length", str(len(chunk) * 80))
                    self.end_headers()
                    for _ in range(80):  # 5 MB
                        self.wfile.write(chunk)
                elif self.path.startswith("/flaky") and len(rec.at(self.path)) == 1:  # the first request only
                    self._answer(503, b"warming up")
                elif self.path.startswith("/fail"):
                    self._answer(500, b"receiver is down")
                elif self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._answer(200, b'{"received": true}')
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec = Receiver(server)
    holder["r"] = rec
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return rec
