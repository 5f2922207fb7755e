"""Helpers shared by the S3 tests: destinations pointing at local servers, buckets, a browser-like client."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import boto3
import requests
from botocore.config import Config

from byos.config import S3Destination, destination_from_dict
from byos.models import UploadRequest


def destination(server: Any, bucket: str, **settings: Any) -> S3Destination:
    """An S3 destination on a local server, with the server's keys unless overridden."""
    values: dict[str, Any] = {
        "provider": "s3",
        "bucket": bucket,
        "region": server.region,
        "endpoint_url": server.endpoint,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
        "prefix": "imports/",
        **settings,
    }
    built = destination_from_dict(values, env=False)
    assert isinstance(built, S3Destination)
    return built


def client(server: Any) -> Any:
    """A boto3 client for arranging and inspecting state (never used to upload what is under test)."""
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def new_bucket(server: Any, region: str | None = None) -> str:
    """Create a fresh bucket and return its name."""
    name = f"byos-test-{uuid.uuid4().hex[:12]}"
    region = region or server.region
    arguments: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client(server).create_bucket(**arguments)
    return name


def send(
    request: UploadRequest, body: bytes, *, headers: Mapping[str, str] | None = None
) -> requests.Response:
    """Send an upload as a browser would: the request's method, URL and headers, or a form POST."""
    if request.method == "POST":
        files = {"file": ("upload", body, request.fields.get("Content-Type", "application/octet-stream"))}
        return requests.post(request.url, data=dict(request.fields), files=files, timeout=30)
    sent = dict(request.headers if headers is None else headers)
    return requests.request(request.method, request.url, data=body, headers=sent, timeout=30)
