"""The ``byos`` command line: parse arguments, load settings, call the library, print, and exit.

Exit codes: 0 success, 1 a setup check failed, 2 bad usage or configuration, missing credentials included
(one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from byos import __version__, log_redaction
from byos.display import clean, json_safe
from byos.errors import ByosError, ConfigError, InvalidInputError, MissingCredentialsError

if TYPE_CHECKING:
    from rich.console import Console

    from byos.config import Destination
    from byos.models import UploadRequest

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {clean(message)}; see {self.prog} --help\n")


def _print_json(data: object) -> None:
    sys.stdout.write(json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")


def _write_text(text: str) -> None:
    """Write text for a terminal: every line stripped of control characters and bidi overrides."""
    sys.stdout.write("\n".join(clean(line) for line in text.split("\n")))


def _error(message: object) -> None:
    sys.stderr.write(f"byos: error: {clean(str(message))}\n")


def _load(path: str) -> Destination:
    from byos.config import load_destination  # noqa: PLC0415  (keeps `byos --help` fast)

    return load_destination(Path(path))


# --- commands ---


def _cmd_config_validate(args: argparse.Namespace) -> int:
    destination = _load(args.file)
    _print_json(destination.masked())
    return EXIT_OK


def _cmd_keys(args: argparse.Namespace) -> int:
    from byos.keys import KeyLayout, metadata_filename  # noqa: PLC0415

    destination = _load(args.config)
    layout = KeyLayout.from_destination(destination)
    result = {
        "destination": destination.label,
        "filename": args.filename,
        "raw": layout.raw_key(args.filename, upload_id=args.upload_id, import_id=args.import_id),
        "result": layout.result_key(args.import_id) if args.import_id else None,
        "probe_folder": layout.probe_folder,
        "metadata_filename": metadata_filename(args.filename),
    }
    _print_json(result)
    return EXIT_OK


def _parse_expires(text: str) -> timedelta:
    from byos.config import parse_duration  # noqa: PLC0415

    return parse_duration(text, field="--expires")


def _cmd_presign(args: argparse.Namespace) -> int:
    if args.size is not None or args.kind == "result":
        return _presign_plan(_load(args.config), args)
    request = _quick_request(args) or _request(args)
    if args.json:
        _print_json(request.to_dict())
    else:
        _write_text(_request_text(request))
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
        expires=_parse_expires(args.expires) if args.expires else None,
        plain=True,
    )


def _request(args: argparse.Namespace) -> UploadRequest:
    from byos.uploads import presign_upload  # noqa: PLC0415

    destination = _load(args.config)
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
        expires=_parse_expires(args.expires) if args.expires else None,
        method=args.method,
        upload_id=args.upload_id,
        import_id=args.import_id,
    )


def _presign_plan(destination: Destination, args: argparse.Namespace) -> int:
    from byos.cli_upload import plan_text, presign_plan  # noqa: PLC0415

    for name in ("content_length", "min_bytes", "max_bytes", "checksum_sha256", "content_md5"):
        if getattr(args, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise InvalidInputError(
                flag, "does not apply to a plan (--size or --kind result)", f"drop {flag}"
            )
    if args.overwrite or args.method != "PUT":
        raise InvalidInputError("--size", "plans are write-once PUT uploads", "drop --overwrite and --method")
    args.expires_delta = _parse_expires(args.expires) if args.expires else None
    plan = presign_plan(destination, args)
    if args.json:
        _print_json(plan.to_dict())
    else:
        _write_text(plan_text(plan))
    return EXIT_OK


def _request_text(request: UploadRequest) -> str:
    """The request as a client sends it: method and URL, headers, form fields, then key and expiry."""
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines += [f"field {name}={value}" for name, value in request.fields.items()]
    lines += [f"# key: {request.key}", f"# expires at: {request.expires_at.isoformat()}"]
    return "\n".join(lines) + "\n"


def _cmd_check(args: argparse.Namespace) -> int:
    from byos.checker import check_setup  # noqa: PLC0415
    from byos.checker.render import print_report, report_json  # noqa: PLC0415
    from byos.config import check_origin  # noqa: PLC0415
    from byos.option_types import require_seconds  # noqa: PLC0415

    for name in ("timeout", "deadline"):
        require_seconds(f"--{name}", getattr(args, name))  # inf and nan too: a bound must bound
    if args.origin is not None:
        args.origin = [check_origin(origin, field="--origin") for origin in args.origin]
    if args.fleet:
        return _check_fleet(args)
    for name in ("output", "baseline", "fail_on_regression"):
        if getattr(args, name):
            flag = "--" + name.replace("_", "-")
            raise InvalidInputError(flag, "works with --fleet only", "pass --fleet DIR")
    if not args.config:
        raise InvalidInputError("--config", "is required", "pass --config FILE or --fleet DIR")
    destination = _load(args.config)
    report = check_setup(destination, args.origin, timeout=args.timeout, deadline=args.deadline)
    if args.json:
        sys.stdout.write(report_json(report) + "\n")
    else:
        print_report(report, _console())
    return _check_exit(report.strict_ok if args.strict else report.ok)


def _console(*, stderr: bool = False) -> Console:
    """A console as wide as the terminal, or 160 columns when the output goes to a file or a pipe."""
    from rich.console import Console  # noqa: PLC0415

    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=160)


def _check_exit(ok: bool) -> int:
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def _check_fleet(args: argparse.Namespace) -> int:
    from byos.cli_fleet import check_fleet_command  # noqa: PLC0415

    return check_fleet_command(args, _console())


def _cmd_policy(args: argparse.Namespace) -> int:
    from byos.policy import build_policy  # noqa: PLC0415

    if args.format == "terraform":
        return _policy_terraform(args)
    documents = build_policy(
        _load(args.config),
        origins=args.origin,
        import_service_principal=args.principal,
        multipart=not args.no_multipart,
        metadata_names=args.metadata_name,
    )
    if args.write:
        documents.write_files(args.write)
    if args.format == "json":
        _print_json(documents.to_dict())
    else:
        _write_text(documents.to_text())
    return EXIT_OK


def _policy_terraform(args: argparse.Namespace) -> int:
    from byos.policy.terraform import terraform_files, write_terraform  # noqa: PLC0415

    files = terraform_files(
        _load(args.config),
        origins=args.origin,
        import_service_principal=args.principal,
        multipart=not args.no_multipart,
        metadata_names=args.metadata_name,
    )
    if args.write:
        for path in write_terraform(files, args.write):
            sys.stderr.write(f"wrote {clean(str(path))}\n")
    else:
        (config,) = files.values()
        _print_json(config)
    return EXIT_OK


# --- parser ---


def build_parser() -> argparse.ArgumentParser:
    """Return the ``byos`` argument parser."""
    parser = _Parser(
        prog="byos", description="Bring your own storage: keys, presigned uploads, setup checks."
    )
    parser.add_argument("--version", action="version", version=f"byos {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    from byos.cli_upload import add_upload  # noqa: PLC0415

    for add in (_add_config, _add_keys, _add_presign, _add_check, _add_policy, add_upload):
        add(commands)
    return parser


def _add_config(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos config validate FILE``."""
    config = commands.add_parser("config", help="work with destination configuration files")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    validate = config_commands.add_parser(
        "validate", help="print the normalised configuration, secrets masked"
    )
    validate.add_argument("file", help="destination TOML file")
    validate.set_defaults(handler=_cmd_config_validate)


def _add_keys(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos keys``: the keys a file would get."""
    keys = commands.add_parser("keys", help="show the object keys a file would get")
    keys.add_argument("--config", required=True, help="destination TOML file")
    keys.add_argument("--filename", required=True, help="the file name as the user gave it (untrusted)")
    keys.add_argument("--upload-id", help="a UUID for the upload (default: a new random one)")
    keys.add_argument("--import-id", help="the import id, to show the cleaned-result key too")
    keys.set_defaults(handler=_cmd_keys)


def _add_presign(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos presign``: one write-only upload."""
    presign = commands.add_parser(
        "presign", help="presign one write-only upload (a bearer token: keep it safe)"
    )
    presign.add_argument("--config", required=True, help="destination TOML file")
    presign.add_argument("--filename", required=True, help="the file name as the user gave it (untrusted)")
    presign.add_argument("--content-type", help="lock the Content-Type")
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
    presign.add_argument("--import-id", help="the import id, for key templates that use it")
    presign.add_argument("--size", type=int, help="the file's size: print its upload plan (parts if large)")
    presign.add_argument("--kind", choices=("raw", "result"), default="raw", help="raw (default) or result")
    presign.add_argument("--part-size", type=int, help="bytes per part of a plan (default: 8 MiB)")
    presign.add_argument("--json", action="store_true", help="print the whole request as JSON")
    presign.set_defaults(handler=_cmd_presign)


def _add_check(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos check``: the setup checker."""
    check = commands.add_parser("check", help="check a destination works for browser uploads, and no more")
    target = check.add_mutually_exclusive_group(required=True)
    target.add_argument("--config", help="destination TOML file")
    target.add_argument("--fleet", help="folder of destination TOML files, checked concurrently")
    check.add_argument("--origin", action="append", help="browser origin for the CORS check (repeatable)")
    check.add_argument("--json", action="store_true", help="print JSON (one line per destination)")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("--concurrency", type=int, default=8, help="destinations checked at once (fleet)")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one network call")
    check.add_argument("--deadline", type=float, default=60.0, help="seconds for a destination's whole check")
    check.add_argument(
        "--output", metavar="RUN.jsonl", help="fleet: also write the run's JSON lines to a file"
    )
    check.add_argument(
        "--baseline",
        metavar="LAST.jsonl",
        help="fleet: compare with a run written by --output; mark what got worse",
    )
    check.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="with --baseline: exit 1 only when a check got worse (pass->warn/fail, warn->fail), else 0",
    )
    check.set_defaults(handler=_cmd_check)


def _add_policy(commands: Any) -> None:  # noqa: ANN401  (argparse's subparsers action has a private type)
    """Add ``byos policy``: what the customer applies."""
    policy = commands.add_parser("policy", help="print the least-privilege access and CORS setup to apply")
    policy.add_argument("--config", required=True, help="destination TOML file")
    policy.add_argument(
        "--origin", action="append", help="browser origin (repeatable; default: the destination's)"
    )
    policy.add_argument(
        "--import-service-principal",
        dest="principal",
        help="S3: role ARN or account id; GCS: signer's email; Azure: object or client id",
    )
    policy.add_argument(
        "--no-multipart", action="store_true", help="S3: leave out what multipart uploads need"
    )
    policy.add_argument(
        "--metadata-name",
        action="append",
        default=[],
        help="extra metadata name passed to presigns (repeatable)",
    )
    policy.add_argument(
        "--format",
        choices=("text", "json", "terraform"),
        default="text",
        help="Markdown (default), JSON, or Terraform JSON (byos-PROVIDER.tf.json)",
    )
    policy.add_argument(
        "--write",
        metavar="DIR",
        help="also save each JSON document in DIR (terraform: only the .tf.json file)",
    )
    policy.set_defaults(handler=_cmd_policy)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    # azure-identity logs every credential it tries at WARNING; the CLI reports failures in one line itself.
    logging.getLogger("azure").setLevel(logging.ERROR)
    log_redaction.install()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (ConfigError, InvalidInputError, MissingCredentialsError) as exc:
        _error(exc)
        return EXIT_USAGE
    except ByosError as exc:
        _error(exc)
        return EXIT_CHECK_FAILED
    except OSError as exc:
        _error(f"{exc.filename or 'file'}: {exc.strerror or type(exc).__name__}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("byos: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
