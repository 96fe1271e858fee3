"""A local HTTP server on 127.0.0.1 that behaves like a Discord webhook endpoint.

``POST /api/webhooks/<id>/<token>`` takes JSON or multipart (``payload_json`` + ``files[n]``),
checks the body against Discord's documented limits with its own code (not the channel's) and
answers 400 ``Invalid Form Body`` (code 50035) like Discord when one is broken; a wrong token
is 401, an unknown id 404. Faults for tests: ``down`` (every request answers ``down_status``,
or is dropped unanswered when that is 0), ``script`` (the next requests answer ``("429",
retry_after)``, ``("status", 503.0)``, ``("reset", 0)``, ``("lose_answer", 0)``: stored,
then the answer is lost, or ``("hold", seconds)``: stored, ``held`` set, then no answer until
``release`` is set or the seconds pass, and the answer is lost: a client killed meanwhile dies
mid-delivery) and ``rate_limit_every`` (every n-th request is a 429). ``accepted`` holds what
was posted.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

LIMITS = {"content": 2000, "embeds": 10, "total": 6000, "title": 256, "description": 4096}
FIELD_LIMITS = {"fields": 25, "name": 256, "value": 1024, "footer": 2048, "author": 256}


@dataclass(frozen=True)
class Posted:
    """One message the server accepted."""

    payload: dict[str, Any]
    files: dict[str, bytes]
    query: str

    @property
    def dedup_key(self) -> str:
        """Return the dedup key from the first embed's footer (``key · kind``)."""
        footer = str(self.payload["embeds"][0].get("footer", {}).get("text", ""))
        return footer.split(" · ")[0]


@dataclass
class FakeDiscordState:
    """What the server accepted, counters, and the fault switches."""

    webhook_id: str = "1234567890123456789"
    token: str = "tok-" + "x" * 60
    down: bool = False
    down_status: int = 503  # 0: close the connection without an answer (a network error)
    script: deque[tuple[str, float]] = field(default_factory=deque)
    rate_limit_every: int = 0
    retry_after: float = 1.5
    delay_s: float = 0.0  # answer this late (to test client timeouts)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    accepted: list[Posted] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def dedup_keys(self) -> list[str]:
        """Return the dedup keys of everything accepted, in order."""
        with self.lock:
            return [p.dedup_key for p in self.accepted]


def _embed_problems(i: int, e: dict[str, Any]) -> tuple[list[str], int]:
    problems: list[str] = []
    fields = e.get("fields", [])
    texts = {
        "title": str(e.get("title", "")),
        "description": str(e.get("description", "")),
        "footer": str(e.get("footer", {}).get("text", "")),
        "author": str(e.get("author", {}).get("name", "")),
    }
    for key, limit in (("title", 256), ("description", 4096), ("footer", 2048), ("author", 256)):
        if len(texts[key]) > limit:
            problems.append(f"embeds.{i}.{key}: {len(texts[key])} > {limit}")
    if len(fields) > FIELD_LIMITS["fields"]:
        problems.append(f"embeds.{i}.fields: {len(fields)} > 25")
    total = sum(len(t) for t in texts.values())
    for j, f in enumerate(fields):
        name, value = str(f.get("name", "")), str(f.get("value", ""))
        if not name or not value:
            problems.append(f"embeds.{i}.fields.{j}: name and value are required")
        if len(name) > 256 or len(value) > 1024:
            problems.append(f"embeds.{i}.fields.{j}: name {len(name)}/256, value {len(value)}/1024")
        total += len(name) + len(value)
    return problems, total


def _message_problems(payload: dict[str, Any], content: str, has_more: bool) -> list[str]:
    out: list[str] = []
    if not content and not has_more:
        out.append("cannot send an empty message")
    username = str(payload.get("username", "x")).lower()
    if not 1 <= len(username) <= 80 or "discord" in username or "clyde" in username:
        out.append("username: invalid webhook name")
    if len(content) > LIMITS["content"]:
        out.append(f"content: {len(content)} > 2000")
    return out


def problems(payload: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    """Return every way ``payload`` breaks Discord's limits (empty when it is valid)."""
    content, embeds = str(payload.get("content", "")), payload.get("embeds", [])
    out = _message_problems(payload, content, bool(embeds or files))
    if len(embeds) > LIMITS["embeds"]:
        out.append(f"embeds: {len(embeds)} > 10")
    total = 0
    for i, e in enumerate(embeds):
        p, n = _embed_problems(i, e)
        out += p
        total += n
        url = str(e.get("image", {}).get("url", ""))
        if url.startswith("attachment://"):
            names = {a.get("filename") for a in payload.get("attachments", [])}
            if url.removeprefix("attachment://") not in names:
                out.append(f"embeds.{i}.image: {url} names no attachment")
    if total > LIMITS["total"]:
        out.append(f"embeds: {total} characters > 6000 in all")
    for a in payload.get("attachments", []):
        if f"files[{a.get('id')}]" not in files:
            out.append(f"attachments: id {a.get('id')} has no files[{a.get('id')}] part")
    return out


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    payload: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(data, bytes):
            continue
        if name == "payload_json":
            payload = json.loads(data)
        else:
            files[name] = data
    return payload, files


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet (tests read the state instead)."""

    def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        if status == 429 and body is not None:
            self.send_header("Retry-After", str(int(body["retry_after"]) + 1))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, state: FakeDiscordState) -> tuple[str, float] | None:
        state.requests += 1
        if state.down:
            return ("status", float(state.down_status)) if state.down_status else ("reset", 0.0)
        if state.script:
            return state.script.popleft()
        if state.rate_limit_every and state.requests % state.rate_limit_every == 0:
            return ("429", state.retry_after)
        return None

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["api", "webhooks"] or parts[2] != state.webhook_id:
            self._answer(404, {"message": "Unknown Webhook", "code": 10015})
            return
        if parts[3] != state.token:
            self._answer(401, {"message": "Invalid Webhook Token", "code": 50027})
            return
        with state.lock:
            fault = self._fault(state)
        if state.delay_s:
            time.sleep(state.delay_s)
        if fault is not None and fault[0] not in ("lose_answer", "hold"):
            if fault[0] == "reset":
                self.close_connection = True
            elif fault[0] == "429":
                msg = "You are being rate limited."
                self._answer(429, {"message": msg, "retry_after": fault[1], "global": False})
            else:
                self._answer(int(fault[1]), {"message": "Service Unavailable", "code": 0})
            return
        hold_s = fault[1] if fault is not None and fault[0] == "hold" else None
        self._accept(state, body, url.query, lose_answer=fault is not None, hold_s=hold_s)

    def _accept(
        self,
        state: FakeDiscordState,
        body: bytes,
        query: str,
        lose_answer: bool,
        hold_s: float | None = None,
    ) -> None:
        ctype = self.headers.get("Content-Type", "")
        try:
            if ctype.startswith("multipart/form-data"):
                payload, files = _parse_multipart(ctype, body)
            else:
                payload, files = json.loads(body), {}
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
            self._answer(400, {"message": f"The request body contains invalid JSON: {exc}"})
            return
        found = problems(payload, files)
        with state.lock:
            if found:
                state.rejected.append((400, "; ".join(found)))
            else:
                state.accepted.append(Posted(payload, files, query))
        if found:
            self._answer(400, {"message": "Invalid Form Body", "code": 50035, "errors": found})
        elif lose_answer:
            if hold_s is not None:
                state.held.set()
                state.release.wait(hold_s)
            self.close_connection = True  # stored, but the client never hears it
        else:
            self._answer(200, {"id": str(len(state.accepted)), "content": payload.get("content")})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakeDiscordState


class FakeDiscord:
    """Run the fake webhook endpoint on 127.0.0.1 (a context manager)."""

    def __init__(self, state: FakeDiscordState | None = None) -> None:
        self.state = state or FakeDiscordState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the webhook URL (with its secret token)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/webhooks/{self.state.webhook_id}/{self.state.token}"

    def __enter__(self) -> FakeDiscord:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
