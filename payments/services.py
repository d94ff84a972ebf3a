"""Payment writes. Until the payments issue brings gateways and a state machine, the only change
after checkout is cancelling a pending payment; this is the one place that assigns Payment.status."""
from core.errors import InvalidTransition
from core.tenancy import platform_only
from payments.models import Payment


@platform_only
def payment_cancel(*, payment: Payment, now) -> Payment:
    """Cancel a pending payment (its order expired or was cancelled). Call with the row locked."""
    if payment.status != Payment.Status.PENDING:
        raise InvalidTransition(f"Payment {payment.pk} is {payment.status}, not pending.", field="status")
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.CANCELLED, updated_at=now)
    payment.status, payment.updated_at = Payment.Status.CANCELLED, now
    return payment
