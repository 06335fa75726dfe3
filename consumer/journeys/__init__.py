"""A journey simulator: learners on AlpaClass, Nutror and Toolzz courses, and their webhooks
as each platform really sends them.

Used by `learnstream demo` and by the tests (through the real pipeline, and straight into
DuckDB). The answer every view should give is test code: tests/support/oracle.
"""

from __future__ import annotations

from consumer.journeys.behaviour import simulate
from consumer.journeys.deliveries import Delivery, deliveries, identity, messages, shuffled

__all__ = ["Delivery", "identity", "journeys", "messages", "shuffled", "simulate"]


def journeys(learners: int, seed: int) -> list[Delivery]:
    """The deliveries of `learners` simulated learners, in arrival order; same seed, same
    bytes."""
    courses, events = simulate(learners, seed)
    return deliveries(courses, events, seed)
