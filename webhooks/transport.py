"""The HTTP side of merchant webhooks: which URLs may be called (SSRF guard) and one bounded POST.

A POST never follows a redirect, connects within CONNECT_TIMEOUT, ends within TOTAL_TIMEOUT whatever the
server does (a watchdog closes the socket at the deadline, so a server dripping one byte a second cannot
hold a worker), and reads at most RESPONSE_READ_LIMIT bytes of the answer. The address is resolved once
per attempt, checked, and the connection goes to that very address (Host header and TLS name stay the
URL's host), so a DNS answer that changes between the check and the connect (rebinding) cannot reach
a private address.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

CONNECT_TIMEOUT = 3.0
TOTAL_TIMEOUT = 10.0
RESPONSE_READ_LIMIT = 64 * 1024
MAX_URL_LENGTH = 2000


class UrlRefused(Exception):
    """The URL may not be called; `message` is for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def private_addresses_allowed() -> bool:
    """Development and tests may call 127.0.0.1; production (not DEBUG) refuses private addresses unless the
    operator sets MALLARD_WEBHOOKS_ALLOW_PRIVATE=1 (an on-premises mall whose merchants' ERPs are inside)."""
    return bool(settings.DEBUG or getattr(settings, "MALLARD_WEBHOOKS_ALLOW_PRIVATE", False))


def url_parse(url: str):
    """Syntax only: http(s), a host, no credentials, no whitespace; returns urlsplit's result."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused(_("Enter the URL that should receive the events."))
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(_("The URL is longer than %(max)s characters.") % {"max": MAX_URL_LENGTH})
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UrlRefused(_("The URL must not contain spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused(_("This is not a valid URL.")) from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(_("Only http:// and https:// URLs can receive webhooks."))
    if not parts.hostname:
        raise UrlRefused(_("The URL has no host name."))
    if parts.username is not None or parts.password is not None:
        raise UrlRefused(_("Put no user name or password in the URL; check the signature instead."))
    if port == 0:
        raise UrlRefused(_("This is not a valid URL."))
    return parts


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local
                                 or ip.is_reserved or ip.is_unspecified)


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(_("The host %(host)s cannot be resolved (%(error)s).") % {"host": host, "error": exc}) from None
    addresses = []
    for *_rest, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def destination_check(url: str) -> tuple[object, list[str]]:
    """The URL's parts and the addresses to connect to; refuses (UrlRefused) a URL reaching a private,
    loopback, link-local, multicast or reserved address unless private addresses are allowed. Every
    resolved address must be public: one private answer among public ones is refused too."""
    parts = url_parse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if private_addresses_allowed():
        return parts, resolve(parts.hostname, port)
    addresses = resolve(parts.hostname, port)
    blocked = [a for a in addresses if not is_public_address(a)]
    if blocked or not addresses:
        raise UrlRefused(_("%(host)s resolves to %(address)s, a private, loopback, link-local or reserved address: "
                           "webhooks are only sent to public internet addresses.")
                         % {"host": parts.hostname, "address": (blocked or ["nothing"])[0]})
    return parts, addresses


def _set_timeout(sock, seconds: float) -> None:
    try:
        sock.settimeout(max(0.1, seconds))
    except OSError:  # http.client closed it: the answer ended (Connection: close)
        pass


@dataclass
class PostResult:
    status: int | None
    body: bytes
    truncated: bool
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


def post(url: str, *, body: bytes, headers: dict[str, str], connect_timeout: float = CONNECT_TIMEOUT,
         total_timeout: float = TOTAL_TIMEOUT, read_limit: int = RESPONSE_READ_LIMIT) -> PostResult:
    """POST `body` to `url` once. Never raises for network trouble: the result carries the error."""
    started = time.monotonic()
    deadline = started + total_timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        parts, addresses = destination_check(url)
    except UrlRefused as exc:
        return PostResult(None, b"", False, elapsed_ms(), exc.message)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = None
    last_error = ""
    for address in addresses[:3]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            sock = socket.create_connection((address, port), timeout=min(connect_timeout, remaining))
            break
        except TimeoutError:
            last_error = _("Connection timed out after %(s)s s.") % {"s": connect_timeout}
        except OSError as exc:
            last_error = _("Could not connect: %(error)s") % {"error": exc.strerror or exc}
    if sock is None:
        return PostResult(None, b"", False, elapsed_ms(), last_error or _("Could not connect."))

    timed_out = threading.Event()

    def watchdog():
        timed_out.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), watchdog)
    timer.daemon = True
    timer.start()
    status = None
    try:
        if parts.scheme == "https":
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        conn = http.client.HTTPConnection(parts.hostname, port)
        conn.sock = sock  # already connected to the checked address: http.client will not resolve again
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        status = response.status
        chunks, size, truncated = [], 0, False
        while size < read_limit and not response.isclosed():
            _set_timeout(sock, deadline - time.monotonic())
            chunk = response.read(min(8192, read_limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size >= read_limit and not response.isclosed():
            _set_timeout(sock, 0.2)
            try:  # is there more? one more byte tells; the rest is never read
                truncated = bool(response.read(1))
            except Exception:
                truncated = True
        if timed_out.is_set():  # the watchdog cut the answer short: a read then ends as if at its end
            raise TimeoutError
        return PostResult(response.status, b"".join(chunks), truncated, elapsed_ms())
    except Exception as exc:  # timeouts, resets, TLS errors, garbage answers: a failed attempt, never a crash
        if timed_out.is_set() or isinstance(exc, TimeoutError):
            message = _("No complete answer within %(s)s s.") % {"s": total_timeout}
        else:
            message = f"{type(exc).__name__}: {exc}"
        return PostResult(status, b"", False, elapsed_ms(), message[:500])
    finally:
        timer.cancel()
        try:
            sock.close()
        except OSError:
            pass
