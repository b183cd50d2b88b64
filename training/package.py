"""Build the SageMaker source bundle: `python training/package.py [sourcedir.tar.gz]`.

The archive holds `train.py`, the `relay_training` package, `requirements.txt`, and the
`relay.evaluation` testing functions (the GRPO rewards) with a minimal `relay/__init__.py`, so the
training job needs nothing from the Lambda layer. Pass its S3 URI as the `sagemaker_submit_directory`
hyperparameter with `sagemaker_program=train.py`, or unpack it into a custom image.
The archive is reproducible: sorted members, fixed timestamps and owners.
"""

from __future__ import annotations

import argparse
import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVALUATION = HERE.parent / "layers" / "relay" / "relay" / "evaluation"
RELAY_INIT = '"""Relay: only the testing functions are bundled with the training code."""\n'


def members() -> Iterator[tuple[str, bytes]]:
    """(archive name, content) for every file in the bundle, in archive order."""
    yield "train.py", (HERE / "train.py").read_bytes()
    yield "requirements.txt", (HERE / "requirements.txt").read_bytes()
    for path in sorted((HERE / "relay_training").glob("*.py")):
        yield f"relay_training/{path.name}", path.read_bytes()
    yield "relay/__init__.py", RELAY_INIT.encode()
    for path in sorted(EVALUATION.glob("*.py")):
        yield f"relay/evaluation/{path.name}", path.read_bytes()


def build(destination: Path) -> list[str]:
    """Write the gzipped tar to destination; returns the member names."""
    names = []
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in members():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))
            names.append(name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with (
        destination.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as compressed,
    ):
        compressed.write(buffer.getvalue())
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", nargs="?", default="sourcedir.tar.gz", type=Path)
    destination = parser.parse_args().destination
    names = build(destination)
    print(f"{destination}: {len(names)} files")


if __name__ == "__main__":
    main()
