"""What every ``byos`` command shares: exit codes, loading the destination file, JSON and text output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from byos.display import clean, json_safe

if TYPE_CHECKING:
    from byos.config import Destination

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


def print_json(data: object) -> None:
    """Write ``data`` as indented JSON, every string safe for a terminal."""
    sys.stdout.write(json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")


def write_text(text: str) -> None:
    """Write text for a terminal: every line stripped of control characters and bidi overrides."""
    sys.stdout.write("\n".join(clean(line) for line in text.split("\n")))


def load(path: str) -> Destination:
    """Load the destination file ``--config`` names (the settings classes; pydantic loads here)."""
    from byos.config import load_destination  # noqa: PLC0415  (keeps `byos --help` fast)

    return load_destination(Path(path))
