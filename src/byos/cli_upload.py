"""The ``byos upload`` command: a file written through its upload plan with the service's own credentials."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from byos.cli_common import load, print_json
from byos.cli_presign import add_destination, add_plan_options, plan_text, presign_plan
from byos.display import clean

__all__ = ["add_upload", "cmd_upload", "plan_text", "presign_plan"]


def add_upload(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos upload``: write a file with the service's own credentials, through its upload plan."""
    upload = commands.add_parser("upload", help="upload a file through its upload plan (write-once)")
    add_destination(upload)
    upload.add_argument("--file", required=True, help="the file to upload")
    upload.add_argument("--filename", help="the name for the key and metadata (default: the file's name)")
    add_plan_options(
        upload,
        content_type="the Content-Type (results: application/json by default)",
        part_size="bytes per part (default: 8 MiB, grown for huge files)",
    )
    upload.add_argument("--no-checksum", action="store_true", help="send no SHA-256 or MD5 with the parts")
    upload.add_argument("--json", action="store_true", help="print the result as JSON")
    upload.set_defaults(handler=cmd_upload)


def cmd_upload(args: argparse.Namespace) -> int:
    """Run ``byos upload``: a progress bar on a terminal (stderr), the result on stdout."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn  # noqa: PLC0415

    from byos.transfer import upload_file  # noqa: PLC0415

    destination = load(args.config)
    path = Path(args.file)
    size = path.stat().st_size
    err = Console(stderr=True)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("uploading", total=size)
        result = upload_file(
            destination,
            path,
            kind=args.kind,
            filename=args.filename,
            import_id=args.import_id,
            content_type=args.content_type,
            checksum=not args.no_checksum,
            part_size=args.part_size,
            progress=lambda sent: progress.advance(task, sent),
        )
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(
            clean(f"uploaded {result.size} bytes to {result.key} in {result.parts} part(s)")
            + "\n"
            + clean(f"sha256 {result.sha256}")
            + "\n"
        )
    return 0
