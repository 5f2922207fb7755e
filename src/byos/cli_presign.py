"""The ``byos presign`` command: one upload request, or the upload plan of a file of known size.

The common request (a PUT with no option beyond type, length, overwrite and lifetime) loads its destination
through :mod:`byos.config.quick`, without pydantic, and signs with the compiled presigner the library path
asks first; anything else goes through the settings classes and :func:`byos.presign_upload`. The options a
presign shares with ``byos upload`` are defined once here (:func:`add_destination`, :func:`add_plan_options`).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from byos.cli_common import EXIT_OK, load, print_json, write_text
from byos.display import clean
from byos.errors import InvalidInputError

if TYPE_CHECKING:
    from byos.config import Destination
    from byos.models import UploadRequest
    from byos.plans import UploadPlan


def add_destination(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE``, the destination every command works on."""
    parser.add_argument("--config", required=True, help="destination TOML file")


def add_plan_options(parser: argparse.ArgumentParser, *, content_type: str, part_size: str) -> None:
    """Add the options a presign and an upload share: content type, kind, import id and part size.

    Args:
        parser: The command's parser.
        content_type: The help of ``--content-type`` (a presign locks it; an upload sends it).
        part_size: The help of ``--part-size``.
    """
    parser.add_argument("--content-type", help=content_type)
    parser.add_argument("--kind", choices=("raw", "result"), default="raw", help="raw (default) or result")
    parser.add_argument(
        "--import-id", help="the import id: required for --kind result, and for key templates that use it"
    )
    parser.add_argument("--part-size", type=int, help=part_size)


def parse_expires(text: str | None) -> timedelta | None:
    """``--expires`` as a lifetime (None: the destination's).

    Raises:
        ConfigError: Not a duration within 1s..7d.
    """
    from byos.config import parse_duration  # noqa: PLC0415  (the rules only: no pydantic)

    return parse_duration(text, field="--expires") if text else None


def cmd_presign(args: argparse.Namespace) -> int:
    """Run ``byos presign``: one request, or with ``--size`` (or ``--kind result``) the upload plan."""
    if args.size is not None or args.kind == "result":
        return _presign_plan(load(args.config), args)
    request = _quick_request(args) or _request(args)
    if args.json:
        print_json(request.to_dict())
    else:
        write_text(_request_text(request))
    return EXIT_OK


_NOT_QUICK = ("min_bytes", "max_bytes", "checksum_sha256", "content_md5", "upload_id", "import_id")


def _quick_request(args: argparse.Namespace) -> UploadRequest | None:
    """The common presign (a PUT with no other option) without pydantic; None: take the general path.

    The destination is validated through the same rules as the settings classes (:mod:`byos.config.quick`),
    and the request comes from the compiled presigner the library path asks first (byte for byte what the
    general path returns); anything either one does not cover goes the general way, which reports the errors.
    """
    if args.method != "PUT" or any(getattr(args, name) is not None for name in _NOT_QUICK):
        return None
    from byos.config.quick import load_quick  # noqa: PLC0415
    from byos.presigner_cache import fast_request  # noqa: PLC0415

    destination = load_quick(Path(args.config))
    if destination is None:
        return None
    return fast_request(
        cast("Destination", destination),  # a QuickDestination has every setting the settings class has
        args.filename,
        content_type=args.content_type,
        content_length=args.content_length,
        overwrite=args.overwrite,
        expires=parse_expires(args.expires),
        plain=True,
    )


def _request(args: argparse.Namespace) -> UploadRequest:
    from byos.uploads import presign_upload  # noqa: PLC0415

    destination = load(args.config)
    return presign_upload(
        destination,
        args.filename,
        content_type=args.content_type,
        content_length=args.content_length,
        min_bytes=args.min_bytes,
        max_bytes=args.max_bytes,
        checksum_sha256=args.checksum_sha256,
        content_md5=args.content_md5,
        overwrite=args.overwrite,
        expires=parse_expires(args.expires),
        method=args.method,
        upload_id=args.upload_id,
        import_id=args.import_id,
    )


def _presign_plan(destination: Destination, args: argparse.Namespace) -> int:
    for name in ("content_length", "min_bytes", "max_bytes", "checksum_sha256", "content_md5"):
        if getattr(args, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise InvalidInputError(
                flag, "does not apply to a plan (--size or --kind result)", f"drop {flag}"
            )
    if args.overwrite or args.method != "PUT":
        raise InvalidInputError("--size", "plans are write-once PUT uploads", "drop --overwrite and --method")
    plan = presign_plan(destination, args)
    if args.json:
        print_json(plan.to_dict())
    else:
        write_text(plan_text(plan))
    return EXIT_OK


def _request_text(request: UploadRequest) -> str:
    """The request as a client sends it: method and URL, headers, form fields, then key and expiry."""
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines += [f"field {name}={value}" for name, value in request.fields.items()]
    lines += [f"# key: {request.key}", f"# expires at: {request.expires_at.isoformat()}"]
    return "\n".join(lines) + "\n"


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
        expires=parse_expires(args.expires),
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


def add_presign(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos presign``: one write-only upload."""
    presign = commands.add_parser(
        "presign", help="presign one write-only upload (a bearer token: keep it safe)"
    )
    add_destination(presign)
    presign.add_argument("--filename", required=True, help="the file name as the user gave it (untrusted)")
    add_plan_options(
        presign, content_type="lock the Content-Type", part_size="bytes per part of a plan (default: 8 MiB)"
    )
    presign.add_argument("--content-length", type=int, help="lock the exact size in bytes (PUT)")
    presign.add_argument("--min-bytes", type=int, help="smallest size accepted (POST)")
    presign.add_argument("--max-bytes", type=int, help="largest size accepted (POST; GCS PUT)")
    presign.add_argument("--checksum-sha256", help="base64 SHA-256 of the body")
    presign.add_argument("--content-md5", help="base64 MD5 of the body")
    presign.add_argument("--overwrite", action="store_true", help="allow replacing an existing object")
    presign.add_argument("--expires", help="lifetime such as 30m or 2h (default: the destination's)")
    presign.add_argument(
        "--method", choices=("PUT", "POST"), default="PUT", help="PUT (default) or POST form"
    )
    presign.add_argument("--upload-id", help="a UUID for the upload (default: a new random one)")
    presign.add_argument("--size", type=int, help="the file's size: print its upload plan (parts if large)")
    presign.add_argument("--json", action="store_true", help="print the whole request as JSON")
    presign.set_defaults(handler=cmd_presign)
