"""The benchmarks stay one small module per section: each under 400 lines, each opening with a summary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
MAX_LINES = 400
SECTIONS = ("bench_presign", "bench_batch", "bench_cold", "bench_checker")


def test_every_benchmark_module_is_small_and_summarised() -> None:
    modules = sorted(BENCHMARKS.glob("*.py"))
    assert len(modules) > len(SECTIONS)
    for path in modules:
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_LINES, f"{path.name}: over {MAX_LINES} lines"
        if path.name == "__init__.py":
            continue
        docstring = ast.get_docstring(ast.parse(text), clean=False) or ""
        assert docstring.split("\n", 1)[0].strip(), f"{path.name}: no one-line summary"


def test_each_section_has_its_module_and_the_driver_runs_them() -> None:
    driver = (BENCHMARKS / "bench.py").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert (BENCHMARKS / f"{section}.py").is_file(), section
        assert f"from benchmarks.{section} import" in driver, section


def test_the_driver_keeps_its_command_line_from_any_directory(tmp_path: Path) -> None:
    answer = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    for flag in ("--quick", "--cpu", "--sections"):
        assert flag in answer.stdout, flag
