#!/usr/bin/env python3
"""Setup verification for ops: check one destination (or a fleet) exactly as `byos check` does.

Usage:
    scripts/verify_setup.py --config config/acme.toml [--origin https://app.example.com] [--json] [--strict]
    scripts/verify_setup.py --fleet config/fleet --concurrency 16 --json
    scripts/verify_setup.py --fleet config/fleet --baseline last.jsonl --output run.jsonl --fail-on-regression

Exit codes: 0 nothing failed (with --strict: nothing warned either), 1 a check failed, 2 bad usage or config;
with --fail-on-regression: 1 only when a check got worse since the baseline.
"""

from __future__ import annotations

import sys

from byos.cli import main

if __name__ == "__main__":
    sys.exit(main(["check", *sys.argv[1:]]))
