"""`sam validate --lint` and `sam build` succeed, and the build is fit for arm64 Lambda."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import PYENV_313_BIN
from .stack import REPO_ROOT

pytestmark = pytest.mark.infra

# Lambda's limit on a function plus all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# ELF e_machine values.
EM_X86_64 = 62
EM_AARCH64 = 183


def _run(
    command: list[str], env: dict[str, str], timeout: float
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return result, time.monotonic() - started


def _tree_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def _elf_machine(path: Path) -> int | None:
    with path.open("rb") as fh:
        header = fh.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.1f} KB"


def test_sam_validate_lint(
    sam_cli: Path, sam_env: dict[str, str], report: Callable[[str, str], None]
) -> None:
    result, seconds = _run(
        [str(sam_cli), "validate", "--lint", "--template-file", "template.yaml"], sam_env, 120
    )
    report("sam validate --lint", f"{seconds:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_build(
    sam_cli: Path, sam_env: dict[str, str], tmp_path: Path, report: Callable[[str, str], None]
) -> None:
    if not (PYENV_313_BIN / "python3.13").exists():
        pytest.skip(f"python3.13 not found at {PYENV_313_BIN}; sam build needs the Lambda runtime's Python")
    build_dir = tmp_path / "build"
    # --no-cached: a cached build keeps dependencies under the repo's .aws-sam/, shared with others.
    command = [
        str(sam_cli),
        "build",
        "--template-file",
        "template.yaml",
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-cached",
        "--parallel",
    ]
    result, seconds = _run(command, sam_env, 170)
    report("sam build", f"{seconds:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr

    layer = build_dir / "RelayLayer" / "python"
    data_plane = build_dir / "DataPlaneFunction"
    control_plane = build_dir / "ControlPlaneFunction"
    sizes = {"RelayLayer": _tree_size(layer), "DataPlaneFunction": _tree_size(data_plane)}
    sizes["ControlPlaneFunction"] = _tree_size(control_plane)
    for name, size in sizes.items():
        report(f"{name} unzipped", _mb(size))
    print(", ".join(f"{name} {_mb(size)}" for name, size in sizes.items()))

    assert (layer / "relay" / "__init__.py").is_file(), (
        "the relay package is not at python/relay in the layer"
    )
    cores = list(layer.glob("pydantic_core/_pydantic_core*.so"))
    assert cores, "pydantic_core's extension module is missing from the layer"
    assert all(_elf_machine(core) == EM_AARCH64 for core in cores), f"not aarch64: {cores}"
    x86 = [p for p in build_dir.rglob("*.so*") if p.is_file() and _elf_machine(p) == EM_X86_64]
    assert not x86, f"x86_64 binaries in an arm64 build: {x86[:5]}"

    # The Lambda runtime provides the AWS SDK; a copy in the layer would shadow it.
    shadowing = [p.name for p in layer.iterdir() if p.name in ("boto3", "botocore", "s3transfer", "urllib3")]
    assert not shadowing, f"runtime-provided packages in the layer: {shadowing}"
    assert (layer / "fastapi").is_dir() and (layer / "aws_lambda_powertools").is_dir()

    run_sh = data_plane / "run.sh"
    assert run_sh.is_file() and os.access(run_sh, os.X_OK), "run.sh must be executable: the adapter execs it"
    assert (control_plane / "handler.py").is_file()
    # The adapter layer is small (a few MB); the rest must fit under Lambda's unzipped limit.
    assert sizes["RelayLayer"] + sizes["DataPlaneFunction"] < LAMBDA_UNZIPPED_LIMIT - 20 * 1024 * 1024
