"""The commerce row each MyEduzz, Sun and Blinket fixture must give, read off it by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

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
