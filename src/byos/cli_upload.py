"""The ``byos upload`` command and ``byos presign --size`` (the plan), kept out of :mod:`byos.cli`'s core."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from byos.display import clean, json_safe

if TYPE_CHECKING:
    from byos.config import Destination
    from byos.plans import UploadPlan


def add_upload(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos upload``: write a file with the service's own credentials, through its upload plan."""
    upload = commands.add_parser("upload", help="upload a file through its upload plan (write-once)")
    upload.add_argument("--config", required=True, help="destination TOML file")
    upload.add_argument("--file", required=True, help="the file to upload")
    upload.add_argument("--kind", choices=("raw", "result"), default="raw", help="raw (default) or result")
    upload.add_argument("--import-id", help="the import id (required for --kind result)")
    upload.add_argument("--filename", help="the name for the key and metadata (default: the file's name)")
    upload.add_argument("--content-type", help="the Content-Type (results: application/json by default)")
    upload.add_argument("--part-size", type=int, help="bytes per part (default: 8 MiB, grown for huge files)")
    upload.add_argument("--no-checksum", action="store_true", help="send no SHA-256 or MD5 with the parts")
    upload.add_argument("--json", action="store_true", help="print the result as JSON")
    upload.set_defaults(handler=cmd_upload)


def cmd_upload(args: argparse.Namespace) -> int:
    """Run ``byos upload``: a progress bar on a terminal (stderr), the result on stdout."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn  # noqa: PLC0415

    from byos.config import load_destination  # noqa: PLC0415
    from byos.transfer import upload_file  # noqa: PLC0415

    destination = load_destination(Path(args.config))
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
        sys.stdout.write(json_safe(json.dumps(result.to_dict(), indent=2, ensure_ascii=False)) + "\n")
    else:
        sys.stdout.write(
            clean(f"uploaded {result.size} bytes to {result.key} in {result.parts} part(s)")
            + "\n"
            + clean(f"sha256 {result.sha256}")
            + "\n"
        )
    return 0


def presign_plan(destination: Destination, args: argparse.Namespace) -> UploadPlan:
    """The plan ``byos presign --size N`` prints."""
    from byos.planner import presign_upload  # noqa: PLC0415

    return presign_upload(
        destination,
        args.filename,
        size=args.size,
        kind=args.kind,
        import_id=args.import_id,
        content_type=args.content_type,
        part_size=args.part_size,
        expires=args.expires_delta,
        upload_id=args.upload_id,
    )


def plan_text(plan: UploadPlan) -> str:
    """The plan as a person reads it: one line per request (URLs are bearer tokens)."""
    lines = [f"# {plan.provider} {plan.kind} upload of {plan.size} bytes to {plan.key}"]
    lines.append(f"# parts: {len(plan.parts)}, part size: {plan.part_size}, parallel: {plan.parallel}")
    for step in (*plan.parts, plan.complete, plan.abort):
        if step is None:
            continue
        target = step.url if step.url is not None else f"<{step.url_from} URI>"
        span = f" bytes {step.range[0]}-{step.range[1]}" if step.range is not None else ""
        lines.append(f"{step.method} {target}  # body: {step.body}{span}")
        lines += [f"  {name}: {value}" for name, value in step.headers.items()]
    lines.append(f"# expires at: {plan.expires_at.isoformat()}")
    return "\n".join(clean(line) for line in lines) + "\n"
