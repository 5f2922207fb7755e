"""An error message stays one short line however long the hostile value it quotes."""

from __future__ import annotations

from typing import Any

import pytest

import byos
from byos.config import destination_from_dict
from byos.errors import ConfigError, InvalidInputError

S3: dict[str, Any] = {
    "provider": "s3",
    "bucket": "acme-imports",
    "region": "us-east-1",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "prefix": "imports/",
}
HUGE = "x\x1b" * 500_000


@pytest.mark.parametrize(
    ("field", "arguments"),
    [
        ("import_id", {"kind": "result", "import_id": HUGE}),
        ("upload_id", {"upload_id": HUGE}),
        ("metadata", {"metadata": {HUGE: "v"}}),
    ],
)
def test_a_huge_argument_gives_a_short_one_line_error(field: str, arguments: dict[str, Any]) -> None:
    dest = destination_from_dict(S3, env=False)
    with pytest.raises(InvalidInputError) as refused:
        byos.presign_upload(dest, "a.csv", **arguments)
    message = str(refused.value)
    assert message.startswith(f"{field}: ")
    assert len(message) < 1000
    assert "\n" not in message
    assert "\x1b" not in message


def test_a_huge_setting_gives_a_short_one_line_error() -> None:
    with pytest.raises(ConfigError) as refused:
        destination_from_dict({**S3, "prefix": HUGE}, env=False)
    message = str(refused.value)
    assert message.startswith("prefix: ")
    assert len(message) < 1000
