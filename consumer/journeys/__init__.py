"""A journey simulator: learners on AlpaClass, Nutror and Toolzz courses, buyers on MyEduzz,
and their webhooks as each platform really sends them.

Used by `learnstream demo` and by the tests (through the real pipeline, and straight into
DuckDB). The answer every view should give is test code: tests/support/oracle.
"""

from __future__ import annotations

from random import Random

from consumer.journeys.behaviour import simulate
from consumer.journeys.catalogue import catalogue
from consumer.journeys.deliveries import Delivery, deliveries, identity, messages, shuffled
from consumer.journeys.myeduzz_payloads import sale_deliveries
from consumer.journeys.products import mapping
from consumer.journeys.sales import sales as simulate_sales

__all__ = ["Delivery", "identity", "journeys", "messages", "product_mapping", "shuffled",
           "simulate"]


def journeys(learners: int, seed: int, sales: bool = False) -> list[Delivery]:
    """The deliveries of `learners` simulated learners, in arrival order; same seed, same
    bytes. With `sales`, MyEduzz invoices of their purchases (and of buyers who never
    start) arrive among them; the learning deliveries are the same either way."""
    courses, events = simulate(learners, seed)
    out = deliveries(courses, events, seed)
    if sales:
        bought = simulate_sales(learners, courses, events, seed)
        out = sorted(out + sale_deliveries(bought, seed), key=lambda d: d.arrives)
    return out


def product_mapping(seed: int) -> list[tuple[str, str, str]]:
    """(school_key, product_id, course_key) rows a user would load into product_courses for
    the products of the run with this seed (its catalogue is the seed's first draw)."""
    return mapping(catalogue(Random(seed)))
