"""Browser: a shopper contacts acme about an order (a ticket with a photo); acme misses the first-response SLA
(the ticket's clock is moved past its target); the beat sweep escalates it; the operator sees it in the console's
queue with its SLA state, and decides the shopper's dispute with a refund at the mall's cost."""
import io
import re

from orders.models import SubOrderMirror
from payments.models import Refund
from support.models import DisputeDecision, Ticket
from support.services import sla_sweep
from tests.payments.helpers import pay, place_order


def _png(path):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 40)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return str(path)


def test_shopper_opens_a_ticket_acme_misses_the_sla_the_operator_sees_the_escalation_and_decides(
        committed, site, page, new_page, login, unique, wait_until, tmp_path):
    mall = committed
    order, _items = place_order(mall, qty=2, price_minor=4500)
    pay(order)
    subject = unique("Tent poles bent ")

    # The shopper contacts acme from the order page, with a photo.
    login(page, site.mall(f"/orders/{order.number}/"), mall.users["shopper"].email)
    page.locator("[data-store=acme] [data-testid=contact-store]").click()
    page.get_by_test_id("ticket-subject").fill(subject)
    page.get_by_test_id("ticket-body").fill("Two poles arrived bent, photo attached.")
    page.set_input_files("input[name=files]", _png(tmp_path / "poles.png"))
    page.get_by_test_id("ticket-submit").click()
    page.wait_for_url(re.compile(r"/support/tickets/\d+/$"))
    ticket = Ticket.objects.get(subject=subject)
    assert page.get_by_test_id("ticket-status").inner_text() == "Open"
    assert page.get_by_test_id("attachment").inner_text().strip().endswith("poles.png")

    # Acme's inbox shows it with its first-response clock running.
    staff = new_page()
    login(staff, site.at(mall.acme, "/tickets/"), mall.users["acme:customer_service"].email)
    row = staff.locator(f"tr[data-ticket='{ticket.pk}']")
    assert row.get_by_test_id("sla-first_response").get_attribute("data-state") in ("running", "paused")

    # Acme does not answer: its target is used up (time moved), and the beat sweep runs.
    Ticket.objects.filter(pk=ticket.pk).update(clock_elapsed_s=ticket.first_response_target_s + 60,
                                               sla_next_check_at=ticket.created_at)
    assert sla_sweep() >= 1
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at is not None and ticket.escalation_reason == "sla_first_response"
    staff.reload()
    assert row.get_by_test_id("sla-first_response").get_attribute("data-state") == "breached"

    # The shopper asks the mall to decide.
    page.reload()
    page.locator("[data-testid=dispute-form] textarea[name=reason]").fill("The store never answered.")
    page.get_by_test_id("dispute-open").click()
    page.wait_for_load_state()
    assert "deciding" in page.get_by_test_id("dispute-state").inner_text()

    # The operator finds it in the queue, with the breached SLA, and refunds at the mall's cost.
    operator = new_page()
    login(operator, site.mall("/console/support/"), mall.users["operator"].email)
    queued = operator.locator(f"tr[data-ticket='{ticket.pk}']")
    assert queued.get_by_test_id("escalation-reason").inner_text() == "sla_first_response"
    assert queued.get_by_test_id("sla-first_response").get_attribute("data-state") == "breached"
    queued.get_by_test_id("queue-ticket").click()
    operator.wait_for_url(re.compile(rf"/console/support/tickets/{ticket.pk}/$"))
    operator.get_by_test_id("decide-outcome").select_option("platform_refund")
    operator.get_by_test_id("decide-amount").fill("30.00")
    operator.get_by_test_id("decide-reason").fill("Acme missed its answer time; the mall refunds the poles.")
    operator.get_by_test_id("decide").click()
    operator.wait_for_url(re.compile(rf"/console/support/tickets/{ticket.pk}/$"))
    assert operator.get_by_test_id("decision").get_attribute("data-outcome") == "platform_refund"
    decision = DisputeDecision.objects.get(dispute__ticket=ticket)
    assert (decision.amount_minor, decision.bearer) == (3000, "platform")
    mirror = SubOrderMirror.objects.get(order=order, merchant=mall.acme)
    refund = wait_until(lambda: Refund.objects.filter(pk=decision.refund_id, status="succeeded").first(),
                        message="dispute refund succeeded")
    assert (refund.amount_minor, refund.suborder_id) == (3000, mirror.suborder_id)

    # The shopper sees the decision in the thread, resolved.
    page.reload()
    assert page.get_by_test_id("ticket-status").inner_text() == "Resolved"
    assert "refunded at the mall's cost" in page.get_by_test_id("thread").inner_text()
