#!/usr/bin/env python3
"""The byos demo on a local S3 server (moto, loopback only): no cloud account needed.

It starts a local S3-compatible server, creates a bucket with CORS rules for a browser origin, shows the keys
a hostile file name gets, runs the setup checker, presigns a write-once upload of a sample CSV and sends it
exactly as a browser would, then shows that a second upload to the same URL is refused.
"""

from __future__ import annotations

import logging
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from rich.console import Console

from byos.checker import check_setup
from byos.checker.render import print_report
from byos.config import Destination, load_destination
from byos.keys import KeyLayout
from byos.models import redact_url
from byos.uploads import presign_upload

ORIGIN = "https://importer.example.com"
SAMPLE_NAME = "../../Q3 customers \u202e(final).csv"
SAMPLE = b"id,name,email\n1,Ada Lovelace,ada@example.com\n2,Grace Hopper,grace@example.com\n"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def put(url: str, headers: dict[str, str], body: bytes) -> int:
    """Send a PUT as a browser would and return the HTTP status."""
    request = urllib.request.Request(url, data=body, headers=headers, method="PUT")  # noqa: S310  (loopback URL)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def start_bucket(endpoint: str) -> Any:  # noqa: ANN401  (boto3 ships no type information)
    """Create the demo bucket with CORS rules for the importer's origin; return a boto3 client."""
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="demo",
        aws_secret_access_key="demo",  # noqa: S106  (the local server's throwaway key)
    )
    s3.create_bucket(Bucket="acme-imports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_cors(
        Bucket="acme-imports",
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [ORIGIN],
                    "AllowedMethods": ["PUT", "POST"],
                    "AllowedHeaders": ["content-type", "if-none-match", "x-amz-meta-original-filename"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )
    return s3


def write_config(endpoint: str) -> Path:
    """Write the destination file an import service would keep for this customer."""
    config = Path(tempfile.mkdtemp(prefix="byos-demo-")) / "acme.toml"
    lines = [
        'provider = "s3"',
        'name = "acme (local demo server)"',
        'bucket = "acme-imports"',
        'region = "eu-west-1"',
        f'endpoint_url = "{endpoint}"',
        'prefix = "imports/acme/"',
        'access_key_id = "demo"',
        'secret_access_key = "demo"',
        f'origins = ["{ORIGIN}"]',
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


def show_keys(destination: Destination, console: Console) -> None:
    """Show the keys an untrusted file name gets."""
    layout = KeyLayout.from_destination(destination)
    console.print(f"file name from the browser: {SAMPLE_NAME!r}")
    console.print(f"raw upload key:            {layout.raw_key(SAMPLE_NAME)!r}")
    console.print(f"cleaned result key:        {layout.result_key('imp_0001')!r}")
    console.print(f"setup probes go under:     {layout.probe_folder!r}")


def upload_like_a_browser(destination: Destination, s3: Any, console: Console) -> bool:  # noqa: ANN401
    """Presign a sample CSV upload, send it as a browser would, and try to overwrite it."""
    upload = presign_upload(destination, SAMPLE_NAME, content_type="text/csv")
    console.print(f"method:     {upload.method}")
    console.print(f"url:        {redact_url(upload.url)}")
    console.print(f"headers:    {dict(upload.headers)}")
    console.print(f"key:        {upload.key}")
    console.print(f"expires at: {upload.expires_at.isoformat()}")
    first = put(upload.url, {**upload.headers, "Origin": ORIGIN}, SAMPLE)
    second = put(upload.url, dict(upload.headers), b"attacker,overwrite\n")
    stored = s3.get_object(Bucket="acme-imports", Key=upload.key)
    landed = bool(stored["Body"].read() == SAMPLE)
    console.print(f"upload:            HTTP {first}")
    console.print(f"same URL again:    HTTP {second} (write-once: the object is never replaced)")
    console.print(f"stored content ok: {landed}; metadata: {stored['Metadata']}")
    return first == 200 and second == 412 and landed


def main() -> int:
    """Run the demo; return 0 when the upload landed and the overwrite was refused."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its access log would print presigned URLs
    console = Console()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = start_bucket(endpoint)
        config = write_config(endpoint)
        destination = load_destination(config, env=False)
        console.rule(f"[bold]1. destination[/]  {config}")
        console.print_json(data=destination.masked())
        console.rule("[bold]2. keys for an untrusted file name")
        show_keys(destination, console)
        console.rule("[bold]3. setup check")
        print_report(check_setup(destination), console)
        console.print(
            "[dim]The local server enforces no IAM and no anonymous-access control, so least_privilege warns "
            "and public_access fails here; on AWS both pass for a write-only user on a private bucket.[/]"
        )
        console.rule("[bold]4. presign an upload and send it as a browser would")
        ok = upload_like_a_browser(destination, s3, console)
        console.rule("[bold green]demo done" if ok else "[bold red]demo failed")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
