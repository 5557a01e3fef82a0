"""Counters of the state machine campaign, printed at the end of the session (`make audit` runs with -s)."""

RUN_SUMMARY: dict = {"steps": 0, "examples": 0, "seconds": 0.0, "stats": {}}
