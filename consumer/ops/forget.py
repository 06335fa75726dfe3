"""`learnstream forget`: erase people from the store, bytes included, and never store them
again (README "Personal data (LGPD)").

The request kind `forget` (control.py) deletes every trace in one transaction
(store/erase.py), then rewrites the file so no deleted byte survives (Store.rewrite); the
snapshot is republished from the clean file before the command gets its answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consumer import control
from consumer.settings import ConsumerSettings, load_with_args
from consumer.snapshot import publish
from consumer.sources.personal import NotAnIdentifier, Suppression, identity, key_id
from consumer.store import Store
from consumer.store.erase import erase
from consumer.store.suppression import KeyProblem, suppressed, use_key

PREFIXES = ("email:", "cpf:", "id:")


def apply(store: Store, payload: dict[str, Any]) -> control.Counts:
    """Erase the payload's `people` (each a list of typed identities); rows removed per
    table. Runs inside the request's transaction."""
    people = payload.get("people")
    if not isinstance(people, list) or not people or not all(
            isinstance(p, list) and p and all(isinstance(i, str) and i.startswith(PREFIXES)
                                              for i in p) for p in people):
        raise control.BadRequest("people: expected lists of typed identities")
    if store.suppression is None:
        raise control.BadRequest("the consumer has no LEARNSTREAM_PSEUDONYM_KEY: set it (the "
                                 "same as this command's) and restart the consumer")
    key = store.suppression.key
    counts = store.run(lambda con: erase(con, people, key, key_id(key), datetime.now(UTC)))
    return {"people": len(people), **counts}


def after(store: Store, counts: control.Counts) -> None:
    """Rewrite the file so the deleted values leave its bytes; then suppress the new hashes."""
    seconds = store.rewrite()
    store.query("update erasures set rewrite_seconds = $1 where rewrite_seconds is null",
                [seconds])
    counts["rewrite_ms"] = round(seconds * 1000)
    if store.suppression is not None:
        store.suppression = Suppression(store.suppression.key, store.run(suppressed)[0])


KIND = control.Kind("forget", apply, after)


def people_of(arguments: Sequence[str]) -> list[list[str]]:
    """One person per argument: an e-mail, a CPF or a learner key, or several of them
    separated by commas (one person known by each); each identity once."""
    people = [list(dict.fromkeys(identity(i) for i in a.split(",") if i.strip()))
              for a in arguments if a.strip()]
    return list({tuple(p): p for p in people}.values())


def main(argv: Sequence[str]) -> None:
    """`learnstream forget <email or learner_key>... [--from-file FILE]`."""
    settings, args = load_with_args(ConsumerSettings, argv, "learnstream forget", _arguments)
    if not settings.pseudonym_key:
        sys.exit("learnstream forget: LEARNSTREAM_PSEUDONYM_KEY (--pseudonym-key) is not set: "
                 "erased people are remembered by keyed hashes, so set the consumer's key")
    texts = list(args.people)
    try:
        if args.from_file:
            texts += Path(args.from_file).read_text(encoding="utf-8").splitlines()
        people = people_of(texts)
    except (OSError, NotAnIdentifier) as exc:
        sys.exit(f"learnstream forget: {exc}")
    if not people:
        sys.exit("learnstream forget: name at least one person (or --from-file)")
    try:
        counts = control.submit(settings.db_path, settings.data_dir, KIND.name,
                                {"people": people}, args.timeout, direct=_direct(settings))
    except (control.BadRequest, control.Timeout, KeyProblem) as exc:
        sys.exit(f"learnstream forget: {exc}")
    sys.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()) + "\n")


def _direct(settings: ConsumerSettings) -> control.Direct:
    def direct(store: Store, run: Callable[[], control.Counts]) -> control.Counts:
        use_key(store, settings.pseudonym_key)
        counts = run()
        if settings.snapshot_path.exists():  # the old copy must not keep them
            publish(store, settings.snapshot_path)
        return counts
    return direct


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("people", nargs="*", metavar="EMAIL_OR_LEARNER_KEY",
                        help="per person: an e-mail, a CPF or a learner key (platform:id), "
                             "or several of them joined by commas")
    parser.add_argument("--from-file", help="a file of people, one per line")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for the consumer (default 600)")
