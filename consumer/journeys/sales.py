"""Buyers on MyEduzz, seeded, beside the learners of `behaviour` (whose events stay as they
are: sales draw from their own random stream).

About half of the learners with an e-mail bought the course they take, most shortly before
their first lesson, some mid-way (activity before and after the payment); some bought a
combo, some added an unmapped product to the same invoice (two items), some an unmapped
ebook. Invoices open and wait for a bank slip, or are paid at once, by card in up to 12
installments; a few never get paid. Buyers who did little ask for a refund more often, after
their last activity; and some buyers never start at all, some of them refunding within the
7-day withdrawal period. Within an invoice every event is at least a second after the one
before, so its current status never needs the arrival tie-break.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from random import Random

from consumer.journeys.catalogue import Course
from consumer.journeys.events import END, START, Event, Learner, utc
from consumer.journeys.journey import DAY, HOUR
from consumer.journeys.products import Product, Sale, products

USD = Decimal("0.20")  # a few invoices are in dollars: currencies must never be summed


def sales(learners: int, courses: tuple[Course, ...], events: Sequence[Event],
          seed: int) -> list[Event]:
    """Every MyEduzz invoice event of the simulated buyers, in time order."""
    rng = Random(f"{seed}:sales")
    catalogue = products(courses)
    by_course = {p.courses[0].id: p for p in catalogue if len(p.courses) == 1}
    combo, mentoria, ao_vivo, ebook = catalogue[-4:]
    spans, people = _spans(events)
    out: list[Event] = []
    invoices: set[str] = set()
    bought_combo: set[int] = set()
    for (n, course_id), (first, last, lessons) in sorted(spans.items()):
        if rng.random() >= 0.55:
            continue
        product = by_course[course_id]
        if product.courses[0] in combo.courses and rng.random() < 0.3:
            if n in bought_combo:
                continue
            bought_combo.add(n)
            product = combo
        paid = first - rng.randint(600, 3 * DAY)
        if rng.random() < 0.15 and last - first > 2 * HOUR:  # bought after a free preview
            paid = rng.randint(first + 1, last - 1)
        extra = (mentoria if product.seller is mentoria.seller else ao_vivo) \
            if rng.random() < 0.15 else None
        _invoice(rng, people[n], [product] + ([extra] if extra else []), paid,
                 _refund(rng, lessons, last, paid), invoices, out)
        if rng.random() < 0.08:
            _invoice(rng, people[n], [ebook], rng.randint(first, max(first, last)), None,
                     invoices, out)
    for k in range(max(3, learners // 6)):  # bought, never started
        buyer = Learner(learners + k, f"Comprador {k}", f"comprador{k}@exemplo.com.br",
                        f"{rng.getrandbits(128):032x}", rng.randrange(10**8, 10**9))
        paid = int((START + timedelta(days=rng.uniform(0, 7 * 12 - 1))).timestamp())
        refund = paid + rng.randint(HOUR, 6 * DAY) if rng.random() < 0.35 else None
        _invoice(rng, buyer, [rng.choice(catalogue)], paid, refund, invoices, out)
    end = END.timestamp()
    return sorted((e for e in out if e.at.timestamp() <= end), key=lambda e: e.at)


def _spans(events: Sequence[Event]) -> tuple[dict[tuple[int, str], list[int]],
                                            dict[int, Learner]]:
    """Per learner x course: [first, last activity (epoch s), lessons completed]; and the
    learners with an e-mail (the only ones who can buy)."""
    spans: dict[tuple[int, str], list[int]] = {}
    people: dict[int, Learner] = {}
    for e in events:
        if e.course is None or e.learner.email is None:
            continue
        people[e.learner.n] = e.learner
        t = int(e.at.timestamp())
        span = spans.setdefault((e.learner.n, e.course.id), [t, t, 0])
        span[1] = max(span[1], t)
        span[2] += e.action == "lesson_completed"
    return spans, people


def _refund(rng: Random, lessons: int, last: int, paid: int) -> int | None:
    """When the buyer gets the money back, if ever: most often after doing little."""
    if lessons <= 2 and rng.random() < 0.45:  # did little, asks for the money back
        return max(last, paid) + rng.randint(HOUR, 4 * DAY)
    if rng.random() < 0.04:
        return paid + rng.randint(DAY, 20 * DAY)
    return None


def _invoice(rng: Random, buyer: Learner, items: list[Product], paid: int,
             refund: int | None, invoices: set[str], out: list[Event]) -> None:
    """The events of one invoice: opened or waiting for a bank slip, paid (or never), and
    a refund asked (waiting_refund) and granted, or granted at once."""
    invoice = str(rng.randrange(10**7, 10**8))
    while invoice in invoices:
        invoice = str(rng.randrange(10**7, 10**8))
    invoices.add(invoice)
    method = rng.choices(["creditCard", "pix", "bankslip"], weights=[6, 2, 2])[0]
    installments = rng.choice([2, 3, 6, 10, 12]) if method == "creditCard" and \
        rng.random() < 0.35 else 1
    dollars = items[0].seller.id == "654321" and rng.random() < 0.25
    currency, rate = ("USD", USD) if dollars else ("BRL", Decimal(1))
    sale = Sale(invoice, items[0].seller,
                tuple((p, (p.price * rate).quantize(Decimal("0.01"))) for p in items),
                currency, method, installments)
    steps: list[tuple[str, int]] = []
    if method == "bankslip":
        steps += [("open", paid - rng.randint(2 * DAY, 4 * DAY)),
                  ("waiting_payment", paid - rng.randint(HOUR, DAY))]
    elif rng.random() < 0.5:
        steps.append(("open", paid - rng.randint(30, 600)))
    if rng.random() < 0.05:  # never paid
        steps.append((rng.choice(["canceled", "expired"]), paid))
    else:
        steps.append(("paid", paid))
        if refund is not None:
            if rng.random() < 0.75:
                steps.append(("waiting_refund", refund))
                refund += rng.randint(HOUR, 3 * DAY)
            steps.append(("refunded", refund))
    for status, t in steps:
        out.append(Event("myeduzz", status, utc(t), buyer, sale=sale))
