"""Carrier tracking webhooks on the mall host: Mallard's generic signed JSON format and Kuaidi100's
subscription push. Verify, parse, hand to fulfillment.tracking, answer in the sender's format."""
from __future__ import annotations

import json
import logging

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.tenancy import current_merchant
from fulfillment.tracking import (
    KUAIDI100_ACK,
    SIGNATURE_HEADER,
    WebhookRejected,
    generic_events_parse,
    generic_signature_verify,
    kuaidi100_parse,
    kuaidi100_push_receive,
    kuaidi100_verify,
    tracking_events_receive,
)

log = logging.getLogger("mallard.tracking")


def _mall_host_only() -> None:
    if current_merchant() is not None:
        raise Http404()


def _tally(results: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no events"


@csrf_exempt
@require_POST
def tracking_webhook(request):
    """POST /webhooks/tracking/: {"events": [...]} signed with X-Mallard-Signature. One result per event."""
    _mall_host_only()
    rid = getattr(request, "request_id", "")
    try:
        generic_signature_verify(body=request.body, header=request.headers.get(SIGNATURE_HEADER, ""))
        events = generic_events_parse(request.body)
    except WebhookRejected as exc:
        log.warning("tracking webhook refused [req=%s]: %s", rid, exc.message)
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    results = tracking_events_receive(events=events)
    log.info("tracking webhook: %s [req=%s]", _tally(results), rid)
    return JsonResponse({"results": results})


def _kuaidi100_answer(status: int, message: str) -> JsonResponse:
    body = KUAIDI100_ACK if status == 200 else {"result": False, "returnCode": str(status), "message": message}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def kuaidi100_webhook(request):
    """POST /webhooks/tracking/kuaidi100/: form fields param (JSON) and sign = MD5(param + salt)."""
    _mall_host_only()
    rid = getattr(request, "request_id", "")
    param, sign = request.POST.get("param", ""), request.POST.get("sign", "")
    try:
        if not param:
            raise WebhookRejected("invalid", "The form field param is missing.")
        kuaidi100_verify(param=param, sign=sign)
        push = kuaidi100_parse(param)
    except WebhookRejected as exc:
        log.warning("kuaidi100 push refused [req=%s]: %s", rid, exc.message)
        return _kuaidi100_answer(400, {"bad_signature": "签名错误", "not_configured": "未配置"}.get(exc.code, "参数错误"))
    results = kuaidi100_push_receive(push=push)
    # Kuaidi100 retries a push not answered with result=true; an unknown number would never succeed, so
    # it is acknowledged too (and logged). Only an unexpected error (500) makes it push again.
    log.info("kuaidi100 push %s %s (%s): %s [req=%s]", push.tracking_number, push.status, push.message or "-",
             _tally(results), rid)
    if any(r["result"] not in ("recorded", "duplicate") for r in results):
        log.warning("kuaidi100 push %s: %s [req=%s]", push.tracking_number, json.dumps(
            [r for r in results if r["result"] not in ("recorded", "duplicate")], ensure_ascii=False)[:2000], rid)
    return _kuaidi100_answer(200, "")
