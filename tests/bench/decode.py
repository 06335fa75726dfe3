"""Benchmark: decode + map events/s on one core over the fixture mix (prints, never asserts).

    python -m tests.bench.decode [--events N]

Baselines measured in the same run, on the same bodies:
- untyped `msgspec.json.decode` (dicts and lists);
- the typed decode alone (the Eduzz tagged union; Toolzz envelope + slug decoder), the floor
  under decode+map. The gap to it is identity, time parsing and row mapping in Python.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from consumer.sources import toolzz
from consumer.sources.decoder import _EDUZZ, Decoder, Message

FIXTURES = Path(__file__).parent.parent / "fixtures"


def mix(events: int) -> list[Message]:
    """`events` messages cycling through every fixture, with the receiver's headers."""
    bodies = [(p.read_bytes(), b"toolzz" if p.parent.name == "toolzz" else b"eduzz")
              for p in sorted(FIXTURES.glob("*/*.json"))]
    return [Message(body, [("source", source), ("received_at", b"2024-07-01T12:00:00.000000Z")],
                    i % 3, i, 0)
            for i, (body, source) in ((i, bodies[i % len(bodies)]) for i in range(events))]


def rate(fn, messages: list[Message], rounds: int = 3) -> float:
    """Best events/s of `rounds` passes."""
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for m in messages:
            fn(m)
        best = max(best, len(messages) / (time.perf_counter() - started))
    return best


def typed_only(m: Message) -> object:
    """The typed decode the consumer does, without identity, times or rows."""
    if m.headers[0][1] == b"eduzz":
        return _EDUZZ.decode(m.value)
    envelope = toolzz.ENVELOPE.decode(m.value)
    return toolzz.SLUGS[envelope.event.slug].decoder.decode(envelope.data)


def measure(events: int) -> dict[str, object]:
    """The figures over `events` messages of the fixture mix."""
    messages = mix(events)
    zone = ZoneInfo("America/Sao_Paulo")
    decoder = Decoder({"eduzz": zone, "toolzz": zone})
    outcomes = [decoder.decode(m) for m in messages[:len(list(FIXTURES.glob("*/*.json")))]]
    rows = sum(len(o.learning) + len(o.commerce) for o in outcomes)
    untyped = rate(lambda m: msgspec.json.decode(m.value), messages)
    typed = rate(typed_only, messages)
    full = rate(decoder.decode, messages)
    result = {"events": len(messages), "fixtures": len(outcomes), "rows_per_mix": rows,
              "dead_letters_in_mix": sum(o.dead is not None for o in outcomes),
              "untyped_json_decode_per_s": round(untyped), "typed_decode_only_per_s": round(typed),
              "decode_and_map_per_s": round(full), "ratio_to_untyped": round(full / untyped, 2),
              "ratio_to_typed_decode": round(full / typed, 2), "target_per_s": 500_000}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    result = measure(parser.parse_args().events)
    print(f"{'measure':32} {'value':>12}")
    for k, v in result.items():
        print(f"{k:32} {v:>12}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
