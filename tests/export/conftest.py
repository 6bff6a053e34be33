"""Fixtures for the tokenizer tests: the default model's GGUF, llama.cpp's recorded ids, and a
writer for small tokenizer-only GGUF files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import gguf
import pytest

from inference.export.build import DEFAULT_GGUF_NAME, BuildError, fetch_default_gguf
from inference.model_cache import model_cache_root
from inference.model_folder import sha256_file

RECORDED_IDS = Path(__file__).parent / "data" / "llamacpp_token_ids.json"


def find_default_gguf(extract_to: Path) -> Path | None:
    """The default model's GGUF file (``$DRAFTSMITH_DEFAULT_GGUF``, or the pipeline's own
    download in the model cache, fetched once), or ``None`` when it cannot be had."""
    override = os.environ.get("DRAFTSMITH_DEFAULT_GGUF")
    if override:
        return Path(override)
    try:
        return fetch_default_gguf(model_cache_root() / "sources")
    except BuildError:
        return None


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
    digest = sha256_file(path)
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
        elif value and isinstance(value[0], float):  # SentencePiece scores
            writer.add_key_value(
                key, list(value), gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.FLOAT32
            )
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
