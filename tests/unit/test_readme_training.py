"""The README's training-parameter tables are the catalogue's, parameter by parameter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relay.catalogue import catalogue

pytestmark = pytest.mark.unit

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _rows(marker: str) -> list[list[str]]:
    block = README.split(f"<!-- {marker} -->\n", 1)[1].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in block.splitlines()[2:]]


def _number(text: str) -> float:
    return float(text)


def _documented(model: str) -> dict[str, dict[str, object]]:
    """The parameters the README gives `model`: its set's rows with the model's overrides applied."""
    overrides = {row[0]: row for row in _rows("parameter-overrides")}[model]
    documented: dict[str, dict[str, object]] = {}
    for name, kind, default, bounds, techniques in _rows(f"parameters: {overrides[1]}"):
        grpo = re.search(r"\(GRPO: ([^)]+)\)", default)
        entry: dict[str, object] = {
            "type": kind,
            "default": default.split(" (")[0],
            "techniques": [t.strip() for t in techniques.split(",")],
        }
        if grpo:
            entry["default_GRPO"] = grpo.group(1)
        if bounds != "—":
            low, high = bounds.split(" \u2013 ")
            entry["minimum"], entry["maximum"] = _number(low), _number(high)
        documented[name.strip("`")] = entry
    if overrides[2] != "—":
        for change in overrides[2].split("; "):
            name, _, settings = change.partition(" ")
            for setting in settings.split(", "):
                key, value = setting.split(" ")
                documented[name.strip("`")][key] = _number(value) if key != "default" else value
    return documented


def _shown(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


@pytest.mark.parametrize("model", sorted(catalogue()))
def test_readme_documents_each_base_models_parameters_and_bounds(model: str) -> None:
    documented = _documented(model)
    spec = catalogue()[model]
    assert sorted(documented) == sorted(spec.parameters)
    for name, parameter in spec.parameters.items():
        bounds = {k: _shown(v) if k.startswith("default") else v for k, v in parameter.bounds().items()}
        assert documented[name] == bounds, name
