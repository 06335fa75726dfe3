"""Blinket (`blinket.*`) event-ticketing events: one commerce row per ticket holder."""

from __future__ import annotations

import msgspec

from consumer.rows import CommerceRow
from consumer.sources.envelope import EduzzEvent, Money
from consumer.sources.identity import Id, Meta, email, ident, learner_key

PLATFORM = "blinket"


class Ticketed(msgspec.Struct, gc=False, kw_only=True):
    """`data.event`: the ticketed event (an object here, unlike the envelope's `event`)."""

    id: Id
    name: str | None = None
    type: str | None = None


class Person(msgspec.Struct, gc=False, kw_only=True):
    """The producer or the buyer. Phones are not typed: their shape varies (gotcha 22)."""

    id: Id | None = None
    name: str | None = None
    email: str | None = None


class Document(msgspec.Struct, gc=False, kw_only=True):
    """A participant's document; `number` is a number on developers.eduzz.com."""

    type: str | None = None
    number: Id | None = None


class Participant(msgspec.Struct, gc=False, kw_only=True):
    """A ticket holder; the documented booleans also accept 1/0 (gotcha 19)."""

    inviteKey: Id | None = None
    name: str | None = None
    email: str | None = None
    status: str | None = None
    document: Document | None = None
    assigned: bool | int | None = None
    manuallyCreated: bool | int | None = None
    checkInAt: str | None = None
    tags: list[str] = []  # attendance_tag_changed only


class Batch(msgspec.Struct, gc=False, kw_only=True):
    """A ticket batch ("lote") and its price."""

    contentId: Id | None = None
    name: str | None = None
    price: Money | None = None


class Ticket(msgspec.Struct, gc=False, kw_only=True):
    """A ticket type; `batches` only in `ticket_edited`."""

    name: str | None = None
    isPaid: bool | int | None = None
    batches: list[Batch] = []


class Data(msgspec.Struct, gc=False, kw_only=True):
    """Every Blinket `data`; subclasses make required what their event always carries."""

    event: Ticketed
    producer: Person | None = None
    participant: Participant | None = None
    participants: list[Participant] = []  # attendances_printed
    buyer: Person | None = None  # attendance_added
    ticket: Ticket | None = None  # attendance_added
    batch: Batch | None = None  # attendance_added
    tickets: list[Ticket] = []  # ticket_edited
    createdAt: str | None = None


class ParticipantData(Data, kw_only=True):
    participant: Participant


class BlinketEvent(EduzzEvent, kw_only=True):
    """Any `blinket.*` event: a row per participant it names, for the ticketed event."""

    data: Data

    def commerce_rows(self, m: Meta) -> list[CommerceRow]:
        """One row per participant; an event naming none (`ticket_edited`) is still one row.

        The buyer is the participant, the ticket holder, even when `attendance_added` also
        names who paid (`buyer`): attendance is about the holder, and every other Blinket
        event names only the holder, so the key stays the same across one ticket's events.
        """
        d = self.data
        people: list[Participant | None] = [d.participant] if d.participant else [*d.participants]
        # The batch price is only sent on attendance_added; ticket_edited may list several
        # batches at several prices, so it gets no amount.
        price = d.batch.price if d.batch else None
        product = ident(d.event.id)
        return [CommerceRow(
            event_uid=m.event_uid, platform=PLATFORM, event_type=m.event_type,
            occurred_at=m.sent_at or m.received_at,
            # The learner_key rule; without an e-mail the invite key is the only id there is.
            buyer_key=learner_key(PLATFORM, email(p.email), p.inviteKey) if p else None,
            status=p.status if p else None, product_ids=[product] if product else [],
            amount=price.value if price else None, currency=price.currency if price else None,
            kafka_partition=m.kafka_partition, kafka_offset=m.kafka_offset,
        ) for p in people or [None]]


class AttendanceAdded(BlinketEvent, tag="blinket.attendance_added"):
    """A ticket was bought or created by hand ("Novo Participante")."""

    data: ParticipantData


class AttendanceAssigned(BlinketEvent, tag="blinket.attendance_assigned"):
    """A ticket was assigned to a participant."""

    data: ParticipantData


class AttendanceCanceled(BlinketEvent, tag="blinket.attendance_canceled"):
    """A ticket was canceled."""

    data: ParticipantData


class AttendanceEdited(BlinketEvent, tag="blinket.attendance_edited"):
    """A participant's data changed."""

    data: ParticipantData


class AttendancesPrinted(BlinketEvent, tag="blinket.attendances_printed"):
    """The ticket print screen was opened: `participants[]`, one row each."""


class AttendanceCheckin(BlinketEvent, tag="blinket.attendance_checkin"):
    """A participant checked in."""

    data: ParticipantData


class AttendanceTagChanged(BlinketEvent, tag="blinket.attendance_tag_changed"):
    """A tag was added to or removed from a participant."""

    data: ParticipantData


class TicketEdited(BlinketEvent, tag="blinket.ticket_edited"):
    """A ticket or batch changed; it names no participant, so its row has no buyer."""


EVENTS: tuple[type[BlinketEvent], ...] = (
    AttendanceAdded, AttendanceAssigned, AttendanceCanceled, AttendanceEdited,
    AttendancesPrinted, AttendanceCheckin, AttendanceTagChanged, TicketEdited,
)
