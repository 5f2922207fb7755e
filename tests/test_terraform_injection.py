"""A destination's settings never become Terraform expressions in ``byos policy --format terraform``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from byos.config import destination_from_dict
from byos.policy_terraform import terraform_files
from tests.test_policy_terraform import AZURE, GCS_KEYLESS, S3_KEYS

REFERENCE = re.compile(r"(?<!\$)\$\{var\.([a-z0-9_]+)\}")


def _config(data: dict[str, Any]) -> dict[str, Any]:
    (config,) = terraform_files(destination_from_dict(data, env=False)).values()
    return config


@pytest.mark.parametrize(
    "data",
    [
        {**S3_KEYS, "prefix": "imports/<EVIL_MARK>/"},
        {**GCS_KEYLESS, "prefix": "imports/<EVIL_MARK>/"},
        {**AZURE, "resource_group": "acme-rg<EVIL_MARK>"},
    ],
    ids=["s3-prefix", "gcs-prefix", "azure-resource-group"],
)
def test_a_marker_written_in_a_setting_stays_literal(data: dict[str, Any]) -> None:
    config = _config(data)
    text = json.dumps(config)
    assert "var.evil_mark" not in text
    assert "<EVIL_MARK>" in text
    declared = set(config.get("variable", {}))
    assert set(REFERENCE.findall(text)) <= declared  # every reference left is one byos declares


@pytest.mark.parametrize("hostile", ["${file(pathexpand(x))}", "%{ for x in y }x%{ endfor }"])
def test_template_syntax_in_a_setting_is_escaped(hostile: str) -> None:
    config = _config({**GCS_KEYLESS, "prefix": f"imports/{hostile}/"})
    body = {key: value for key, value in config.items() if key != "//"}  # "//" is a comment Terraform ignores
    text = json.dumps(body)
    assert hostile.replace("${", "$${").replace("%{", "%%{") in text
    assert re.search(r"(?<![$%])[$%]\{(?!var\.|google_)", text) is None
