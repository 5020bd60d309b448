"""A Twilio-compatible HTTP server on localhost for tests and scripts/bench_sms.py.

It speaks just enough of the Messages API (create, list, fetch one) for the `twilio` package
pointed at it with TWILIO_API_BASE_URL. It records every request it receives (before any delay,
as Twilio would have the message even if the client stopped waiting), and answers from a plan of
scripted replies: Twilio error codes, HTTP statuses, delays. A message it accepted is "sent"
when fetched until the test says otherwise (`set_status`); an unknown sid is a 404.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "stub-auth-token-0123456789abcdef"
_ONE_MESSAGE = re.compile(r"/Messages/([^/?]+)\.json$")


@dataclass
class Reply:
    """One scripted answer: an HTTP status, a Twilio error code, a delay in seconds."""

    status: int = 201
    code: int | None = None
    delay: float = 0.0


@dataclass
class Received:
    params: dict[str, str]
    sid: str | None
    status: int
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # What a fetch of the message says (set_status): Twilio's MessageStatus and ErrorCode.
    message_status: str = "sent"
    error_code: int | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Dozens of workers connect at once: the default backlog of 5 refuses some of them.
    request_queue_size = 256


class TwilioStub:
    """Start with `with TwilioStub() as stub:`; `stub.url` is the TWILIO_API_BASE_URL."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.plan: deque[Reply] = deque()
        self.fetch_plan: deque[Reply] = deque()
        self.received: list[Received] = []
        self.fetched: list[str] = []  # the sids asked for, in order
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                stub._create(self)

            def do_GET(self) -> None:  # noqa: N802
                match = _ONE_MESSAGE.search(urlsplit(self.path).path)
                if match:
                    stub._fetch(self, match.group(1))
                else:
                    stub._list(self)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> TwilioStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def will(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order (then 201 again)."""
        with self._lock:
            self.plan.extend(replies)

    def will_fetch(self, *replies: Reply) -> None:
        """Answer the next fetches of one message with these replies (then the message)."""
        with self._lock:
            self.fetch_plan.extend(replies)

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> None:
        """What Twilio says of an accepted message from now on ("delivered", "failed", …)."""
        with self._lock:
            [record] = [r for r in self.received if r.sid == sid]
            record.message_status, record.error_code = status, error_code

    @property
    def accepted(self) -> list[Received]:
        """The messages the stub accepted (answered 201)."""
        with self._lock:
            return [r for r in self.received if r.sid]

    # ---- HTTP ----------------------------------------------------------------------------

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return handler.headers.get("Authorization") == f"Basic {expected}"

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped waiting

    def _create(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        if not self._authorized(handler):
            self._answer(handler, 401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        with self._lock:
            reply = self.plan.popleft() if self.plan else Reply(delay=self.delay)
            sid = f"SM{next(self._counter):032x}" if reply.status == 201 else None
            record = Received(form, sid, reply.status)
            self.received.append(record)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 201:
            self._answer(
                handler,
                reply.status,
                {"code": reply.code, "message": "stub error", "status": reply.status},
            )
            return
        self._answer(handler, 201, self._resource(record))

    def _resource(
        self, record: Received, *, status: str = "queued", error_code: int | None = None
    ) -> dict[str, Any]:
        params = record.params
        return {
            "sid": record.sid,
            "account_sid": ACCOUNT_SID,
            "to": params.get("To"),
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "body": params.get("Body"),
            "status": status,
            "num_segments": "1",
            "date_created": format_datetime(record.at, usegmt=True),
            "date_updated": format_datetime(record.at, usegmt=True),
            "date_sent": None,
            "error_code": error_code,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{record.sid}.json",
        }

    def _fetch(self, handler: BaseHTTPRequestHandler, sid: str) -> None:
        if not self._authorized(handler):
            self._answer(handler, 401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        with self._lock:
            self.fetched.append(sid)
            reply = self.fetch_plan.popleft() if self.fetch_plan else Reply(200)
            found = [r for r in self.received if r.sid and r.sid == sid]
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status >= 300:
            self._answer(
                handler,
                reply.status,
                {"code": reply.code, "message": "stub error", "status": reply.status},
            )
        elif not found:
            self._answer(
                handler,
                404,
                {"code": 20404, "message": "The requested resource was not found", "status": 404},
            )
        else:
            record = found[0]
            self._answer(
                handler,
                200,
                self._resource(record, status=record.message_status, error_code=record.error_code),
            )

    def _list(self, handler: BaseHTTPRequestHandler) -> None:
        if not self._authorized(handler):
            self._answer(handler, 401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        to = query.get("To")
        with self._lock:
            found = [r for r in reversed(self.received) if r.sid and r.params.get("To") == to]
        self._answer(
            handler,
            200,
            {
                "messages": [self._resource(r) for r in found],
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": max(len(found) - 1, 0),
                "uri": handler.path,
                "first_page_uri": handler.path,
                "previous_page_uri": None,
            },
        )
