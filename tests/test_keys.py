"""Key layouts and file-name sanitising: examples, hostile names, and 10,000-name property tests."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos.errors import ConfigError, InvalidInputError
from byos.keys import (
    KeyLayout,
    check_template,
    metadata_filename,
    sanitize_filename,
)

HOSTILE = list(
    "/\\.\x00\x1f\x7f\r\n\t \u00a0\u2028\u202e\u202d\u2066\u200b\u200d\ufeff:*?\"<>|#%+=~&$@[]{}^`'!,;"
)
HOSTILE += [
    "😀",
    "👩‍👩‍👧",
    "é",
    "e\u0301",
    "Ω",
    "中",
    "\U0001f1fa\U0001f1f8",
    "..",
    "../",
    "..\\",
    "\ud800",
    "C:",
]
PREFIXES = ["", "imports/", "tenants/acme/raw/", "a" * 300 + "/", "données/é/"]

_alphabet = st.one_of(st.sampled_from([c for c in HOSTILE if len(c) == 1]), st.characters())
_chunk = st.text(alphabet=_alphabet, max_size=150)
names = st.one_of(
    _chunk,
    st.tuples(_chunk, st.sampled_from(HOSTILE), _chunk, st.sampled_from(HOSTILE), _chunk).map("".join),
    st.text(min_size=300, max_size=600),
)
LAYOUTS = {prefix: KeyLayout(prefix=prefix) for prefix in PREFIXES}


def provider_rule_violations(key: str) -> list[str]:
    """The providers' published key rules, written out again here (not shared with the code under test)."""
    broken = []
    if not 1 <= len(key.encode("utf-8")) <= 1024:
        broken.append("S3/GCS: 1..1024 UTF-8 bytes")
    if len(key) > 1024:
        broken.append("Azure: at most 1024 characters")
    if "\r" in key or "\n" in key:
        broken.append("GCS: no CR or LF")
    if key.startswith(".well-known/acme-challenge/"):
        broken.append("GCS: not under .well-known/acme-challenge/")
    if key.endswith((".", "/")):
        broken.append("Azure: no trailing dot or slash")
    if len(key.split("/")) > 254:
        broken.append("Azure: at most 254 segments")
    if any(part in (".", "..") for part in key.split("/")):
        broken.append("no dot segments")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in key):
        broken.append("no control or invisible characters")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        broken.append("valid UTF-8")
    return broken


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.csv", "report.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\eve\\Desktop\\q3.xlsx", "q3.xlsx"),
        ("..", "upload"),
        ("", "upload"),
        (".csv", "upload.csv"),
        ("my   file\t.csv", "my file .csv"),
        ("inv\u202eoice\u200b.csv", "invoice.csv"),
        ("a<b>c|d?.csv", "a_b_c_d_.csv"),
        ("😀😀.csv", "upload.csv"),
        ("cafe\u0301.csv", "café.csv"),
        ("trailing.dot.", "trailing.dot"),
        ("x\r\ny.csv", "x y.csv"),
    ],
)
def test_sanitize_examples(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_long_name_is_cut_at_a_character_boundary_keeping_the_extension() -> None:
    name = "é" * 400 + ".xlsx"
    cleaned = sanitize_filename(name, max_bytes=101)
    assert cleaned.endswith(".xlsx")
    assert len(cleaned.encode("utf-8")) <= 101
    assert cleaned == "é" * 48 + ".xlsx"  # 96 bytes of two-byte characters fit, a 49th would need 98 + 5


@settings(max_examples=300, deadline=None)
@given(
    stem=st.text(min_size=1, max_size=60),
    extension=st.text(alphabet="abcdefghijklmnop0123456789", min_size=1, max_size=16),
    budget=st.integers(16, 40),
)
def test_a_cut_never_exceeds_its_byte_budget(stem: str, extension: str, budget: int) -> None:
    cleaned = sanitize_filename(f"{stem}.{extension}", max_bytes=budget)
    assert 1 <= len(cleaned.encode("utf-8")) <= budget


def test_an_extension_too_long_for_the_budget_is_dropped_not_overrun() -> None:
    assert sanitize_filename("a" * 40 + ".abcdefghijklmnop", 16) == "a" * 16
    assert sanitize_filename("a" * 40 + ".abcdefghijklmnop", 17) == "a" * 17


def test_metadata_filename_is_ascii_and_reversible() -> None:
    original = "Résumé 100% \u202efinal.csv"
    encoded = metadata_filename(original)
    assert encoded.isascii()
    assert all(0x20 <= ord(c) < 0x7F for c in encoded)
    assert unquote(encoded) == original


@pytest.mark.parametrize("name", [" lead.csv", "trail.csv ", "two  spaces.csv", "   "])
def test_metadata_keeps_spaces_that_http_header_values_would_lose(name: str) -> None:
    encoded = metadata_filename(name)
    assert encoded == encoded.strip()
    assert "  " not in encoded
    assert unquote(encoded) == name


def test_default_layout_matches_the_importer_layout() -> None:
    layout = KeyLayout(prefix="imports/")
    upload_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert layout.raw_key("q3.csv", upload_id=upload_id) == f"imports/{upload_id}-q3.csv"
    assert layout.result_key("imp_1") == "imports/imp_1.json"
    assert layout.probe_key("abc").startswith("imports/byos-probes/probe-abc")


def test_templates_with_date_and_tenant() -> None:
    layout = KeyLayout(
        prefix="raw/", raw_template="{prefix}{tenant}/{yyyy}/{mm}/{dd}/{upload_id}/{stem}-{ext}.txt"
    )
    key = layout.raw_key(
        "data.CSV", upload_id=uuid.UUID(int=1), tenant="acme", when=datetime(2026, 11, 2, tzinfo=UTC)
    )
    assert key == f"raw/acme/2026/11/02/{uuid.UUID(int=1)}/data-CSV.txt"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{upload_id}-{filename}", "does not start with {prefix}"),
        ("{prefix}{filename}", "no unique part"),
        ("{prefix}{unknown}{upload_id}", "unknown field"),
        ("{prefix}{upload_id!r}", "formats"),
        ("{prefix}{filename}-{upload_id}", "two ids could give one key"),
        ("{prefix}../{upload_id}", "'..'"),
        ("{prefix}{upload_id", "malformed"),
    ],
)
def test_bad_templates_are_config_errors(template: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="template") as caught:
        check_template(template)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_raw_template_needs_an_upload_id() -> None:
    with pytest.raises(ConfigError, match=r"raw_key_template: .* has no unique part; include \{upload_id\}"):
        KeyLayout(raw_template="{prefix}{import_id}-{filename}")


@pytest.mark.parametrize("bad", ["nope", "1234", "../x"])
def test_upload_id_must_be_a_uuid(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="upload_id"):
        KeyLayout().raw_key("a.csv", upload_id=bad)


def test_template_tenant_must_be_safe() -> None:
    layout = KeyLayout(raw_template="{prefix}{tenant}/{upload_id}-{filename}")
    with pytest.raises(InvalidInputError, match="tenant"):
        layout.raw_key("a.csv")
    with pytest.raises(ConfigError, match="tenant"):
        layout.raw_key("a.csv", tenant="../other")


def test_raw_keys_never_enter_the_probe_folder() -> None:
    layout = KeyLayout(raw_template="{prefix}{tenant}/{upload_id}-{filename}", probe_prefix="byos-probes/")
    with pytest.raises(InvalidInputError, match="probe folder"):
        layout.raw_key("a.csv", tenant="byos-probes")


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, prefix=st.sampled_from(PREFIXES), upload_id=st.uuids())
def test_every_hostile_name_gives_a_key_valid_everywhere_and_inside_its_prefix(
    name: str, prefix: str, upload_id: uuid.UUID
) -> None:
    layout = LAYOUTS[prefix]
    key = layout.raw_key(name, upload_id=upload_id)
    assert provider_rule_violations(key) == []
    assert key.startswith(f"{prefix}{upload_id}-")
    tail = key[len(prefix) :]
    assert "/" not in tail
    assert "\\" not in tail
    assert not key.startswith(layout.probe_folder)
    assert layout.raw_key(name, upload_id=upload_id) == key  # deterministic
    assert unicodedata.is_normalized("NFC", key)
    assert metadata_filename(name).isascii()


def test_a_long_name_fills_the_key_to_exactly_its_limit_and_no_further() -> None:
    prefix = "p" * 510 + "/"
    key = KeyLayout(prefix=prefix).raw_key("x" * 2000 + ".csv", upload_id=uuid.UUID(int=7))
    assert len(key.encode("utf-8")) <= 1024
    assert key.endswith(".csv")
    assert provider_rule_violations(key) == []


@settings(max_examples=1_000, deadline=None)
@given(a=st.tuples(st.uuids(), names), b=st.tuples(st.uuids(), names), prefix=st.sampled_from(PREFIXES))
def test_distinct_upload_ids_never_collide(
    a: tuple[uuid.UUID, str], b: tuple[uuid.UUID, str], prefix: str
) -> None:
    layout = LAYOUTS[prefix]
    key_a = layout.raw_key(a[1], upload_id=a[0])
    key_b = layout.raw_key(b[1], upload_id=b[0])
    if a[0] != b[0]:
        assert key_a != key_b


def test_upload_ids_are_fresh_by_default() -> None:
    layout = KeyLayout(prefix="p/")
    keys = {layout.raw_key("same.csv") for _ in range(1000)}
    assert len(keys) == 1000
