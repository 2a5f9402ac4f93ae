"""The manifest beside the index: how it was built, so a mismatched reader is refused."""
from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path

from .errors import IndexMismatchError

FORMAT = 1


def check_or_write(data_dir: Path, build: dict) -> dict:
    """Write `build` on first use; afterwards refuse any build that differs from the recorded one."""
    path = Path(data_dir) / "manifest.json"
    if path.exists():
        recorded = json.loads(path.read_text())
        diffs = {k: (recorded.get(k), v) for k, v in build.items() if recorded.get(k) != v}
        if diffs:
            detail = "; ".join(f"{k}: index has {old}, asked for {new}" for k, (old, new) in diffs.items())
            raise IndexMismatchError(
                f"the index in {data_dir} was built differently ({detail}). Use the same settings, "
                "or rebuild it: `newsrag ingest --rebuild PATH...` (or delete the data dir).")
        return recorded
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # the version that built it is recorded for the reader of a bug report, never compared
    tmp.write_text(json.dumps({"format": FORMAT, "newsrag": _version(), **build}, indent=2) + "\n")
    os.replace(tmp, path)  # never leave a half-written manifest
    return build


def _version() -> str:
    try:
        return metadata.version("newsrag")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def read(data_dir: Path) -> dict | None:
    path = Path(data_dir) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None
