"""The ``byos`` command line: parse arguments, load settings, call the library, print, and exit.

Exit codes: 0 success, 1 a setup check failed, 2 bad usage or configuration, missing credentials included
(one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from byos import __version__, log_redaction
from byos.cli_common import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, load, print_json, write_text
from byos.display import clean
from byos.errors import ByosError, ConfigError, InvalidInputError, MissingCredentialsError

if TYPE_CHECKING:
    from rich.console import Console


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {clean(message)}; see {self.prog} --help\n")


def _error(message: object) -> None:
    sys.stderr.write(f"byos: error: {clean(str(message))}\n")


# --- commands ---


def _cmd_config_validate(args: argparse.Namespace) -> int:
    destination = load(args.file)
    print_json(destination.masked())
    return EXIT_OK


def _cmd_keys(args: argparse.Namespace) -> int:
    from byos.keys import KeyLayout, metadata_filename  # noqa: PLC0415

    destination = load(args.config)
    layout = KeyLayout.from_destination(destination)
    result = {
        "destination": destination.label,
        "filename": args.filename,
        "raw": layout.raw_key(args.filename, upload_id=args.upload_id, import_id=args.import_id),
        "result": layout.result_key(args.import_id) if args.import_id else None,
        "probe_folder": layout.probe_folder,
        "metadata_filename": metadata_filename(args.filename),
    }
    print_json(result)
    return EXIT_OK


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
    destination = load(args.config)
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
        load(args.config),
        origins=args.origin,
        import_service_principal=args.principal,
        multipart=not args.no_multipart,
        metadata_names=args.metadata_name,
    )
    if args.write:
        documents.write_files(args.write)
    if args.format == "json":
        print_json(documents.to_dict())
    else:
        write_text(documents.to_text())
    return EXIT_OK


def _policy_terraform(args: argparse.Namespace) -> int:
    from byos.policy.terraform import terraform_files, write_terraform  # noqa: PLC0415

    files = terraform_files(
        load(args.config),
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
        print_json(config)
    return EXIT_OK


# --- parser ---


COMMANDS = ("config", "keys", "presign", "check", "policy", "upload")
"""The subcommands, in the order ``byos --help`` lists them."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the ``byos`` argument parser: every command, or only ``command`` (one of :data:`COMMANDS`).

    A parser of one command parses that command's arguments exactly as the whole parser does; building the
    other commands' options is most of what a command line spends before it starts its work.
    """
    parser = _Parser(
        prog="byos", description="Bring your own storage: keys, presigned uploads, setup checks."
    )
    parser.add_argument("--version", action="version", version=f"byos {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if command is None else (command,):
        _adder(name)(commands)
    return parser


def _adder(command: str) -> Callable[[Any], None]:
    if command == "presign":
        from byos.cli_presign import add_presign  # noqa: PLC0415

        return add_presign
    if command == "upload":
        from byos.cli_upload import add_upload  # noqa: PLC0415

        return add_upload
    return {"config": _add_config, "keys": _add_keys, "check": _add_check, "policy": _add_policy}[command]


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
    arguments = sys.argv[1:] if argv is None else list(argv)
    first = arguments[0] if arguments else None
    parser = build_parser(first if first in COMMANDS else None)  # anything else: the whole parser explains
    args = parser.parse_args(arguments)
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
