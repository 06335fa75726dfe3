"""`python -m consumer.dashboard`: the same as `learnstream dashboard`."""

import sys

from consumer.dashboard.main import main

main(sys.argv[1:])
