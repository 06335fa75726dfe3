"""MyEduzz invoice bodies in the Eduzz Webhook v3 envelope, shaped as the published examples
(tests/fixtures/myeduzz/invoice_*): same keys per event, money as JSON numbers (read as
exact decimals), and their deliveries: retries, manual resends and late arrivals as for the
learning platforms (`deliveries`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from random import Random

import msgspec

from consumer.journeys.deliveries import Delivery, delay
from consumer.journeys.eduzz_payloads import Body, event_id, sent_date
from consumer.journeys.events import Event

KINDS = {"open": "opened", "paid": "paid", "waiting_payment": "waiting_payment",
         "waiting_refund": "waiting_refund", "refunded": "refunded", "canceled": "canceled",
         "expired": "expired"}
NO_METHOD = {"open", "canceled", "waiting_refund"}  # their examples carry no paymentMethod
REFUND_PERIOD = {"paid", "refunded", "waiting_refund"}  # items[].refundPeriod
UTM = {"open", "paid"}
ENCODE = msgspec.json.Encoder(decimal_format="number")  # as the platform sends money


def kind(e: Event) -> str:
    """The event string, e.g. `myeduzz.invoice_paid`."""
    return f"myeduzz.invoice_{KINDS[e.action]}"


def invoice(e: Event, rng: Random) -> Body:
    """A `myeduzz.invoice_*` body; the event time is `sentDate`."""
    sale, buyer = e.sale, e.learner
    assert sale is not None, "an invoice event carries its sale"
    mail = buyer.sent_email("myeduzz")
    data: Body = {"id": sale.invoice, "status": e.action,
                  "producer": {"id": sale.seller.id, "email": sale.seller.email,
                               "name": sale.seller.name}}
    if e.action == "paid":
        data["affiliate"] = {"id": "987654", "name": "Afiliado", "email": "afiliado@eduzz.com"}
    if e.action in UTM:
        data["utm"] = {"source": "instagram", "campaign": "lancamento", "content": "reels",
                       "medium": "social"}
    data["buyer"] = {"name": buyer.name, "email": mail, "phone": "555-789-1234",
                     "phone2": None, "cellphone": "+5511999999999"}
    data["createdAt"] = sent_date(e.at)
    if e.action == "refunded":
        data["refundedAt"] = sent_date(e.at)
    data["price"] = {"currency": sale.currency, "value": sale.total}
    if e.action not in NO_METHOD:
        data["paymentMethod"] = sale.method
    data["installments"] = sale.installments
    items = []
    for product, price in sale.items:
        item: Body = {"productId": product.id, "name": product.name}
        if e.action in REFUND_PERIOD:
            item["refundPeriod"] = {"durationType": "days", "value": 7}
        item["price"] = {"currency": sale.currency, "value": price}
        items.append(item)
    data["items"] = items
    return {"id": event_id(rng), "event": kind(e), "sentDate": sent_date(e.at), "data": data}


def sale_deliveries(events: Sequence[Event], seed: int) -> list[Delivery]:
    """Every delivery of the invoice events, in arrival order: 4% retried (same bytes), 3%
    resent by hand (same id, new sentDate, which is MyEduzz's event time)."""
    rng = Random(f"{seed}:sale-deliveries")
    subscription = event_id(rng)
    out: list[Delivery] = []
    for e in events:
        body = invoice(e, rng)
        arrives = e.at + delay(rng)
        out.append(_delivery(body, e, e.at, arrives, subscription, 1))
        chance = rng.random()
        if chance < 0.04:
            again = arrives + timedelta(seconds=rng.randint(60, 180))
            out.append(_delivery(body, e, e.at, again, subscription, 2))
        elif chance < 0.07:
            resent = arrives + timedelta(seconds=rng.randint(3600, 2 * 86400))
            copy = body | {"sentDate": sent_date(resent)}
            out.append(_delivery(copy, e, resent, resent, subscription, 1))
    out.sort(key=lambda d: d.arrives)
    return out


def _delivery(body: Body, e: Event, occurred: datetime, arrives: datetime, subscription: str,
              attempt: int) -> Delivery:
    headers = (("x-subscription", f"{subscription}:{body['event']}"),
               ("x-delivery-attempt", str(attempt)))
    return Delivery("eduzz", ENCODE.encode(body), headers, e, occurred.astimezone(UTC),
                    arrives)
