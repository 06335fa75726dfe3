"""`python -m consumer.readers.dashboard`: the same as `learnstream dashboard`."""

import sys

from consumer.readers.dashboard.main import main

main(sys.argv[1:])
