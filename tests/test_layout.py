"""How src/byos is laid out: imports run one way, core and signing import no cloud SDK, modules stay small.

The layers, highest first (a module may import its own layer and the ones below, never one above)::

    cli        byos.cli, byos.cli_*
    entry      byos (the package's names), byos.uploads, byos.planner, byos.transfer, byos.file_digests
    checker    byos.checker.*, byos.policy.*
    providers  byos.providers.*
    signing    byos.signing.*
    core       configuration, keys, models, errors, the bounded HTTP transport and the rest below

Every import counts: at module level, inside functions and under ``TYPE_CHECKING``. The upward imports that
remain are listed in :data:`UPWARD_EXCEPTIONS`, each with the reason it is still there; an entry that no
longer matches an import fails, so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "byos"
MAX_LINES = 400

CLI, ENTRY, CHECKER, PROVIDERS, SIGNING, CORE = "cli", "entry", "checker", "providers", "signing", "core"
ORDER = (CORE, SIGNING, PROVIDERS, CHECKER, ENTRY, CLI)
"""Lowest first: a module may import modules of its own rank or lower."""

PACKAGE_LAYERS = {
    "byos.checker": CHECKER,
    "byos.config": CORE,
    "byos.policy": CHECKER,
    "byos.providers": PROVIDERS,
    "byos.signing": SIGNING,
}
"""Packages whose every module sits in one layer."""

MODULE_LAYERS = {
    "byos": ENTRY,
    "byos.cli": CLI,
    "byos.cli_common": CLI,
    "byos.cli_fleet": CLI,
    "byos.cli_presign": CLI,
    "byos.cli_upload": CLI,
    "byos.uploads": ENTRY,
    "byos.planner": ENTRY,
    "byos.transfer": ENTRY,
    "byos.file_digests": ENTRY,
    "byos.browser": ENTRY,
    "byos.presigner_cache": ENTRY,
    "byos.bounded": CORE,
    "byos.config_env": CORE,
    "byos.display": CORE,
    "byos.endpoint_policy": CORE,
    "byos.endpoints": CORE,
    "byos.errors": CORE,
    "byos.filenames": CORE,
    "byos.http": CORE,
    "byos.key_rules": CORE,
    "byos.key_templates": CORE,
    "byos.keys": CORE,
    "byos.log_redaction": CORE,
    "byos.models": CORE,
    "byos.option_types": CORE,
    "byos.plans": CORE,
    "byos.prepared": CORE,
    "byos.redaction": CORE,
    "byos.upload_answers": CORE,
}
"""The top-level modules, each in its layer (a new module must be placed here)."""

_COMPILED = (
    "clears byos.presigner_cache's compiled presigners with its own signer cache; goes when the compiled "
    "presigners' cache sits below the providers (or they register a clear hook with it)"
)
UPWARD_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("byos.config.s3", "byos.signing.sigv4"): (
        "validates S3 endpoints with the signer's S3Endpoint so presign agrees; goes when endpoint parsing "
        "has one home in core, used by config and every signer"
    ),
    ("byos.providers.azure_delegation", "byos.presigner_cache"): _COMPILED,
    ("byos.providers.gcs_signing", "byos.presigner_cache"): _COMPILED,
    ("byos.providers.s3_credentials", "byos.presigner_cache"): _COMPILED,
    ("byos.providers.s3_multipart", "byos.presigner_cache"): (
        "builds the part requests with byos.presigner_cache.part_requests (the signers' headers shared, not "
        "copied); the helper moves down to the providers with the compiled presigners"
    ),
}
"""Upward imports still in the code: (importing module, imported module) and why it is still there."""

CLOUD_SDKS = frozenset({"boto3", "botocore", "google", "azure"})

OVERSIZED: dict[str, str] = {
    "byos/presigner_cache.py": "one compiled presigner module per provider beside a small cache module",
    "byos/signing/sigv4.py": "canonical request, query, POST policy, endpoint, after the signing speed-ups",
}
"""Modules over :data:`MAX_LINES` lines, each with where it splits next."""


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> str | None:
    if module in MODULE_LAYERS:
        return MODULE_LAYERS[module]
    for package, layer in PACKAGE_LAYERS.items():
        if module == package or module.startswith(package + "."):
            return layer
    return None


def _package_of(module: str) -> str:
    """The package that relative imports in ``module`` start from."""
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str) -> set[str]:
    """Every byos module and every other top-level package ``module`` imports (any depth, any branch)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = _package_of(module).split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in MODULES else base)
    return targets


def _byos_target(name: str) -> str | None:
    """The byos module an imported name belongs to (None outside byos)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _upward_imports() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for module in MODULES:
        layer = _layer(module)
        assert layer is not None
        for name in _imports(module):
            target = _byos_target(name) if name.split(".")[0] == "byos" else None
            if target is None or target == module:
                continue
            target_layer = _layer(target)
            assert target_layer is not None, target
            if ORDER.index(target_layer) > ORDER.index(layer):
                found[module, target] = f"{module} ({layer}) imports {target} ({target_layer})"
    return found


def test_every_module_has_a_layer() -> None:
    unplaced = [module for module in MODULES if _layer(module) is None]
    assert not unplaced, f"place these modules in MODULE_LAYERS (or a package in PACKAGE_LAYERS): {unplaced}"
    stale = sorted(set(MODULE_LAYERS) - set(MODULES))
    assert not stale, f"MODULE_LAYERS names modules that no longer exist: {stale}"


def test_imports_run_one_way() -> None:
    found = _upward_imports()
    new = [reason for pair, reason in sorted(found.items()) if pair not in UPWARD_EXCEPTIONS]
    assert not new, "upward imports (import from a lower layer, or move the code down):\n" + "\n".join(new)
    stale = sorted(set(UPWARD_EXCEPTIONS) - set(found))
    assert not stale, f"UPWARD_EXCEPTIONS lists imports that are gone; remove them: {stale}"


@pytest.mark.parametrize("layer", [CORE, SIGNING])
def test_core_and_signing_import_no_cloud_sdk(layer: str) -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module in MODULES
        if _layer(module) == layer
        for name in _imports(module)
        if name.split(".")[0] in CLOUD_SDKS
    )
    assert not offenders, offenders
    assert any(_layer(module) == layer for module in MODULES)


def test_the_walk_sees_every_kind_of_import() -> None:
    # The rules above are only as good as the walk: it must see imports inside functions and under
    # TYPE_CHECKING, `from package import module`, and imports of other packages.
    assert "byos.signing.sigv4" in _imports("byos.config.s3")  # inside a function
    assert "byos.config" in _imports("byos.providers.s3_credentials")  # under TYPE_CHECKING and in a function
    assert "byos.http" in _imports("byos.providers.s3_multipart")  # from byos import http
    assert "byos.providers.gcs_sign_blob" in _imports("byos.providers.gcs")
    assert "pydantic" in _imports("byos.config.settings")
    assert ("byos.config.s3", "byos.signing.sigv4") in _upward_imports()


def test_modules_stay_small() -> None:
    sizes = {
        path.relative_to(SRC).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in MODULES.values()
    }
    over = sorted(f"{name}: {lines} lines" for name, lines in sizes.items() if lines > MAX_LINES)
    unexpected = [entry for entry in over if entry.split(":")[0] not in OVERSIZED]
    assert not unexpected, f"modules over {MAX_LINES} lines (split them along their seams): {unexpected}"
    stale = sorted(name for name in OVERSIZED if sizes.get(name, 0) <= MAX_LINES)
    assert not stale, f"OVERSIZED lists modules that are gone or small now; remove them: {stale}"


def test_every_module_opens_with_a_one_line_summary() -> None:
    missing = []
    for module, path in MODULES.items():
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
        first = (docstring or "").split("\n", 1)[0].strip()
        if not first.endswith("."):
            missing.append(module)
    assert not missing, f"open these modules with a one-line docstring saying what they hold: {missing}"
