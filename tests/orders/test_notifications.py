"""Customer e-mails from outbox events: sent once, friendly, exact."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from omniretail.channels.notifications import (
    on_order_placed,
    on_order_status_changed,
    on_pickup_ready,
    on_refund_requested,
    on_shipment_shipped,
)
from omniretail.channels.pos.services import SaleLine, Tender, pos_sale_record
from omniretail.core.access import SYSTEM
from omniretail.core.models import AuditLog, OutboxEvent
from omniretail.customers.services import customer_find_or_create
from omniretail.orders.models import Order
from omniretail.orders.returns import ReturnRequestLine, return_accept
from omniretail.orders.services import NewLine, NewOrder, order_confirm, order_create
from tests.conftest import stock_up

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Léa Martin",
    "line1": "5 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
}


def _web_order(
    shop, web, *, paid=True, email="lea@example.com", pickup=False, external_id="W-1001"
) -> Order:
    return order_create(
        new=NewOrder(
            channel=web,
            external_id=external_id,
            lines=[
                NewLine(shop.mug.pk, 2, Decimal("12.50"), Decimal("0.20")),
                NewLine(shop.candle.pk, 1, Decimal("18.00"), Decimal("0.055")),
            ],
            currency="EUR",
            prices_include_tax=True,
            fulfilment_method="pickup" if pickup else "ship",
            pickup_store_id=shop.store.pk if pickup else None,
            shipping_address={} if pickup else ADDRESS,
            shipping_gross=Decimal("0") if pickup else Decimal("4.90"),
            shipping_tax_rate=Decimal("0.20"),
            email=email,
            customer_id=customer_find_or_create(email="lea@example.com", first_name="Léa").pk,
            payment_status="paid" if paid else "unpaid",
        ),
        actor=SYSTEM,
    )


def _event(name: str, **payload) -> OutboxEvent:
    return OutboxEvent.objects.create(name=name, payload=payload)


def _html(message) -> str:
    (body, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    return body


def test_a_paid_web_order_is_confirmed_once(shop, web, mailoutbox):
    order = _web_order(shop, web)
    placed = _event("order.placed", order_id=order.pk)

    on_order_placed(placed)
    on_order_placed(placed)  # redelivered
    on_order_status_changed(
        _event("order.status_changed", order_id=order.pk, new_status="allocated")
    )

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.subject == "Acme Home & Apparel: your order W-1001 is confirmed"
    assert mail.to == ["lea@example.com"]
    assert mail.from_email == "orders@omniretail.example"
    assert mail.body.startswith("Hello Léa,\n\nThank you for your order W-1001 at Acme Home")
    assert "  2 × Stoneware Mug Grey — 25.00 EUR\n" in mail.body
    assert "  1 × Fig Candle Fig — 18.00 EUR\n" in mail.body
    assert "Shipping: 4.90 EUR\nTotal: 47.90 EUR (of which VAT 5.93 EUR)" in mail.body
    assert "when it ships, with the tracking number" in mail.body
    html = _html(mail)
    assert "Acme Home &amp; Apparel" in html
    assert "<p>Hello Léa,</p>" in html
    assert "<strong>W-1001</strong>" in html
    assert "<strong>Total: 47.90 EUR</strong>" in html
    sent = AuditLog.objects.get(action="notification.sent")
    assert (sent.object_type, sent.object_id) == ("email.order_confirmed", str(order.pk))


def test_an_unpaid_order_is_confirmed_when_payment_comes(shop, web, mailoutbox):
    order = _web_order(shop, web, paid=False)
    on_order_placed(_event("order.placed", order_id=order.pk))
    assert mailoutbox == []
    order_confirm(order=order, actor=SYSTEM)
    on_order_status_changed(
        _event("order.status_changed", order_id=order.pk, new_status="confirmed")
    )
    assert [m.subject for m in mailoutbox] == [
        "Acme Home & Apparel: your order W-1001 is confirmed"
    ]


def test_no_email_address_no_email(shop, web, mailoutbox):
    order = _web_order(shop, web, email="")
    on_order_placed(_event("order.placed", order_id=order.pk))
    on_shipment_shipped(
        _event("shipment.shipped", order_id=order.pk, carrier="Colissimo", tracking_number="X1")
    )
    assert mailoutbox == []
    assert not AuditLog.objects.filter(action="notification.sent").exists()


def test_pickup_ready_gives_the_store_and_the_collection_code(shop, web, mailoutbox):
    shop.store.address = "12 rue des Francs-Bourgeois\n75004 Paris"
    shop.store.save()
    order = _web_order(shop, web, pickup=True)
    expires = dt.datetime(2026, 3, 14, 19, 0, tzinfo=dt.UTC)
    event = _event(
        "pickup.ready",
        shipment_id=7,
        order_id=order.pk,
        collection_code="K7Q2M9",
        expires_at=expires.isoformat(),
    )

    on_pickup_ready(event)
    on_pickup_ready(event)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.subject == (
        "Acme Home & Apparel: your order W-1001 is ready to collect at Paris Marais"
    )
    assert "Your collection code: K7Q2M9" in mail.body
    assert "12 rue des Francs-Bourgeois\n75004 Paris" in mail.body
    # 19:00 UTC is 20:00 in Paris
    assert "We keep your order until Saturday 14 March 2026, 20:00." in mail.body
    assert "Total: 43.00 EUR" in mail.body
    html = _html(mail)
    assert "K7Q2M9" in html
    assert "12 rue des Francs-Bourgeois<br>75004 Paris" in html


def test_shipment_shipped_gives_the_tracking_number(shop, web, mailoutbox):
    order = _web_order(shop, web)
    event = _event(
        "shipment.shipped", order_id=order.pk, carrier="Colissimo", tracking_number="6A123456789"
    )
    on_shipment_shipped(event)
    on_shipment_shipped(event)
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.subject == "Acme Home & Apparel: your order W-1001 is on its way"
    assert "Carrier: Colissimo\nTracking number: 6A123456789" in mail.body
    assert "Léa Martin\n5 rue de la Paix\n75002 Paris" in mail.body
    assert "Tracking number: <strong>6A123456789</strong>" in _html(mail)


def test_a_refund_lists_what_came_back_and_how_it_is_paid(shop, web, mailoutbox):
    stock_up(shop, {shop.mug: 5})
    sale = pos_sale_record(
        terminal=shop.terminal,
        client_uuid=uuid.uuid4(),
        lines=[SaleLine(2, sku="MUG-GR")],
        tenders=[Tender("cash", Decimal("25"))],
        actor=SYSTEM,
        customer_id=customer_find_or_create(email="paul@example.com", first_name="Paul").pk,
    ).order
    Order.objects.filter(pk=sale.pk).update(email="paul@example.com")
    ret = return_accept(
        order=sale,
        lines=[ReturnRequestLine(sale.lines.get().pk, 1)],
        location=shop.floor,
        channel=shop.pos_channel,
        actor=SYSTEM,
        refund_method="store_credit",
    )
    event = OutboxEvent.objects.get(name="refund.requested")

    on_refund_requested(event)
    on_refund_requested(event)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["paul@example.com"]
    assert mail.subject == (f"Acme Home & Apparel: your refund of 12.50 EUR for order {sale.pk}")
    assert (
        f"We have received the items you returned from order {sale.pk} at Paris Marais "
        f"(return {ret.number})." in mail.body
    )
    assert mail.body.startswith("Hello Paul,\n")  # a walk-in customer: no name
    assert "12.50 EUR is added to your store credit" in mail.body
    assert "  1 × Stoneware Mug Grey — 12.50 EUR\n" in mail.body
    assert "Shipping costs are not refunded." in mail.body


def test_a_cancelled_paid_order_is_refunded_on_its_tenders(shop, web, mailoutbox):
    order = _web_order(shop, web)
    on_refund_requested(
        _event(
            "refund.requested",
            order_id=order.pk,
            amount="47.90",
            currency="EUR",
            reason="cancelled: out of stock",
            method="original",
            return_id=None,
        )
    )
    mail = mailoutbox[0]
    assert "Your order W-1001 was cancelled." in mail.body
    assert "We are refunding 47.90 EUR to the payment method you used." in mail.body
    assert "Shipping costs are not refunded" not in mail.body


def test_events_delivered_through_the_outbox_send_each_e_mail_once(shop, web, mailoutbox):
    from omniretail.core.events import after_commit_handlers, outbox_deliver_one

    if on_order_placed not in after_commit_handlers("order.placed"):
        pytest.skip(
            "notifications are not wired yet: omniretail/wiring.py AFTER_COMMIT needs the "
            "handlers of omniretail.channels.notifications"
        )
    order = _web_order(shop, web)
    placed = OutboxEvent.objects.get(name="order.placed")
    assert outbox_deliver_one(str(placed.pk)) is True
    OutboxEvent.objects.filter(pk=placed.pk).update(delivered_at=None)  # delivered again
    assert outbox_deliver_one(str(placed.pk)) is True
    assert [m.subject for m in mailoutbox] == [
        f"Acme Home & Apparel: your order {order.external_id} is confirmed"
    ]
