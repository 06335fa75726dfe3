"""MyEduzz (`myeduzz.*`) events: invoices, commissions, contracts, charge attempts."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from consumer.rows import CommerceRow
from consumer.sources.envelope import EduzzEvent, Money
from consumer.sources.identity import Id, Meta, email, ident, key, learner_key

PLATFORM = "myeduzz"


class Ref(msgspec.Struct, gc=False, kw_only=True):
    """Something known by its id: a product (its `plan`, str, null or object, is not typed)."""

    id: Id | None = None


class Person(Ref, kw_only=True):
    """A buyer or customer. Phones vary in shape (gotcha 22), so they are not typed."""

    email: str | None = None


class Item(msgspec.Struct, gc=False, kw_only=True):
    """An invoice line: its product and, when sent, its price (revenue per product)."""

    productId: Id | None = None
    price: Money | None = None


class Recurrence(msgspec.Struct, gc=False, kw_only=True):
    """Only the price is read: the due-date names drift between versions (gotcha 14)."""

    price: Money | None = None


class Contract(msgspec.Struct, gc=False, kw_only=True):
    """A subscription contract; `status` is camelCase (`upToDate`) and stored as sent."""

    id: Id
    status: str | None = None
    recurrence: Recurrence | None = None


class Charge(msgspec.Struct, gc=False, kw_only=True):
    """The invoice of a charge attempt; its `status` is camelCase and stored as sent."""

    id: Id
    status: str | None = None
    isNegotiation: bool | int | None = None  # documented as a bool; 1/0 accepted as well


class Data(msgspec.Struct, gc=False, kw_only=True):
    """Every MyEduzz `data`; subclasses make required what identifies their row."""

    id: Id | None = None  # the invoice's
    producer: Ref | None = None  # the seller: the school whose products are mapped to courses
    status: str | None = None  # invoice status, snake_case (`waiting_refund`); stored as sent
    buyer: Person | None = None  # invoices
    customer: Person | None = None  # contracts and charge attempts
    price: Money | None = None  # the invoice's total (invoices, commission_processed)
    items: list[Item] = []
    invoiceId: Id | None = None  # commission_processed
    invoice: Charge | None = None  # charge attempts
    contract: Contract | None = None  # contracts, attempts, live `invoice_paid` (unofficial)
    products: list[Ref] = []
    sentDate: str | None = None  # charge attempts put it here, not in the envelope (gotcha 3)


class InvoiceData(Data, kw_only=True):
    id: Id


class CommissionData(Data, kw_only=True):
    invoiceId: Id


class ContractData(Data, kw_only=True):
    contract: Contract


class AttemptData(Data, kw_only=True):
    invoice: Charge


def _row(m: Meta, buyer: Person | None, price: Money | None, *, invoice: Id | None = None,
         contract: Id | None = None, status: str | None = None,
         products: Iterable[Id | None] | None = None, seller: Ref | None = None,
         items: Iterable[Item] = ()) -> CommerceRow:
    """One row. `product_ids` is None, not [], when the event has no notion of products;
    `product_amounts` is set only for invoice items, one per product id kept."""
    lines = [(t, i.price.value if i.price else None) for i in items if (t := ident(i.productId))]
    return CommerceRow(
        event_uid=m.event_uid, platform=PLATFORM, event_type=m.event_type,
        occurred_at=m.sent_at or m.received_at,
        # The learner_key rule, so one person has one key across platforms.
        buyer_key=learner_key(PLATFORM, email(buyer.email), buyer.id) if buyer else None,
        invoice_id=ident(invoice), contract_id=ident(contract), status=status,
        product_ids=None if products is None else [t for p in products if (t := ident(p))],
        amount=price.value if price else None, currency=price.currency if price else None,
        kafka_partition=m.kafka_partition, kafka_offset=m.kafka_offset,
        school_key=key(PLATFORM, seller.id) if seller else None,
        product_amounts=[a for _, a in lines] if lines else None)


class MyEduzzEvent(EduzzEvent, kw_only=True):
    """Any `myeduzz.*` event."""


class InvoiceEvent(MyEduzzEvent, kw_only=True):
    """An invoice changed state: one row, the invoice as it is now."""

    data: InvoiceData

    def commerce_rows(self, m: Meta) -> list[CommerceRow]:
        """The invoice, its buyer, products and total."""
        d = self.data
        return [_row(m, d.buyer, d.price, invoice=d.id, status=d.status,
                     contract=d.contract.id if d.contract else None,
                     products=[i.productId for i in d.items], seller=d.producer, items=d.items)]


# One class per wire event string (README, Supported events); `data.status` says the same.
class InvoiceOpened(InvoiceEvent, tag="myeduzz.invoice_opened"): ...  # status "open"
class InvoicePaid(InvoiceEvent, tag="myeduzz.invoice_paid"): ...
class InvoiceCanceled(InvoiceEvent, tag="myeduzz.invoice_canceled"): ...
class InvoiceWaitingRefund(InvoiceEvent, tag="myeduzz.invoice_waiting_refund"): ...
class InvoiceRefunded(InvoiceEvent, tag="myeduzz.invoice_refunded"): ...
class InvoiceExpired(InvoiceEvent, tag="myeduzz.invoice_expired"): ...
class InvoiceRecovering(InvoiceEvent, tag="myeduzz.invoice_recovering"): ...
class InvoiceWaitingPayment(InvoiceEvent, tag="myeduzz.invoice_waiting_payment"): ...
class InvoiceScheduled(InvoiceEvent, tag="myeduzz.invoice_scheduled"): ...
class InvoiceNegotiated(InvoiceEvent, tag="myeduzz.invoice_negotiated"): ...
class InvoiceRefused(InvoiceEvent, tag="myeduzz.invoice_refused"): ...  # page removed 2024-06
class InvoiceOverdue(InvoiceEvent, tag="myeduzz.invoice_overdue"): ...  # field list only
class InvoiceChargeback(InvoiceEvent, tag="myeduzz.invoice_chargeback"): ...  # shape inferred
# The repository example's typo (gotcha 7): the same event, accepted under its own tag.
class InvoiceNegotiatied(InvoiceNegotiated, tag="myeduzz.invoice_negotiatied"): ...


class CommissionProcessed(MyEduzzEvent, tag="myeduzz.commission_processed"):
    """Commissions of a paid invoice were processed. There is no buyer in it."""

    data: CommissionData

    def commerce_rows(self, m: Meta) -> list[CommerceRow]:
        """The invoice and its total; the split stays in `raw_events`."""
        return [_row(m, None, self.data.price, invoice=self.data.invoiceId)]


class ContractEvent(MyEduzzEvent, kw_only=True):
    """A subscription contract was created or changed."""

    data: ContractData

    def commerce_rows(self, m: Meta) -> list[CommerceRow]:
        """The contract, its customer, products and recurring price."""
        d, c = self.data, self.data.contract
        price = c.recurrence.price if c.recurrence else None
        return [_row(m, d.customer, price, contract=c.id, status=c.status,
                     products=[p.id for p in d.products], seller=d.producer)]


class ContractCreated(ContractEvent, tag="myeduzz.contract_created"): ...
class ContractUpdated(ContractEvent, tag="myeduzz.contract_updated"): ...  # `reason` says why


class AttemptEvent(MyEduzzEvent, kw_only=True):
    """A subscription charge attempt; these pages put `sentDate` inside `data` (gotcha 3)."""

    data: AttemptData

    def commerce_rows(self, m: Meta) -> list[CommerceRow]:
        """The attempted invoice, its contract and customer; no amount is sent."""
        d = self.data
        return [_row(m, d.customer, None, invoice=d.invoice.id, status=d.invoice.status,
                     contract=d.contract.id if d.contract else None)]

    def event_time(self) -> str | None:
        """The envelope's sentDate, else the one inside `data`."""
        return self.sentDate if self.sentDate is not None else self.data.sentDate


class BalanceAttempted(AttemptEvent, tag="myeduzz.contract_eduzz_balance_attempted"): ...
class PixAttempted(AttemptEvent, tag="myeduzz.contract_pix_attempted"): ...
class CardAttempted(AttemptEvent, tag="myeduzz.contract_card_attempted"): ...  # unofficial
class BankslipAttempted(AttemptEvent, tag="myeduzz.contract_bankslip_attempted"): ...  # inferred


EVENTS: tuple[type[MyEduzzEvent], ...] = (
    InvoiceOpened, InvoicePaid, InvoiceCanceled, InvoiceWaitingRefund, InvoiceRefunded,
    InvoiceExpired, InvoiceRecovering, InvoiceWaitingPayment, InvoiceScheduled, InvoiceNegotiated,
    InvoiceNegotiatied, InvoiceRefused, InvoiceOverdue, InvoiceChargeback, CommissionProcessed,
    ContractCreated, ContractUpdated, BalanceAttempted, PixAttempted, CardAttempted,
    BankslipAttempted)
