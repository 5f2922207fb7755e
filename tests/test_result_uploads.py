"""Result uploads (``kind="result"``): the cleaned JSON of an import, under its own key, never a raw key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

import byos
from byos.config import destination_from_dict
from byos.errors import ConfigError, InvalidInputError
from byos.keys import KeyLayout
from tests.gcs_helpers import HMAC_ACCESS_ID, HMAC_SECRET

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
S3 = {
    "provider": "s3",
    "bucket": "acme-imports",
    "region": "eu-west-1",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "prefix": "imports/",
}
GCS = {
    "provider": "gcs",
    "bucket": "acme-imports",
    "hmac_access_id": HMAC_ACCESS_ID,
    "hmac_secret": HMAC_SECRET,
    "location": "EUROPE-WEST1",
    "prefix": "imports/",
}


@pytest.mark.parametrize("settings", [S3, GCS], ids=["s3", "gcs"])
def test_result_key_type_and_write_once(settings: dict[str, str]) -> None:
    dest = destination_from_dict(settings, env=False)
    plan = byos.presign_upload(dest, "cleaned.json", size=120, kind="result", import_id="imp-42", now=NOW)
    assert plan.key == "imports/imp-42.json"
    assert plan.kind == "result"
    headers = dict(plan.parts[0].headers)
    assert headers["Content-Type"] == "application/json"
    assert headers.get("If-None-Match") == "*" or headers.get("x-goog-if-generation-match") == "0"
    typed = byos.presign_upload(
        dest, "x", size=3, kind="result", import_id="imp-42", content_type="application/x-ndjson", now=NOW
    )
    assert dict(typed.parts[0].headers)["Content-Type"] == "application/x-ndjson"


def test_result_without_import_id_is_refused_by_name() -> None:
    dest = destination_from_dict(S3, env=False)
    with pytest.raises(InvalidInputError, match=r"^import_id: is required for a result upload") as refused:
        byos.presign_upload(dest, "cleaned.json", size=10, kind="result")
    assert refused.value.field == "import_id"


def test_an_unknown_kind_is_refused() -> None:
    dest = destination_from_dict(S3, env=False)
    with pytest.raises(InvalidInputError, match=r"^kind: "):
        byos.presign_upload(dest, "a.csv", kind="cleaned")  # type: ignore[arg-type]


def test_an_import_id_shaped_like_a_raw_key_is_refused() -> None:
    """Default layout: raw ``{prefix}{upload_id}-{filename}``, result ``{prefix}{import_id}.json``."""
    dest = destination_from_dict(S3, env=False)
    upload_id = str(uuid.uuid4())
    raw = byos.presign_upload(dest, "x.json", size=5, upload_id=upload_id, now=NOW)
    assert raw.key == f"imports/{upload_id}-x.json"
    with pytest.raises(InvalidInputError, match=r"^import_id: .* which a raw upload could also have"):
        byos.presign_upload(dest, "r.json", size=5, kind="result", import_id=f"{upload_id}-x", now=NOW)
    # not a UUID and '-' at the start: cannot be a raw key, so it is fine
    ok = byos.presign_upload(dest, "r.json", size=5, kind="result", import_id=f"x-{upload_id}", now=NOW)
    assert ok.key == f"imports/x-{upload_id}.json"


def test_a_layout_whose_results_are_raw_keys_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match=r"^result_key_template: renders keys that a raw upload could also"):
        destination_from_dict({**S3, "result_key_template": "{prefix}{upload_id}-{filename}"}, env=False)
    # a layout where only some import ids collide loads, and those ids are refused one by one
    layout = KeyLayout(
        "p/", raw_template="{prefix}{upload_id}/{filename}", result_template="{prefix}{import_id}/{filename}"
    )
    assert layout.result_key("imp-1", filename="r.json") == "p/imp-1/r.json"
    with pytest.raises(InvalidInputError, match=r"^import_id: "):
        layout.result_key(str(uuid.uuid4()), filename="r.json")


def test_results_in_their_own_folder_never_collide() -> None:
    layout = KeyLayout("p/", result_template="{prefix}results/{import_id}.json")
    upload_id = str(uuid.uuid4())
    assert layout.result_key(f"{upload_id}-x") == f"p/results/{upload_id}-x.json"
    assert layout.raw_key("x.json", upload_id=upload_id) == f"p/{upload_id}-x.json"
