"""The adapter in the ONNX graph: float side branches beside the unchanged 4-bit base.

Each adapted projection ``y = x·W`` (a MatMulNBits over the GGUF's own blocks) becomes
``y = x·W + (x·A)·B``: the base's nodes and bytes are untouched, and the adapter's delta is
added in float. Merging instead (``W + A·B``, re-quantized to 4 bits) would change every
base block and round most of the delta away: the delta's entries are far smaller than a
4-bit step of the weights (``benchmarks/learn_style.py`` prints the measured fraction kept).

The packed projections the runtime graph uses (one MatMul for q, k and v; one for gate and
up) get one packed branch each: A's for the packed parts side by side, B block-diagonal
into the packed output's columns.

The adapted model is a normal model folder in the model cache (selectable in the Models
list, removable like any other) whose manifest says what it is: the base's checksums, how
many documents it learned from (never their text or names) and the held-out result."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from inference.export.learn.adapters import projection_shapes, weight_name
from inference.export.onnx_graph import GraphEditor
from inference.export.variant_files import files_entry, save_variant
from inference.model_folder import (
    MANIFEST_NAME,
    TOKENIZER_NAME,
    Architecture,
    ModelFolder,
    sha256_file,
)

PACKED_PARTS = {
    "attention.qkv_proj": ("q_proj", "k_proj", "v_proj"),
    "attention.o_proj": ("o_proj",),
    "mlp.gate_up_proj": ("gate_proj", "up_proj"),
    "mlp.down_proj": ("down_proj",),
}
_PROJECTION = re.compile(
    r"layer_(\d+)\.(attention\.qkv_proj|attention\.o_proj|mlp\.gate_up_proj|mlp\.down_proj)"
)
ADAPTED_MARK = "-style-"

Arrays = dict[str, tuple[np.ndarray, np.ndarray]]


class AdapterExportError(Exception):
    """The base model's graph does not have the projections the adapter was trained on."""


def _packed_branch(
    layer: int, packed: str, arrays: Arrays, cfg: Architecture
) -> tuple[np.ndarray, np.ndarray] | None:
    """(A, B) for one packed projection: the adapted parts' A side by side, their B placed
    in the packed output's columns (zero under parts without an adapter, e.g. k of q+v)."""
    shapes = projection_shapes(cfg)
    parts = PACKED_PARTS[packed]
    present = [p for p in parts if weight_name(layer, p) in arrays]
    if not present:
        return None
    a = np.concatenate([arrays[weight_name(layer, p)][0] for p in present], axis=1)
    rank = a.shape[1] // len(present)
    b = np.zeros((a.shape[1], sum(shapes[p][1] for p in parts)), np.float32)
    column = 0
    row = 0
    for part in parts:
        width = shapes[part][1]
        if part in present:
            b[row : row + rank, column : column + width] = arrays[weight_name(layer, part)][1]
            row += rank
        column += width
    return a.astype(np.float32), b


def add_side_branches(model: onnx.ModelProto, arrays: Arrays, cfg: Architecture) -> int:
    """Add ``(x·A)·B`` to every adapted projection of ``model`` (in place); returns how many
    projections got a branch."""
    editor = GraphEditor(model)
    consumers = editor.consumers()
    producers = editor.producers()
    added = 0
    for node in list(editor.graph.node):
        if node.op_type not in ("MatMul", "MatMulNBits") or len(node.input) < 2:
            continue
        match = _PROJECTION.fullmatch(node.input[1].removesuffix(".q"))
        if match is None:
            continue
        layer, packed = int(match[1]), match[2]
        branch = _packed_branch(layer, packed, arrays, cfg)
        if branch is None:
            continue
        output = node.output[0]
        if output.endswith(".scaled"):  # a block-offset correction is added after it
            fixes = consumers.get(output, [])
            if len(fixes) != 1 or fixes[0].op_type != "Add":
                raise AdapterExportError(f"unexpected graph after {node.name}")
            output = fixes[0].output[0]
        producer = producers[output]
        base = f"{output}.base"
        for index, name in enumerate(producer.output):
            if name == output:
                producer.output[index] = base
        a_name = editor.add_initializer(f"layer_{layer}.{packed}.lora_a", branch[0])
        b_name = editor.add_initializer(f"layer_{layer}.{packed}.lora_b", branch[1])
        stem = f"layer_{layer}/{packed.replace('.', '/')}/lora"
        low = editor.add_node("MatMul", [node.input[0], a_name], name=f"{stem}/down").output[0]
        delta = editor.add_node("MatMul", [low, b_name], name=f"{stem}/up").output[0]
        editor.add_node("Add", [base, delta], [output], name=f"{stem}/add")
        added += 1
    if added == 0:
        raise AdapterExportError("the model's graph has none of the adapted projections")
    editor.toposort()
    return added


def adapter_digest(arrays: Arrays) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        for array in arrays[name]:
            digest.update(np.ascontiguousarray(array, np.float32).tobytes())
    return digest.hexdigest()


def write_adapted_variant(base_file: Path, arrays: Arrays, cfg: Architecture, target: Path) -> int:
    model = onnx.load(str(base_file))
    count = add_side_branches(model, arrays, cfg)
    save_variant(model, target)
    return count


def stage_adapted_model(
    base: ModelFolder,
    arrays: Arrays,
    adapter_info: dict[str, Any],
    cache_root: Path,
    variants: tuple[str, ...] | None = None,
) -> Path:
    """Write the adapted model folder into a hidden staging folder of ``cache_root`` (the app
    does not list it) and return it; ``publish_adapted_model`` moves it into place.

    It holds the base's tokenizer and the adapted graph of each of ``variants`` (default: the
    base's default variant only; the float one is 540 MB and only checks need it)."""
    variants = variants or (base.default_variant,)
    digest = adapter_digest(arrays)
    cache_root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=cache_root, prefix=".building-style-"))
    try:
        shutil.copyfile(base.tokenizer_path, workdir / TOKENIZER_NAME)
        for variant in variants:
            write_adapted_variant(
                base.variant_path(variant),
                arrays,
                base.architecture,
                workdir / base.variants[variant]["file"],
            )
        manifest = dict(base.manifest)
        manifest["source"] = {**manifest.get("source", {}), "is_default": False}
        manifest["name"] = f"{base.name} · your style"
        rank = adapter_info["config"]["rank"]
        manifest["variants"] = {
            v: {
                **base.variants[v],
                **files_entry(workdir, v),  # the adapted weights file's own layout
                "weights": f"{base.variants[v].get('weights', '')}; plus your style adapter "
                f"(rank {rank} float side branches)",
            }
            for v in variants
        }
        if base.default_variant not in variants:
            manifest["default_variant"] = variants[0]
        manifest["files"] = {
            p.name: sha256_file(p) for p in sorted(workdir.iterdir()) if p.is_file()
        }
        manifest["adapter"] = {
            **adapter_info,
            "digest": digest,
            "base": {
                "folder": base.path.name,
                "name": base.name,
                "files": dict(base.files),
                "source_sha256": base.manifest.get("source", {}).get("sha256"),
            },
        }
        manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_manifest(workdir, manifest)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return workdir


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    partial = folder / (MANIFEST_NAME + ".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, indent=2, ensure_ascii=False))
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(folder / MANIFEST_NAME)


def publish_adapted_model(staged: Path, checks: dict[str, Any]) -> Path:
    """Record the exported model's checks in its manifest and move it into the cache as
    ``<base folder>-style-<adapter digest>``."""
    manifest = json.loads((staged / MANIFEST_NAME).read_text("utf-8"))
    manifest["adapter"]["exported_checks"] = checks
    _write_manifest(staged, manifest)
    for path in staged.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    staged.chmod(0o755)  # mkdtemp makes it private; a model folder is not secret
    adapter = manifest["adapter"]
    final = staged.parent / f"{adapter['base']['folder']}{ADAPTED_MARK}{adapter['digest'][:12]}"
    if final.exists():
        shutil.rmtree(final)
    os.replace(staged, final)
    return final
