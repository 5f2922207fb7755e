"""Text for a terminal carries no control characters or bidi overrides from servers or config; JSON is exact.

A stub S3 (no real server sends ESC sequences) answers with escape sequences in ``x-amz-bucket-region``
and in error codes; ``byos check`` text output strips them, JSON output keeps them exactly (escaped).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from byos.checker import check_setup
from byos.checker.render import print_report, report_json
from byos.cli import main
from byos.config import destination_from_dict
from byos.display import clean, json_safe
from tests.stub_servers import STUB_ORIGIN, Reply, StubRequest, StubS3

REPO = Path(__file__).resolve().parent.parent
CONTROL = [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
BIDI = ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
UNSAFE = CONTROL + BIDI
HOSTILE_REGION = "eu\x1b]0;owned\x07-west-1\x1b[2J\x9b31m"  # headers are latin-1 on the wire
HOSTILE_CODE = "Access\x1b[2J\x1b]2;pwned\x07Denied"
HOSTILE_XML_CODE = "Access\u009b2J\u202eDenied"


def assert_terminal_safe(text: str) -> None:
    found = sorted({f"U+{ord(char):04X}" for char in text if char in UNSAFE and char != "\n"})
    assert not found, found


def test_clean_strips_every_control_and_bidi_character_and_keeps_the_rest() -> None:
    assert clean("".join(UNSAFE)).strip() == ""
    assert clean("a\x1b[31mb\tc\r\nd\x9be\u202ef") == "a[31mb c  de" + "f"
    assert clean("Q3 café ü 日本 ✓") == "Q3 café ü 日本 ✓"


@given(st.text())
def test_clean_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    cleaned = clean(text)
    assert_terminal_safe(cleaned)
    assert all(char in text or char == " " for char in cleaned)
    assert len(cleaned) <= len(text)


@given(
    st.recursive(
        st.text() | st.integers() | st.none(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_json_safe_keeps_values_exact_and_escapes_terminal_controls(value: Any) -> None:
    document = json_safe(json.dumps(value, ensure_ascii=False))
    assert json.loads(document) == value
    assert_terminal_safe(document.replace("\n", ""))


def hostile(request: StubRequest) -> Reply | None:
    """Answer like S3 but with escape sequences in the region header and in error codes."""
    if request.method == "HEAD" and not request.is_object:
        return Reply(403, {"x-amz-bucket-region": HOSTILE_REGION})
    if request.method == "PUT" and request.presigned:
        return Reply(403, {"x-ms-error-code": HOSTILE_CODE})
    if request.method == "GET" and "encryption" in request.query:
        body = f"<Error><Code>{HOSTILE_XML_CODE}</Code></Error>".encode()
        return Reply(500, {"Content-Type": "application/xml"}, body)
    return None


@pytest.fixture
def config(tmp_path: Path) -> Any:
    def write(stub: StubS3, name: str = "acme") -> Path:
        path = tmp_path / "acme.toml"
        settings = {
            "provider": "s3",
            "name": name,
            "bucket": "acme-imports",
            "region": "us-east-1",
            "endpoint_url": stub.endpoint,
            "access_key_id": "AKIDSTUBEXAMPLE",
            "secret_access_key": "terminal-secret-" + "5e1b9c",
            "prefix": "imports/",
            "origins": [STUB_ORIGIN],
        }
        path.write_text("".join(f"{name} = {json.dumps(value)}\n" for name, value in settings.items()))
        return path

    return write


def test_check_text_output_strips_what_the_server_sent(
    config: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with StubS3(hostile) as stub:
        code = main(["check", "--config", str(config(stub))])
    captured = capsys.readouterr()
    assert code == 1
    assert_terminal_safe(captured.out)
    assert_terminal_safe(captured.err)
    assert "is in eu]0;owned-west-1[2J31m, not in the configured" in captured.out
    assert "[2J" in captured.out  # the text of the sequence is still shown, harmlessly


def test_check_json_output_keeps_the_values_exactly(config: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with StubS3(hostile) as stub:
        code = main(["check", "--config", str(config(stub)), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert_terminal_safe(captured.out.replace("\n", ""))
    report = json.loads(captured.out)
    messages = " ".join(check["message"] + check["remediation"] for check in report["checks"])
    assert HOSTILE_REGION in messages
    assert HOSTILE_CODE in messages


def test_check_text_through_a_real_process(config: Any) -> None:
    with StubS3(hostile) as stub:
        result = subprocess.run(
            [sys.executable, "-m", "byos.cli", "check", "--config", str(config(stub))],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1, result.stderr
    assert "bucket.region" in result.stdout
    assert_terminal_safe(result.stdout)
    assert_terminal_safe(result.stderr)


def test_cli_errors_strip_control_characters_from_config_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('provider = "s3"\nbucket = "acme\\u001b]0;owned\\u0007\\u202e"\nregion = "us-east-1"\n')
    code = main(["config", "validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("byos: error: bucket: ")
    assert_terminal_safe(err.rstrip("\n"))
    assert err.count("\n") == 1


def test_cli_usage_errors_strip_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["presign", "--config", "x.toml", "--filename", "a", "--method", "PUT\x1b[2J"])
    err = capsys.readouterr().err
    assert_terminal_safe(err.rstrip("\n"))
    assert "[2J" in err


def test_a_config_label_with_escape_sequences_is_stripped_in_text_and_exact_in_json(
    config: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    label = "acme\x1b]0;owned\x07\x1b[2J\u202egpj.exe"
    with StubS3() as stub:
        path = config(stub, name=label)
        main(["check", "--config", str(path)])
        text = capsys.readouterr().out
        main(["check", "--config", str(path), "--json"])
        document = capsys.readouterr().out
    assert_terminal_safe(text)
    assert "acme]0;owned[2Jgpj.exe: OK" in text
    assert_terminal_safe(document.replace("\n", ""))
    assert json.loads(document)["destination"] == label


_latin1 = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"), max_size=30
)


@settings(max_examples=15, deadline=None)
@given(region=_latin1, code=_latin1)
def test_whatever_a_server_puts_in_headers_the_text_report_is_terminal_safe(region: str, code: str) -> None:
    def answer(request: StubRequest) -> Reply | None:
        if request.method == "HEAD" and not request.is_object:
            return Reply(403, {"x-amz-bucket-region": region})
        if request.method == "PUT" and request.presigned:
            return Reply(403, {"x-ms-error-code": code})
        return None

    with StubS3(answer) as stub:
        destination = destination_from_dict(
            {
                "provider": "s3",
                "bucket": "acme-imports",
                "region": "us-east-1",
                "endpoint_url": stub.endpoint,
                "access_key_id": "AKIDSTUBEXAMPLE",
                "secret_access_key": "terminal-secret-" + "5e1b9c",
            },
            env=False,
        )
        report = check_setup(destination, timeout=5, deadline=20)
    console = Console(file=io.StringIO(), width=200)
    print_report(report, console)
    assert_terminal_safe(console.file.getvalue())  # type: ignore[attr-defined]
    assert json.loads(report_json(report)) == report.to_dict()
