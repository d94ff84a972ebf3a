"""Outbox topics of payments and refunds (public schema)."""
from core.events import topic
from payments.states import PaymentStatus, RefundStatus

for _status in PaymentStatus.values:
    topic(f"payment.{_status}", app="payments", fires=f"A payment entered the status `{_status}` "
          "(payments.services.transitions, the only writer of Payment.status).", payload={
              "order_id": "the checkout order", "from": "status before", "to": "status after",
              "amount_minor": "the amount this step moved, in minor units", "currency": "ISO 4217 code",
              "gateway": "sandbox, stripe, alipay or wechatpay"})

_REFUND = {"order_id": "the checkout order", "merchant_id": "the store the refund is charged to",
           "suborder_id": "the store's suborder (in its schema)", "amount_minor": "the refund amount in minor units",
           "currency": "ISO 4217 code", "from": "status before", "to": "status after"}
for _status in RefundStatus.values:
    topic(f"refund.{_status}", app="payments", fires=f"A refund entered the status `{_status}`"
          + (" (also emitted when a refund is created)" if _status == "requested" else "") + ".",
          payload=_REFUND, optional=("from", "to") if _status == "requested" else ())
