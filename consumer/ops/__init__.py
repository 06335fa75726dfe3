"""Running the pipeline rather than being it: `launcher` (`learnstream up`: broker, receiver
and consumer as one), `broker` (the embedded development broker), `check` (is the
deployment usable), `demo` (a simulated run end to end) and `repair` (`rebuild` and
`replay-dead-letters`).
"""
