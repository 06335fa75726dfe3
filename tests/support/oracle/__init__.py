"""The journey simulator's oracle: the answer every view and table macro should give for a
list of deliveries, in plain Python (see `expected`). Test code, so it lives with the tests;
the simulator it checks (consumer.journeys) ships, since `learnstream demo` uses it.
"""

from tests.support.oracle.expected import expected
from tests.support.oracle.facts import Answer

__all__ = ["Answer", "expected"]
