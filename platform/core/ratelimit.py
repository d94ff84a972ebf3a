"""Per-token API rate limit: a token bucket per API token, kept in Redis so every web process shares it.

A token may make `API_RATE_LIMIT_BURST` requests at once and then `API_RATE_LIMIT_PER_MINUTE` a minute
(the bucket refills continuously). Past that the request is answered `429 throttled` with `Retry-After`
(whole seconds until one request is allowed again). Every answer to a token request carries
`X-RateLimit-Limit` (requests a minute) and `X-RateLimit-Remaining` (requests that may be made at once
now). Requests of a signed-in browser session are not counted. With no Redis (the embedded demo), the
bucket lives in the process: the same arithmetic, per process.
"""
from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

# One round trip, atomic: refill by the time elapsed (Redis's clock, the same for every web process),
# take one if there is one, else say how long until there is.
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {allowed, tostring(tokens), tostring(wait)}
"""

log = logging.getLogger("mallard.ratelimit")
_clients: dict[str, object] = {}
_local: dict[str, tuple[float, float]] = {}
_local_lock = threading.Lock()


def _redis():
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import redis

        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=2)
        client._mallard_bucket = client.register_script(_BUCKET_LUA)
    return client


def bucket_take(key: str, *, per_minute: int, burst: int) -> tuple[bool, float, float]:
    """Take one request from the bucket `key`: (allowed, tokens left, seconds to wait when refused)."""
    rate = per_minute / 60.0
    client = _redis()
    if client is not None:
        import redis

        try:
            allowed, tokens, wait = client._mallard_bucket(keys=[key], args=[rate, burst])
        except redis.RedisError:
            # Redis away: serve the request rather than fail every integration; the outage is logged
            log.warning("rate limit not applied: Redis unreachable", exc_info=True)
            return True, float(burst), 0.0
        return bool(int(allowed)), float(tokens), float(wait)
    now = time.monotonic()
    with _local_lock:
        tokens, ts = _local.get(key, (float(burst), now))
        tokens = min(burst, tokens + max(0.0, now - ts) * rate)
        allowed = tokens >= 1
        wait = 0.0 if allowed else (1 - tokens) / rate
        if allowed:
            tokens -= 1
        _local[key] = (tokens, now)
    return allowed, tokens, wait


class ApiTokenRateThrottle(BaseThrottle):
    """DRF throttle (settings.REST_FRAMEWORK DEFAULT_THROTTLE_CLASSES): one bucket per API token."""

    def allow_request(self, request, view) -> bool:
        token = request.auth
        per_minute = int(getattr(settings, "API_RATE_LIMIT_PER_MINUTE", 0))
        burst = int(getattr(settings, "API_RATE_LIMIT_BURST", 0)) or per_minute
        # a session request has no token (request.auth is None): browsers are not limited here
        if token is None or not getattr(token, "digest", None) or per_minute <= 0:
            return True
        # the digest part tells apart tokens that reuse an id (a token created after another was deleted)
        key = f"mallard:public:ratelimit:token:{token.pk}:{token.digest[:16]}"
        allowed, tokens, wait = bucket_take(key, per_minute=per_minute, burst=burst)
        self._wait = wait
        # APIView.finalize_response copies view.headers onto the answer, a 429 included
        view.headers = {**getattr(view, "headers", {}), "X-RateLimit-Limit": str(per_minute),
                        "X-RateLimit-Remaining": str(max(0, math.floor(tokens)))}
        return allowed

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
