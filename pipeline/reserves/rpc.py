"""A JSON-RPC 2.0 client over HTTP for the balance checks: batched calls, retries with backoff.

Transient failures (connection refused or reset, timeouts, HTTP 429 and 5xx, a node's "rate limit"
or "busy" errors) are retried with exponential backoff (``tenacity``); anything else is an answer
and goes back to the caller per call. A node URL may carry an API key: errors show only the
scheme, host and port.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence
from urllib.parse import urlsplit

import requests
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from ..errors import InputError

TIMEOUT = 60.0
ATTEMPTS = 5
_TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}
_TRANSIENT_WORDS = ("rate limit", "too many requests", "busy", "scan already in progress", "try again", "timeout")


class Transient(Exception):
    """A failure worth another attempt."""


class NodeUnreachable(InputError):
    """The node did not answer usefully after every attempt."""


@dataclass(frozen=True)
class Answer:
    result: Any = None
    error: Any = None


def shown(url: str) -> str:
    """The URL without credentials, path or query (where API keys live); never raises, whatever
    the URL (an unparseable part is shown as ``?``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "?://?"
    scheme = parts.scheme if parts.scheme.isascii() and parts.scheme.isalnum() else "?"
    try:
        host = parts.hostname or "?"
    except ValueError:
        host = "?"
    if not all(c.isascii() and (c.isalnum() or c in ".-:") for c in host):
        host = "?"
    try:
        port = parts.port
    except ValueError:
        port = "?"  # type: ignore[assignment]
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def secrets_of(url: str) -> list[str]:
    """The parts of ``url`` that may hold an API key or a password (user, password, path, query,
    fragment, and the whole URL), longest first, so they can be cut out of any text."""
    out = {url}
    try:
        parts = urlsplit(url)
        out |= {parts.username or "", parts.password or "", parts.query, parts.fragment, parts.netloc}
        if parts.path not in ("", "/"):
            out |= {parts.path, parts.path.strip("/")}
        out |= {p for p in parts.path.split("/") if len(p) >= 3}
    except ValueError:
        pass
    return sorted((x for x in out if x), key=len, reverse=True)


def redact(text: str, url: str) -> str:
    """``text`` (a node's or a library's message) with every secret part of ``url`` replaced by …"""
    for secret in secrets_of(url):
        text = text.replace(secret, "…")
    return text


class JsonRpc:
    """One node. ``batch`` sends several calls in one HTTP request and returns the answers in order."""

    def __init__(self, url: str, timeout: float = TIMEOUT, attempts: int = ATTEMPTS, wait_max: float = 8.0) -> None:
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.wait_max = wait_max
        self.session = requests.Session()
        self._id = 0

    def _post(self, payload: Any) -> Any:
        # the exception texts of requests, urllib3 and http.client may hold the whole URL (user,
        # password, path, query): only the exception's type is kept, never its text
        try:
            response = self.session.post(self.url, json=payload, timeout=self.timeout, allow_redirects=False)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(f"{type(exc).__name__}") from None
        except (requests.RequestException, ValueError, OSError, UnicodeError) as exc:
            raise NodeUnreachable(f"node {shown(self.url)}: the request could not be sent ({type(exc).__name__}; "
                                  "check the URL)") from None
        if response.status_code in _TRANSIENT_HTTP:
            raise Transient(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise NodeUnreachable(f"node {shown(self.url)} answered HTTP {response.status_code}: "
                                  f"{redact(response.text[:200], self.url)!r}")
        try:  # amounts (Bitcoin) are JSON numbers with decimals: read them exactly
            return json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise NodeUnreachable(f"node {shown(self.url)} answered something that is not JSON: "
                                  f"{redact(response.text[:200], self.url)!r}") from None

    def _send(self, payload: Any) -> Any:
        retrying = Retrying(stop=stop_after_attempt(self.attempts), reraise=True,
                            wait=wait_exponential(multiplier=0.25, max=self.wait_max),
                            retry=retry_if_exception_type(Transient))
        try:
            for attempt in retrying:
                with attempt:
                    answer = self._post(payload)
                    for item in answer if isinstance(answer, list) else [answer]:
                        error = item.get("error") if isinstance(item, dict) else None
                        if error and any(w in str(error).lower() for w in _TRANSIENT_WORDS):
                            raise Transient(redact(str(error)[:200], self.url))
                    return answer
        except Transient as exc:
            raise NodeUnreachable(f"node {shown(self.url)} did not answer after {self.attempts} attempts "
                                  f"(last: {exc})") from None

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Answer]:
        if not calls:
            return []
        first = self._id + 1
        self._id += len(calls)
        payload = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answer = self._send(payload if len(payload) > 1 else payload[0])
        items = answer if isinstance(answer, list) else [answer]
        by_id = {item.get("id"): item for item in items if isinstance(item, dict)}
        out = []
        for i in range(len(calls)):
            item = by_id.get(first + i)
            if item is None:
                out.append(Answer(error={"code": None, "message": redact(
                    f"no answer for this call in the batch: {str(answer)[:160]}", self.url)}))
            elif item.get("error") is not None:
                error = item["error"]
                out.append(Answer(error={"code": error.get("code"), "message": redact(str(error.get("message", "")), self.url)}
                                  if isinstance(error, dict) else redact(str(error), self.url)))
            else:
                out.append(Answer(result=item.get("result")))
        return out

    def call(self, method: str, params: list[Any]) -> Answer:
        return self.batch([(method, params)])[0]
