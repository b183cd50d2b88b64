"""Imports point down the layers only (ARCHITECTURE.md, "Code layers"), checked with `ast`.

Every module of the `relay` package is read, and every import counts: top-level, inside
functions (the lazy imports of `Services`) and under `if TYPE_CHECKING:` (an annotation
that names an upper layer is a dependency on it all the same).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import relay

pytestmark = pytest.mark.unit

PACKAGE = Path(relay.__file__).parent
IO = ("relay.backends", "relay.services", "relay.http", "boto3", "botocore", "httpx")
# layer prefix -> imports it must not make
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Typed values shared by services and backends: stdlib, pydantic, relay.errors, and the
    # protocol's models (for annotations of the chat port).
    "relay.targets": (*IO, "relay.translate", "relay.capabilities", "relay.catalogue"),
    "relay.protocol": (*IO, "relay.translate"),
    "relay.capabilities": (*IO, "relay.translate"),
    "relay.translate": ("relay.backends", "relay.services", "relay.http", "boto3", "botocore"),
    "relay.backends": ("relay.services", "relay.http"),
    "relay.services": ("relay.http",),
}


def module_name(path: Path) -> str:
    parts = ["relay", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import statement in the file."""
    found: list[tuple[int, str]] = []
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # `from relay import services` imports the subpackage itself.
            found.extend((node.lineno, f"{name}.{alias.name}") for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        layer = next((prefix for prefix in FORBIDDEN if _within(module, prefix)), None)
        if layer is None:
            continue
        for line, name in imports_of(path, module):
            if any(_within(name, banned) for banned in FORBIDDEN[layer]):
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {layer} imports {name}")
    return sorted(set(problems))


def test_imports_point_down_the_layers() -> None:
    assert violations() == []


def test_the_checker_sees_upward_imports(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from relay.services.chat import ChatService\n"
        "def later():\n"
        "    from ...http import app\n"
        "import botocore.exceptions\n"
    )
    path = tmp_path / "module.py"
    path.write_text(source)
    found = [name for _, name in imports_of(path, "relay.backends.bedrock.module")]
    assert "relay.services.chat" in found
    assert "relay.http" in found
    assert "botocore.exceptions" in found
