"""MyEduzz, Sun and Blinket: typed decoding and commerce rows, pure. No broker, no DuckDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Union
from zoneinfo import ZoneInfo

import msgspec
import pytest

from consumer.sources import alpaclass, blinket, myeduzz, nutror, sun
from consumer.sources.identity import Meta, timestamp
from tests.conftest import FIXTURES, fixture

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
RECEIVED = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
EVENTS = myeduzz.EVENTS + sun.EVENTS + blinket.EVENTS
DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Union[EVENTS])  # noqa: UP007


def meta(event) -> Meta:
    """What records.Decoder knows before mapping: the tag, sent_at from event_time()."""
    return Meta("eduzz:test-uid", type(event).__struct_config__.tag, RECEIVED,
                timestamp(event.event_time(), SAO_PAULO), 2, 7, SAO_PAULO)


def decode(body: bytes | dict):
    """The typed event and its commerce rows; a dict body is sent as its JSON text."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    event = DECODER.decode(body)
    return event, event.commerce_rows(meta(event))


def rows(body: bytes | dict):
    return decode(body)[1]


def edited(name: str, **data: Any) -> dict:
    """A fixture as a dict with some `data` keys replaced (None deletes the key)."""
    body = json.loads(fixture(name))
    for k, v in data.items():
        if v is None:
            body["data"].pop(k, None)
        else:
            body["data"][k] = v
    return body


# Expected values read off each fixture by hand:
# (platform, buyer_key, invoice_id, contract_id, status, product_ids, amount, currency, occurred)
INVOICE_SENT = datetime(2024, 1, 9, 14, 45, tzinfo=UTC)
CONTRACT_SENT = datetime(2024, 1, 15, 15, 0, tzinfo=UTC)
BLINKET_SENT = datetime(2024, 1, 20, 15, 0, tzinfo=UTC)
ALICE = "alice.johnson@example.com"
MARIA = "mariasilva@teste.com"
PRODUCTS = ["P567", "P789"]
SHOW = ["9b056848-beb0-44ff-9e76-d3ac131b6f50"]  # the Blinket ticketed event's id
EXPECTED = {
    "myeduzz/invoice_opened": ("myeduzz", ALICE, "12345678", None, "open", PRODUCTS,
                               Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_paid": ("myeduzz", ALICE, "12345678", None, "paid", PRODUCTS,
                             Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_canceled": ("myeduzz", ALICE, "12345678", None, "canceled", PRODUCTS,
                                 Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_waiting_refund": ("myeduzz", ALICE, "12345678", None, "waiting_refund",
                                       PRODUCTS, Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_refunded": ("myeduzz", ALICE, "12345678", None, "refunded", PRODUCTS,
                                 Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_expired": ("myeduzz", ALICE, "12345678", None, "expired", PRODUCTS,
                                Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_recovering": ("myeduzz", ALICE, "12345678", None, "recovering", PRODUCTS,
                                   Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_waiting_payment": ("myeduzz", ALICE, "12345678", None, "waiting_payment",
                                        PRODUCTS, Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_scheduled": ("myeduzz", ALICE, "12345678", None, "scheduled", PRODUCTS,
                                  Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_negotiated": ("myeduzz", ALICE, "12345678", None, "negotiated", PRODUCTS,
                                   Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/invoice_refused": ("myeduzz", ALICE, "12345678", None, "refused", PRODUCTS,
                                Decimal("301.5"), "BRL", INVOICE_SENT),
    # No buyer and no products in a commission; the amount is the invoice's total.
    "myeduzz/commission_processed": ("myeduzz", None, "12345678", None, None, None,
                                     Decimal("301.5"), "BRL", INVOICE_SENT),
    "myeduzz/contract_created": ("myeduzz", "testeeduzzqa@eduzz.com", None, "3456", "upToDate",
                                 ["1234"], Decimal("10.0"), "BRL", CONTRACT_SENT),
    "myeduzz/contract_updated": ("myeduzz", "testeeduzzqa@eduzz.com", None, "3456", "upToDate",
                                 ["1234"], Decimal("10.0"), "BRL", CONTRACT_SENT),
    # The e-mail is redacted in the published data: the placeholder is what the rule gives.
    "sun/cart_abandonment": ("sun", "<redacted>", "92a39f6e26324a65b4f89338ace25cf6", None,
                             "payment_failed", ["2984159"], None, None,
                             datetime(2026, 5, 19, 4, 12, 7, 529000, tzinfo=UTC)),
    "blinket/attendance_added": ("blinket", MARIA, None, None, "paid", SHOW, Decimal("10.0"),
                                 "BRL", BLINKET_SENT),
    "blinket/attendance_assigned": ("blinket", MARIA, None, None, "paid", SHOW, None, None,
                                    BLINKET_SENT),
    # This example's e-mail is on test.com, not teste.com.
    "blinket/attendance_canceled": ("blinket", "mariasilva@test.com", None, None, "canceled",
                                    SHOW, None, None, BLINKET_SENT),
    "blinket/attendance_checkin": ("blinket", MARIA, None, None, "paid", SHOW, None, None,
                                   BLINKET_SENT),
    "blinket/attendance_edited": ("blinket", MARIA, None, None, "paid", SHOW, None, None,
                                  BLINKET_SENT),
    "blinket/attendance_tag_changed": ("blinket", MARIA, None, None, "paid", SHOW, None, None,
                                       BLINKET_SENT),
    "blinket/attendances_printed": ("blinket", "testeeduzzqa@eduzz.com", None, None, "paid",
                                    SHOW, None, None, BLINKET_SENT),
    "blinket/ticket_edited": ("blinket", None, None, None, None, SHOW, None, None,
                              BLINKET_SENT),
}


def test_every_fixture_of_the_three_families_has_an_expectation():
    on_disk = {f"{p.parent.name}/{p.stem}" for family in ("myeduzz", "sun", "blinket")
               for p in (FIXTURES / family).glob("*.json")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_decodes_to_its_row(name):
    event, out = decode(fixture(name))
    assert type(event).__struct_config__.tag == json.loads(fixture(name))["event"]
    assert len(out) == 1
    (row,) = out
    assert (row.platform, row.buyer_key, row.invoice_id, row.contract_id, row.status,
            row.product_ids, row.amount, row.currency, row.occurred_at) == EXPECTED[name]
    assert row.amount is None or type(row.amount) is Decimal
    assert (row.event_uid, row.event_type) == ("eduzz:test-uid", json.loads(fixture(name))["event"])
    assert (row.kafka_partition, row.kafka_offset) == (2, 7)
    assert event.learning_rows(meta(event)) == []


def test_amount_is_an_exact_decimal_never_a_float():
    (row,) = rows(fixture("myeduzz/invoice_paid"))
    assert type(row.amount) is Decimal and row.amount == Decimal("301.5")
    # 0.1 has no exact binary float: going through float would give 0.1000000000000000055...
    body = b'{"event": "myeduzz.invoice_paid", "data": {"id": "1", "price": {"value": 0.1}}}'
    (row,) = rows(body)
    assert type(row.amount) is Decimal and str(row.amount) == "0.1"
    (row,) = rows(fixture("blinket/attendance_added"))
    assert type(row.amount) is Decimal and row.amount == Decimal("10.0")
    integral = edited("myeduzz/commission_processed", price={"currency": "BRL", "value": 147})
    assert rows(integral)[0].amount == Decimal("147")


# --- events without a fixture, built by hand from webhook-sources.md 5.5 ---

def test_invoice_overdue_from_the_field_list():
    body = edited("myeduzz/invoice_canceled", status="overdue", paymentMethod=None)
    body["event"] = "myeduzz.invoice_overdue"
    event, (row,) = decode(body)
    assert isinstance(event, myeduzz.InvoiceOverdue)
    assert (row.invoice_id, row.status, row.buyer_key) == ("12345678", "overdue", ALICE)


def test_invoice_negotiatied_typo_is_an_alias_with_its_own_event_type():
    body = json.loads(fixture("myeduzz/invoice_negotiated"))
    body["event"] = "myeduzz.invoice_negotiatied"
    event, (row,) = decode(body)
    assert isinstance(event, myeduzz.InvoiceNegotiated)
    assert row.event_type == "myeduzz.invoice_negotiatied"
    assert (row.invoice_id, row.status, row.amount) == ("12345678", "negotiated",
                                                        Decimal("301.5"))


def test_invoice_chargeback_takes_the_invoice_shape():
    body = edited("myeduzz/invoice_paid", status="chargeback")
    body["event"] = "myeduzz.invoice_chargeback"
    (row,) = rows(body)
    assert (row.invoice_id, row.status, row.product_ids) == ("12345678", "chargeback", PRODUCTS)


PIX_ATTEMPT = {
    "id": "0e6b6f64-31a4-4a57-9f0e-4c7d8d3f2a11",
    "event": "myeduzz.contract_pix_attempted",
    "data": {
        "producer": {"id": "1234", "name": "Next Assinaturas", "email": "qa-next@eduzz.com"},
        "invoice": {
            "id": "87654321",
            "payment": {"method": "pix", "pix": {"base64Code": "iVBO", "qrCode": "000201"}},
            "isNegotiation": False, "status": "waitingPayment",
            "dueDate": "2024-02-15T03:00:00.000Z", "attemptDate": "2024-02-15T10:00:00.000Z",
        },
        "contract": {"id": "3456", "payment": {"method": "pix"}, "status": "upToDate",
                     "createdAt": "2024-01-15T15:00:00.000Z"},
        "customer": {"id": "42", "name": "Teste QA", "email": " TesteEduzzQA@Eduzz.com "},
        "sentDate": "2024-02-15T10:00:01.000Z",
    },
}


def test_pix_attempt_reads_sent_date_from_inside_data():
    event, (row,) = decode(PIX_ATTEMPT)
    assert isinstance(event, myeduzz.PixAttempted)
    assert event.sentDate is None and event.event_time() == "2024-02-15T10:00:01.000Z"
    assert row.occurred_at == datetime(2024, 2, 15, 10, 0, 1, tzinfo=UTC)
    assert (row.buyer_key, row.invoice_id, row.contract_id, row.status) == (
        "testeeduzzqa@eduzz.com", "87654321", "3456", "waitingPayment")
    assert (row.product_ids, row.amount, row.currency) == (None, None, None)


def test_card_attempt_prefers_the_envelope_sent_date_and_keeps_camel_case_status():
    body = json.loads(json.dumps(PIX_ATTEMPT))
    body["event"] = "myeduzz.contract_card_attempted"
    body["sentDate"] = "2024-02-15T10:00:05.000Z"
    body["data"]["invoice"].update(payment={"method": "creditCard", "installments": 3},
                                   status="partialRefund", failReason="SA_VLAVL")
    event, (row,) = decode(body)
    assert isinstance(event, myeduzz.CardAttempted)
    assert row.occurred_at == datetime(2024, 2, 15, 10, 0, 5, tzinfo=UTC)
    assert row.status == "partialRefund"


@pytest.mark.parametrize("event_type", ["myeduzz.contract_eduzz_balance_attempted",
                                        "myeduzz.contract_bankslip_attempted"])
def test_other_attempts_share_the_shape(event_type):
    body = json.loads(json.dumps(PIX_ATTEMPT))
    body["event"] = event_type
    body["data"]["invoice"].update(failReason=None, failReasonMessage=None, status="refused")
    (row,) = rows(body)
    assert (row.event_type, row.invoice_id, row.contract_id, row.status) == (
        event_type, "87654321", "3456", "refused")


def test_attempt_without_any_sent_date_falls_back_to_received_at():
    body = {"event": "myeduzz.contract_pix_attempted", "data": {"invoice": {"id": "1"}}}
    (row,) = rows(body)
    assert row.occurred_at == RECEIVED
    assert (row.invoice_id, row.contract_id, row.buyer_key) == ("1", None, None)


# --- tolerance (webhook-sources.md section 7) ---

def test_ids_may_be_numbers_everywhere():
    invoice = edited("myeduzz/invoice_paid", id=12345678,
                     items=[{"productId": 567}, {"productId": "P789"}],
                     buyer={"id": 42, "email": None}, contract={"id": 3456})
    (row,) = rows(invoice)
    assert (row.invoice_id, row.product_ids, row.buyer_key, row.contract_id) == (
        "12345678", ["567", "P789"], "myeduzz:42", "3456")
    contract = edited("myeduzz/contract_created", products=[{"id": 1234, "plan": None}])
    contract["data"]["contract"]["id"] = 3456
    (row,) = rows(contract)
    assert (row.contract_id, row.product_ids) == ("3456", ["1234"])
    (row,) = rows(edited("myeduzz/commission_processed", invoiceId=12345678))
    assert row.invoice_id == "12345678"
    (row,) = rows(edited("sun/cart_abandonment", productId=[2984159, "77"], producerId="7"))
    assert row.product_ids == ["2984159", "77"]
    # developers.eduzz.com types these Blinket ids as numbers.
    added = edited("blinket/attendance_added", event={"id": 99, "name": "Show"},
                   batch={"contentId": 1733797, "price": {"currency": "BRL", "value": 10}},
                   buyer={"id": 123123, "email": "mariasilva@teste.com"})
    added["data"]["participant"].update(inviteKey=99999999, email=None,
                                        document={"type": "cpf", "number": 99999999999})
    event, (row,) = decode(added)
    assert (row.product_ids, row.buyer_key) == (["99"], "blinket:99999999")
    assert event.data.participant.document.number == 99999999999


@pytest.mark.parametrize(("body", "expected"), [
    ({"event": "myeduzz.invoice_opened", "data": {"id": "1"}},
     ("1", None, None, [], None, None)),
    ({"event": "myeduzz.commission_processed", "data": {"invoiceId": "1"}},
     ("1", None, None, None, None, None)),
    ({"event": "myeduzz.contract_updated", "data": {"contract": {"id": "9"}}},
     (None, None, None, [], None, None)),
    ({"event": "myeduzz.contract_card_attempted", "data": {"invoice": {"id": "5"}}},
     ("5", None, None, None, None, None)),
    ({"event": "sun.cart_abandonment", "data": {"transactionId": "t1"}},
     ("t1", None, None, [], None, None)),
    ({"event": "blinket.attendance_checkin", "data": {"event": {"id": "e"}, "participant": {}}},
     (None, None, None, ["e"], None, None)),
    # Arrays default to empty: a print with no participants is still one row, for the show.
    ({"event": "blinket.attendances_printed", "data": {"event": {"id": "e"}}},
     (None, None, None, ["e"], None, None)),
], ids=lambda v: v["event"] if isinstance(v, dict) else "")
def test_only_the_identifying_fields_are_required(body, expected):
    # No envelope id or sentDate either (gotcha 2): occurred_at is the arrival time.
    (row,) = rows(body)
    assert (row.invoice_id, row.buyer_key, row.status, row.product_ids, row.amount,
            row.currency) == expected
    assert row.occurred_at == RECEIVED


def test_unknown_fields_are_ignored_at_every_level():
    body = edited("myeduzz/contract_updated", isPSL=True, surprise={"a": [1, 2]})
    body["data"]["contract"].update(isPSL=False, price={"currency": "BRL", "value": 9})
    body["data"]["contract"]["recurrence"].update(previousDue="x", lastDue="y")
    body["data"]["customer"]["nickname"] = "qa"
    body["extra"] = 1
    (row,) = rows(body)
    assert (row.contract_id, row.amount) == ("3456", Decimal("10.0"))


def test_documented_booleans_also_accept_one_and_zero():
    body = edited("blinket/attendance_added", ticket={"name": "Padrão", "isPaid": 1})
    body["data"]["participant"].update(assigned=1, manuallyCreated=0)
    event, _ = decode(body)
    p = event.data.participant
    assert (p.assigned, p.manuallyCreated, event.data.ticket.isPaid) == (1, 0, 1)
    attempt = json.loads(json.dumps(PIX_ATTEMPT))
    attempt["data"]["invoice"]["isNegotiation"] = 1
    assert decode(attempt)[0].data.invoice.isNegotiation == 1
    assert decode(fixture("blinket/attendance_assigned"))[0].data.participant.assigned is True


@pytest.mark.parametrize("phone", [None, "555-789-1234", "+5515999999999",
                                   {"countryCode": "55", "areaCode": "15", "number": "59"}])
def test_phones_of_any_shape_decode(phone):
    invoice = edited("myeduzz/invoice_paid")
    invoice["data"]["buyer"].update(phone=phone, phone2=phone, cellphone=phone)
    contract = edited("myeduzz/contract_created")
    contract["data"]["customer"]["phone"] = phone
    ticket = edited("blinket/attendance_added")
    ticket["data"]["participant"]["phone"] = phone
    cart = edited("sun/cart_abandonment")
    cart["data"]["customer"]["phone"] = phone
    for body in (invoice, contract, ticket, cart):
        assert len(rows(body)) == 1


@pytest.mark.parametrize("plan", [None, "monthly", {"id": "p1", "name": "Mensal"}])
def test_product_plan_may_be_string_null_or_object(plan):
    body = edited("myeduzz/contract_created")
    body["data"]["products"][0]["plan"] = plan
    assert rows(body)[0].product_ids == ["1234"]


@pytest.mark.parametrize("status", ["waiting_refund", "waitingRefund", "negociated"])
def test_status_is_kept_as_sent(status):
    assert rows(edited("myeduzz/invoice_waiting_refund", status=status))[0].status == status


def test_buyer_key_is_the_trimmed_lowercase_email_else_the_platform_id():
    shouted = {"id": "b7", "email": "  Alice.Johnson@Example.COM "}
    assert rows(edited("myeduzz/invoice_paid", buyer=shouted))[0].buyer_key == ALICE
    blank = {"id": "b7", "email": "  "}
    assert rows(edited("myeduzz/invoice_paid", buyer=blank))[0].buyer_key == "myeduzz:b7"
    assert rows(edited("myeduzz/invoice_paid", buyer=None))[0].buyer_key is None
    assert rows(edited("sun/cart_abandonment", customer={"name": "x"}))[0].buyer_key is None


def test_attendance_added_keys_the_ticket_holder_not_the_payer():
    body = edited("blinket/attendance_added", buyer={"id": "1", "email": "payer@example.com"})
    assert rows(body)[0].buyer_key == MARIA


def test_one_row_per_printed_participant():
    body = json.loads(fixture("blinket/attendances_printed"))
    first = body["data"]["participants"][0]
    body["data"]["participants"].append({**first, "email": "Other@Eduzz.com", "status": "canceled"})
    assert [(r.buyer_key, r.status) for r in rows(body)] == [
        ("testeeduzzqa@eduzz.com", "paid"), ("other@eduzz.com", "canceled")]


@pytest.mark.parametrize(("body", "error"), [
    ({"event": "myeduzz.invoice_paid", "data": {"id": {"x": 1}}},
     "Expected `int | str`, got `object` - at `$.data.id`"),
    ({"event": "myeduzz.invoice_paid", "data": {"status": "paid"}},
     "Object missing required field `id` - at `$.data`"),
    ({"event": "myeduzz.commission_processed", "data": {"invoiceId": 1.5}},
     "Expected `int | str`, got `float` - at `$.data.invoiceId`"),
    ({"event": "myeduzz.contract_created", "data": {"customer": {}}},
     "Object missing required field `contract` - at `$.data`"),
    ({"event": "myeduzz.contract_pix_attempted", "data": {"invoice": {"id": [1]}}},
     "Expected `int | str`, got `array` - at `$.data.invoice.id`"),
    ({"event": "sun.cart_abandonment", "data": {"transactionId": None}},
     "Expected `int | str`, got `null` - at `$.data.transactionId`"),
    ({"event": "blinket.attendance_checkin", "data": {"event": {"id": "e"}, "participant": "x"}},
     "Expected `object`, got `str` - at `$.data.participant`"),
    ({"event": "blinket.ticket_edited", "data": {}},
     "Object missing required field `event` - at `$.data`"),
    ({"event": "myeduzz.invoice_paid", "data": {"id": "1", "price": {"value": "abc"}}},
     "Invalid decimal string - at `$.data.price.value`"),
], ids=lambda v: v["event"] if isinstance(v, dict) else "")
def test_known_event_with_a_wrong_type_fails_with_the_path(body, error):
    with pytest.raises(msgspec.ValidationError) as exc:
        rows(body)
    assert str(exc.value) == error


def test_every_documented_event_string_has_a_class():
    names = {str(cls.__struct_config__.tag) for cls in EVENTS}
    invoice = {f"myeduzz.invoice_{s}" for s in (
        "opened", "paid", "canceled", "waiting_refund", "refunded", "expired", "recovering",
        "waiting_payment", "scheduled", "negotiated", "negotiatied", "refused", "overdue",
        "chargeback")}
    contract = {f"myeduzz.contract_{s}" for s in (
        "created", "updated", "eduzz_balance_attempted", "pix_attempted", "card_attempted",
        "bankslip_attempted")}
    blinket_names = {f"blinket.{s}" for s in (
        "attendance_added", "attendance_assigned", "attendance_canceled", "attendance_edited",
        "attendances_printed", "attendance_checkin", "attendance_tag_changed", "ticket_edited")}
    assert names == invoice | contract | blinket_names | {
        "myeduzz.commission_processed", "sun.cart_abandonment"}
    assert len(EVENTS) == len(names)


def test_one_union_with_the_learning_events_still_builds():
    # records.py decodes every Eduzz origin with one tagged union: tags must not collide.
    everything = alpaclass.EVENTS + nutror.EVENTS + EVENTS
    decoder = msgspec.json.Decoder(Union[everything])  # noqa: UP007
    assert isinstance(decoder.decode(fixture("sun/cart_abandonment")), sun.CartAbandonment)
