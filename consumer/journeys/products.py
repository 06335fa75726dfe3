"""What MyEduzz sells: sellers (producers), their products, and the courses each gives access
to. Most products map to one course, a combo to two (many to many); a few map to none, so the
views' fallback (the buyer's activity on the seller's platforms) is exercised: one seller's
unmapped product next to its mapped ones, and a seller with no mapping at all.
"""

from __future__ import annotations

import zlib
from decimal import Decimal

import msgspec

from consumer.journeys.catalogue import Course

PRICES = ("49.90", "97.00", "197.00", "297.00")


class Seller(msgspec.Struct, frozen=True):
    """A MyEduzz producer: `school_key` is `myeduzz:<id>` (README "What lands in DuckDB")."""

    id: str
    name: str
    email: str

    @property
    def school_key(self) -> str:
        return f"myeduzz:{self.id}"


class Product(msgspec.Struct, frozen=True):
    """A product for sale. `courses` is what a user maps it to (empty: never mapped);
    `platforms` is where its buyers go to learn."""

    id: str
    name: str
    seller: Seller
    price: Decimal
    courses: tuple[Course, ...]
    platforms: tuple[str, ...]


class Sale(msgspec.Struct, frozen=True):
    """One invoice: its items (product, price), currency, payment method and installments
    (a card split in n pays the same total on one invoice)."""

    invoice: str
    seller: Seller
    items: tuple[tuple[Product, Decimal], ...]
    currency: str
    method: str
    installments: int

    @property
    def total(self) -> Decimal:
        return sum((price for _, price in self.items), Decimal(0))


COURSES_SELLER = Seller("123456", "Fulano da Silva", "fulano@eduzz.com")
TOOLZZ_SELLER = Seller("654321", "Instituto Toolzz", "vendas@toolzz.example.com")
EBOOK_SELLER = Seller("777777", "Ciclano Editora", "ciclano@eduzz.com")


def _id(text: str) -> str:
    return str(1_000_000 + zlib.crc32(text.encode()) % 9_000_000)


def products(courses: tuple[Course, ...]) -> tuple[Product, ...]:
    """The catalogue for sale: one product per course, a combo of two Nutror courses, and
    three products no one maps."""
    out = []
    for c in courses:
        seller = TOOLZZ_SELLER if c.platform == "toolzz" else COURSES_SELLER
        price = Decimal(PRICES[zlib.crc32(c.id.encode()) % len(PRICES)])
        out.append(Product(_id(c.id), c.name, seller, price, (c,), (c.platform,)))
    nutror = tuple(c for c in courses if c.platform == "nutror")[:2]
    out.append(Product(_id("combo"), "Combo Nutror", COURSES_SELLER, Decimal("397.00"),
                       nutror, ("nutror",)))
    out.append(Product(_id("mentoria"), "Mentoria em grupo", COURSES_SELLER,
                       Decimal("1500.00"), (), ("alpaclass", "nutror")))
    out.append(Product(_id("ao-vivo"), "Aulas ao vivo", TOOLZZ_SELLER, Decimal("89.90"), (),
                       ("toolzz",)))
    out.append(Product(_id("ebook"), "Ebook de bolso", EBOOK_SELLER, Decimal("19.90"), (),
                       ("alpaclass", "nutror", "toolzz")))
    return tuple(out)


def mapping(courses: tuple[Course, ...]) -> list[tuple[str, str, str]]:
    """(school_key, product_id, course_key) of every mapped product: what a user would load
    into product_courses."""
    return [(p.seller.school_key, p.id, f"{c.platform}:{c.id}")
            for p in products(courses) for c in p.courses]
