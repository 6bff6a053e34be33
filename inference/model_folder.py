"""A built model folder: manifest, tokenizer and one ONNX file per variant.

Qt- and TensorFlow-free: the app, the runtime and the export pipeline all open model
folders through this module. Every problem is a ``ModelFolderError`` whose message a writer
can read, with the rebuild command as the remedy."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference import model_cache
from inference.model_cache import model_remedy, model_search_path

log = logging.getLogger(__name__)

MANIFEST_NAME = "draftsmith-model.json"
TOKENIZER_NAME = "tokenizer.json"
FORMAT_VERSION = 1
# Graph input (pipeline 2 on): how many of the last positions get logits; 1 for the next
# token, n to check n - 1 drafted tokens in one run. Older graphs give one position's.
LOGIT_ROWS_INPUT = "logit_rows"
# Graph input (pipeline 3 on, 8-bit embedding tables): the token embeddings, read by the
# runtime from the weights file (``inference/embedding_table.py``) instead of token ids.
EMBEDDINGS_INPUT = "inputs_embeds"
REBUILD_HINT = model_remedy()


class ModelFolderError(Exception):
    """A model folder is missing, incomplete, corrupted or of an unknown format."""


@dataclass(frozen=True)
class Architecture:
    type: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    rope_theta: float
    rms_norm_eps: float
    tie_embeddings: bool = True
    # Q/K/V projections with biases (qwen2).
    attention_bias: bool = False
    # Per-frequency divisors of the rotary angles (Llama 3's rope_freqs, linear scaling).
    rope_freq_factors: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.rope_freq_factors is not None:  # a manifest stores a list
            object.__setattr__(self, "rope_freq_factors", tuple(self.rope_freq_factors))


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


class ModelFolder:
    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        try:
            self.architecture = Architecture(**manifest["architecture"])
            self.context_length = int(manifest["context_length"])
            self.special_tokens: dict[str, Any] = dict(manifest["special_tokens"])
            self.chat_template: str | None = manifest.get("chat_template")
            self.variants: dict[str, dict[str, Any]] = dict(manifest["variants"])
            self.default_variant: str = manifest["default_variant"]
            self.files: dict[str, str] = dict(manifest["files"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFolderError(
                f"The model in {path} has an incomplete manifest ({error}). {REBUILD_HINT}"
            ) from error
        if self.default_variant not in self.variants:
            raise ModelFolderError(
                f"The model in {path} names a default variant it does not have. {REBUILD_HINT}"
            )

    @classmethod
    def open(cls, path: str | Path) -> ModelFolder:
        """Read a model folder's manifest and check that every listed file exists."""
        path = Path(path)
        manifest_path = path / MANIFEST_NAME
        if not manifest_path.is_file():
            raise ModelFolderError(f"No Draftsmith model was found in {path}. {REBUILD_HINT}")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelFolderError(
                f"The model manifest in {path} cannot be read ({error}). {REBUILD_HINT}"
            ) from error
        if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
            raise ModelFolderError(
                f"The model in {path} was built by an incompatible version of Draftsmith. "
                f"{REBUILD_HINT}"
            )
        folder = cls(path, manifest)
        missing = [name for name in folder.files if not (path / name).is_file()]
        if missing:
            raise ModelFolderError(
                f"The model in {path} is incomplete: {', '.join(sorted(missing))} "
                f"{'is' if len(missing) == 1 else 'are'} missing. {REBUILD_HINT}"
            )
        return folder

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER_NAME

    def _variant(self, variant: str | None) -> dict[str, Any]:
        variant = variant or self.default_variant
        if variant not in self.variants:
            available = ", ".join(sorted(self.variants))
            raise ModelFolderError(
                f"The model in {self.path} has no '{variant}' variant (it has: {available})."
            )
        return self.variants[variant]

    def variant_path(self, variant: str | None = None) -> Path:
        return self.path / self._variant(variant)["file"]

    def weights_path(self, variant: str | None = None) -> Path | None:
        """The weights file beside a variant's graph (None: its weights are in the graph)."""
        data = self._variant(variant).get("data")
        return self.path / data if data else None

    def variant_files(self, variant: str | None = None) -> list[str]:
        """The files one variant is made of: its graph and the weights file beside it."""
        weights = self.weights_path(variant)
        return [self.variant_path(variant).name, *([weights.name] if weights else [])]

    def variant_bytes(self, variant: str | None = None) -> int:
        """A variant's size on disk: its graph and the weights file beside it."""
        return sum((self.path / name).stat().st_size for name in self.variant_files(variant))

    def verify(self, variant: str | None = None) -> None:
        """Check sha256 of the manifest-listed files (all, or those one variant needs)."""
        if variant is None:
            names = list(self.files)
        else:
            names = [TOKENIZER_NAME, *self.variant_files(variant)]
        for name in names:
            expected = self.files.get(name)
            if expected is None:
                raise ModelFolderError(
                    f"The model in {self.path} lists no checksum for {name}. {REBUILD_HINT}"
                )
            actual = sha256_file(self.path / name)
            if actual != expected:
                raise ModelFolderError(
                    f"The model file {name} in {self.path} is damaged (its checksum does not "
                    f"match). {REBUILD_HINT}"
                )


def find_models() -> list[ModelFolder]:
    """Every readable model folder in the search path, preferred first."""
    found = []
    for root in model_search_path():
        if not root.is_dir():
            continue
        for candidate in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
            if (candidate / MANIFEST_NAME).is_file():
                try:
                    found.append(ModelFolder.open(candidate))
                except ModelFolderError as error:
                    log.warning("Skipping model folder %s: %s", candidate, error)
    return found


def find_default_model() -> ModelFolder | None:
    """The model the app uses when the writer has not picked one: the one an installer
    bundled (the vendor's choice, see ``make dist-linux MODEL=DIR``), else the newest default
    build, else the newest build."""
    models = find_models()
    bundled_root = model_cache.bundled_models_dir().resolve()
    bundled = [m for m in models if m.path.resolve().parent == bundled_root]
    defaults = [m for m in models if m.manifest.get("source", {}).get("is_default")]
    candidates = bundled or defaults or models
    return candidates[0] if candidates else None
