"""Payment writes: intents, notifications, capture/void, refunds, the ledger. See each module."""
from payments.services.ledger import ledger_check, ledger_record_capture  # noqa: F401
from payments.services.offline import payment_mark_paid_offline  # noqa: F401
from payments.services.payments import (  # noqa: F401
    gateway_event_process,
    notification_receive,
    payment_cancel,
    payment_capture,
    payment_settings_update,
    payment_start,
    payment_void,
    payments_capture_due,
)
from payments.services.refunds import (  # noqa: F401
    RefundLineRequest,
    refund_create,
    refund_for_suborder_lines,
    refund_retry,
    refund_settle,
    refund_submit,
    refunds_resubmit_stale,
)
from payments.services.transitions import payment_lock, payment_transition, refund_transition  # noqa: F401
