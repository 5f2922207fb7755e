"""The ``byos`` command line: parse arguments, load settings, call the library, print, and exit.

Exit codes: 0 success, 1 a setup check failed, 2 bad usage or configuration (one line on stderr,
no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from byos import __version__
from byos.errors import ByosError, ConfigError, InvalidInputError

if TYPE_CHECKING:
    from byos.config import Destination

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


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
    from byos.uploads import presign_upload  # noqa: PLC0415

    destination = _load(args.config)
    request = presign_upload(
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
    if args.json:
        _print_json(request.to_dict())
    else:
        sys.stdout.write(request.url + "\n")
    return EXIT_OK


# --- parser ---


def build_parser() -> argparse.ArgumentParser:
    """Return the ``byos`` argument parser."""
    parser = _Parser(
        prog="byos", description="Bring your own storage: keys, presigned uploads, setup checks."
    )
    parser.add_argument("--version", action="version", version=f"byos {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    config = commands.add_parser("config", help="work with destination configuration files")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    validate = config_commands.add_parser(
        "validate", help="print the normalised configuration, secrets masked"
    )
    validate.add_argument("file", help="destination TOML file")
    validate.set_defaults(handler=_cmd_config_validate)

    keys = commands.add_parser("keys", help="show the object keys a file would get")
    keys.add_argument("--config", required=True, help="destination TOML file")
    keys.add_argument("--filename", required=True, help="the file name as the user gave it (untrusted)")
    keys.add_argument("--upload-id", help="a UUID for the upload (default: a new random one)")
    keys.add_argument("--import-id", help="the import id, to show the cleaned-result key too")
    keys.set_defaults(handler=_cmd_keys)

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
    presign.add_argument("--json", action="store_true", help="print the whole request as JSON")
    presign.set_defaults(handler=_cmd_presign)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (ConfigError, InvalidInputError) as exc:
        sys.stderr.write(f"byos: error: {exc}\n")
        return EXIT_USAGE
    except ByosError as exc:
        sys.stderr.write(f"byos: error: {exc}\n")
        return EXIT_CHECK_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("byos: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
