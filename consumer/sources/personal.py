"""Personal data (README "Personal data (LGPD)"): how a person is recognised in what the
platforms send, and keyed hashes of their identifiers. Pure: no I/O.

A person's identities are typed strings: `email:<lower(trim(e-mail))>`, `cpf:<11 digits>`
and `id:<platform>:<id>` (the learner key rule's fallback, README "What lands in DuckDB"). The
platforms send each in several shapes: e-mails in any case with spaces around, CPFs with or
without punctuation (or as a JSON number), ids as numbers or strings; all normalise to one.
Hashes are HMAC-SHA256 under LEARNSTREAM_PSEUDONYM_KEY: a plain hash of a CPF (10^11 values)
is reversed by enumeration in minutes; a keyed one is not without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import defaultdict
from collections.abc import Iterable

from consumer.rows import Batch, CommerceRow, LearningRow
from consumer.sources.identity import email

EMAIL = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+", re.IGNORECASE)
# 11 digits, punctuated as 000.000.000-00 or not, not inside a longer number.
CPF = re.compile(r"(?<![0-9])([0-9]{3})\.?([0-9]{3})\.?([0-9]{3})-?([0-9]{2})(?![0-9])")
KEY_CHECK = "learnstream pseudonym key check"


class NotAnIdentifier(ValueError):
    """An argument that is none of e-mail, CPF, learner key."""


def identity(text: str) -> str:
    """The typed identity an operator typed: an e-mail, a CPF or a learner key
    (`<platform>:<id>`). NotAnIdentifier otherwise."""
    value = text.strip()
    if "@" in value:
        return f"email:{email(value)}"
    digits = CPF.fullmatch(value)
    if digits:
        return "cpf:" + "".join(digits.groups())
    platform, sep, ident = value.partition(":")
    if sep and platform.strip() and ident.strip():
        return f"id:{platform.strip().lower()}:{ident.strip()}"
    raise NotAnIdentifier(f"not an e-mail, a CPF or a learner key (platform:id): {text!r}")


def key_identity(learner_key: str | None) -> str | None:
    """The identity a learner_key or buyer_key stands for (an e-mail, or platform:id)."""
    if not learner_key:
        return None
    return f"email:{learner_key}" if "@" in learner_key else f"id:{learner_key}"


def in_text(text: str) -> set[str]:
    """The e-mails and CPFs anywhere in a body, as identities."""
    found = {f"email:{m.lower()}" for m in EMAIL.findall(text)}
    found.update("cpf:" + "".join(m) for m in CPF.findall(text))
    return found


def of_rows(learning: Iterable[LearningRow], commerce: Iterable[CommerceRow]) -> set[str]:
    """The identities decoded rows name: learner and buyer keys, e-mails, platform ids."""
    found: set[str] = set()
    for r in learning:
        found.update(i for i in (key_identity(r.learner_key), key_identity(r.learner_email))
                     if i)
        if r.learner_id:
            found.add(f"id:{r.platform}:{r.learner_id}")
    found.update(i for i in (key_identity(c.buyer_key) for c in commerce) if i)
    return found


def keyed(key: bytes, identity: str) -> str:
    """HMAC-SHA256 of a typed identity under `key`, hex."""
    return hmac.new(key, identity.encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """What names a key without revealing it: its HMAC of a fixed text, 16 hex digits. A
    store remembers it, so a changed key is noticed before it silently misses everyone."""
    return keyed(key, KEY_CHECK)[:16]


def hmac_pads(key: bytes) -> tuple[str, str]:
    """HMAC's inner and outer padded keys as hex (RFC 2104), for computing the same HMAC in
    SQL: sha256(opad || sha256(ipad || message))."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return (bytes(b ^ 0x36 for b in block).hex(), bytes(b ^ 0x5C for b in block).hex())


class Suppression:
    """The erased people's identity hashes under the key they were made with: which
    messages of a batch name one of them (and so are counted, not stored)."""

    def __init__(self, key: bytes, hashes: set[str]) -> None:
        self.key, self.hashes = key, hashes

    def names(self, identities: Iterable[str]) -> bool:
        """Whether any of `identities` is an erased person's."""
        return any(keyed(self.key, i) in self.hashes for i in identities)

    def positions(self, batch: Batch) -> set[tuple[int, int]]:
        """Positions of the messages naming an erased person: in a decoded row's keys, or
        by e-mail or CPF anywhere in the body (a dead letter has nothing else)."""
        found: dict[tuple[int, int], set[str]] = defaultdict(set)
        for r in batch.raw:
            found[r.kafka_partition, r.kafka_offset].update(in_text(r.body))
        for d in batch.dead:
            found[d.kafka_partition, d.kafka_offset].update(
                in_text(d.body.decode("utf-8", "replace")))
        for row in batch.learning:
            found[row.kafka_partition, row.kafka_offset].update(of_rows([row], []))
        for c in batch.commerce:
            found[c.kafka_partition, c.kafka_offset].update(of_rows([], [c]))
        return {p for p, identities in found.items() if self.names(identities)}
