"""Sun checkout (`sun.*`) events: abandoned carts, known only from third-party data."""

from __future__ import annotations

import msgspec

from consumer.rows import CommerceRow
from consumer.sources.envelope import EduzzEvent
from consumer.sources.identity import Id, Meta, email, ident, learner_key

PLATFORM = "sun"


class Customer(msgspec.Struct, gc=False, kw_only=True):
    """Who left the cart. The phone (an E.164-like string) is not typed: shapes vary by origin."""

    name: str | None = None
    email: str | None = None


class Cart(msgspec.Struct, gc=False, kw_only=True):
    """`data` of `sun.cart_abandonment`; the checkout's `transactionId` identifies the row."""

    transactionId: Id
    customer: Customer | None = None
    lastStep: str | None = None  # how far the buyer got, e.g. "payment_failed"
    productId: list[Id] = []  # an array, despite the singular name
    producerId: Id | None = None  # a number in the only example
    updatedAt: str | None = None
    saleRecoveryUrl: str | None = None


class SunEvent(EduzzEvent, kw_only=True):
    """Any `sun.*` event."""

    data: Cart

    def commerce_rows(self, m: Meta) -> list[CommerceRow]:
        """One row: the abandoned checkout, its customer, products and last step."""
        d = self.data
        mail = email(d.customer.email) if d.customer else None
        # The cart carries no price, so amount and currency stay null.
        return [CommerceRow(
            event_uid=m.event_uid, platform=PLATFORM, event_type=m.event_type,
            occurred_at=m.sent_at or m.received_at,
            # The learner_key rule; a Sun customer has no id to fall back on.
            buyer_key=learner_key(PLATFORM, mail, None),
            invoice_id=ident(d.transactionId), status=d.lastStep,
            product_ids=[t for p in d.productId if (t := ident(p))],
            kafka_partition=m.kafka_partition, kafka_offset=m.kafka_offset,
        )]


class CartAbandonment(SunEvent, tag="sun.cart_abandonment"):
    """A Sun checkout was left before the sale completed."""


EVENTS: tuple[type[SunEvent], ...] = (CartAbandonment,)
