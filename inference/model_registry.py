"""The writer's models: which built model folders there are, what each one is, how fast it
runs here, which one answers, and removing one.

Qt-free and TensorFlow-free: the Models dialog is a thin layer over this module. Which model
the writer chose is a setting the app keeps (``ai_model_dir``); it is passed in here, never
read from a file by this module. A model's measured speed is a machine fact, not a property
of the model, so it is stored beside the model folder (``<folder>.speed.json`` in the model
cache), never inside it: the folder's manifest and checksums stay exactly as built, and the
bundled model's read-only folder can be measured too."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from atomic_write import write_text
from inference import model_cache
from inference.model_cache import model_cache_root
from inference.model_folder import (
    MANIFEST_NAME,
    ModelFolder,
    ModelFolderError,
    find_default_model,
)

log = logging.getLogger(__name__)

SPEED_SUFFIX = ".speed.json"
SPEED_PROMPT = "The old lighthouse keeper climbed the stairs and looked out over the sea."
SPEED_TOKENS = 32
# The Python modules ``draftsmith-model build`` needs (the ``export`` extra).
MODEL_TOOLS = ("tensorflow", "tf2onnx", "gguf", "onnx")
# Names llama.cpp gives its files' quantization mixes, as they appear in file names.
_FILE_TYPE = re.compile(r"(?<![A-Za-z0-9])(I?Q\d_[A-Z0-9_]+|Q\d_\d|BF16|F16|F32)(?![A-Za-z0-9])")


class ModelRemovalError(Exception):
    """A model can't be removed (or not without asking first); the message says why."""


class ModelInUseError(ModelRemovalError):
    """The model answers in the editor right now: remove it only after the writer confirms."""


@dataclass(frozen=True)
class SpeedRecord:
    tokens_per_second: float
    device: str  # the device report's label, e.g. "CPU, 2 threads"
    measured_at: str


@dataclass(frozen=True)
class ModelEntry:
    """One built model, described for a list a writer reads."""

    folder: ModelFolder
    bundled: bool  # comes with the installed app (read-only)
    fallback: bool  # what the app loads when the writer has not chosen a model
    built_in: bool  # that fallback is Draftsmith's own: the bundled model or the default build
    size_bytes: int
    speed: SpeedRecord | None

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def architecture(self) -> str:
        return self.folder.architecture.type

    @property
    def context_length(self) -> int:
        return self.folder.context_length

    @property
    def variants(self) -> list[str]:
        return list(self.folder.variants)

    @property
    def quantization(self) -> str:
        """What the source GGUF stored its weights as (e.g. "Q4_K_M", or "Q5_0, Q4_K, Q6_K"
        for a mixed file whose mix has no name), or "" when the build did not record it."""
        source = self.folder.manifest.get("source") or {}
        named = _FILE_TYPE.search(str(source.get("file") or ""))
        if named:
            return named.group(1)
        types = source.get("tensor_types") or {}
        weights = sorted(
            ((int(n), t) for t, n in types.items() if t not in ("F32",)),
            reverse=True,
        )
        return ", ".join(t for _n, t in weights[:3]) if weights else ""

    @property
    def license(self) -> str:
        """The license the GGUF's metadata names (``general.license``), or ""."""
        metadata = (self.folder.manifest.get("source") or {}).get("metadata") or {}
        return str(metadata.get("license") or "")

    @property
    def removable(self) -> bool:
        return not (self.bundled or self.built_in)


def speed_file(folder: Path) -> Path:
    """Where a model's measured speed is kept: beside its folder in the model cache (a
    bundled model's own folder is read-only)."""
    return model_cache_root() / f"{folder.name}{SPEED_SUFFIX}"


def read_speed(folder: ModelFolder) -> SpeedRecord | None:
    """The speed measured for this exact build (a rebuilt model's old figure is ignored)."""
    path = speed_file(folder.path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("files") != folder.files:
            return None
        return SpeedRecord(
            float(data["tokens_per_second"]), str(data["device"]), str(data["measured_at"])
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.info("Ignoring an unreadable speed record %s: %s", path, error)
        return None


def record_speed(folder: ModelFolder, tokens_per_second: float, device: str) -> SpeedRecord:
    record = SpeedRecord(
        round(float(tokens_per_second), 1), device, time.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    data = {
        "tokens_per_second": record.tokens_per_second,
        "device": record.device,
        "measured_at": record.measured_at,
        "files": folder.files,  # which build was measured
    }
    write_text(speed_file(folder.path), json.dumps(data, indent=2) + "\n", make_parents=True)
    return record


def measure_speed(
    path: Path, device: str = "auto", threads: int | None = None, tokens: int = SPEED_TOKENS
) -> SpeedRecord:
    """Load the model at ``path`` on its own, write ``tokens`` tokens and keep the decode
    speed (tokens/s after the first) next to the model. Seconds for a small model; the
    caller runs it off the GUI thread. Raises the runtime's errors, in plain words."""
    from inference.runtime import LocalModel, RuntimeSettings, SamplingSettings

    # One token per run: drafted tokens would make the figure depend on how much the
    # speed prompt's greedy text repeats itself, which says nothing about the machine.
    settings = RuntimeSettings(device=device, threads=threads, lookup_drafts=False)
    model = LocalModel.load(path, settings)
    prompt = model.codec.encode(SPEED_PROMPT)
    output = model.generator.generate(
        prompt,
        max_new_tokens=tokens,
        min_new_tokens=tokens,
        sampling=SamplingSettings(temperature=0.0, repetition_penalty=1.0),
    )
    rate = output.stats.decode_tokens_per_second
    if rate <= 0:
        raise RuntimeError("The model wrote too few tokens to measure its speed.")
    return record_speed(model.folder, rate, model.device_report.label())


def model_tools_missing() -> str:
    """Why ``draftsmith-model build`` can't run from this app, in plain words ("" if it can)."""
    if model_cache.installed_app():
        return (
            "This installed copy of Draftsmith cannot build models: the model tools "
            "(TensorFlow) are not part of it. Build the model where Draftsmith's source is set "
            "up with its model tools (`pip install 'draftsmith[export]'`, then "
            "`draftsmith-model build FILE.gguf`) and copy the model folder into "
            f"{model_cache_root()}; it then appears in this list."
        )
    missing = [name for name in MODEL_TOOLS if importlib.util.find_spec(name) is None]
    if missing:
        return (
            f"Adding a model needs Draftsmith's model tools, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed. Install them with "
            "`pip install 'draftsmith[export]'` (from a source checkout: "
            "`.venv/bin/pip install -e '.[export]'`, about 1.5 GB with TensorFlow), then try again."
        )
    return ""


class ModelRegistry:
    """The built models in the model search path (and the chosen one, wherever it is)."""

    def __init__(self, chosen: Path | None = None) -> None:
        self.chosen = Path(chosen) if chosen else None

    def models(self) -> list[ModelEntry]:
        """Every readable model folder: the cache first (newest first), then the bundled ones;
        a chosen folder outside both is listed too. Unreadable folders are skipped."""
        bundled_root = _resolved(model_cache.bundled_models_dir())
        cache_root = model_cache_root()
        folders: list[Path] = []
        for root in (cache_root, model_cache.bundled_models_dir()):
            try:
                found = [c for c in root.iterdir() if (c / MANIFEST_NAME).is_file()]
            except OSError:
                continue  # no cache yet
            folders += sorted(found, key=_mtime, reverse=True)
        if self.chosen is not None and _resolved(self.chosen) not in map(_resolved, folders):
            folders.append(self.chosen)
        fallback = find_default_model()
        fallback_path = _resolved(fallback.path) if fallback else None
        entries = []
        for path in folders:
            try:
                folder = ModelFolder.open(path)
            except ModelFolderError as error:
                log.info("Not listing %s: %s", path, error)
                continue
            entries.append(
                ModelEntry(
                    folder=folder,
                    bundled=_resolved(path).parent == bundled_root,
                    fallback=_resolved(path) == fallback_path,
                    built_in=_resolved(path) == fallback_path
                    and (
                        _resolved(path).parent == bundled_root
                        or bool((folder.manifest.get("source") or {}).get("is_default"))
                    ),
                    size_bytes=_folder_size(path),
                    speed=read_speed(folder),
                )
            )
        return entries

    def find(self, path: Path) -> ModelEntry | None:
        wanted = _resolved(path)
        return next((e for e in self.models() if _resolved(e.path) == wanted), None)

    def default(self, models: list[ModelEntry] | None = None) -> ModelEntry | None:
        """The model that answers: the chosen one, else the built-in one (among ``models``,
        when the caller has just listed them)."""
        models = self.models() if models is None else models
        wanted = _resolved(self.chosen) if self.chosen else None
        for entry in models:
            if (wanted is not None and _resolved(entry.path) == wanted) or (
                wanted is None and entry.fallback
            ):
                return entry
        return None

    def setting_for(self, entry: ModelEntry) -> str:
        """The ``ai_model_dir`` value that makes ``entry`` the default ("" for the built-in
        model, so a reinstalled or rebuilt built-in model is still the one used)."""
        return "" if entry.built_in and entry.fallback else str(entry.path)

    def remove(self, entry: ModelEntry, *, in_use: Path | None, confirmed: bool = False) -> None:
        """Delete a model folder (and its speed record). Refuses the model that comes with
        Draftsmith; refuses the one answering now (``in_use``) unless ``confirmed``. The
        folder is renamed away first, so a half-deleted model is never listed or loaded."""
        if entry.bundled or entry.built_in:
            raise ModelRemovalError(
                f"“{entry.name}” is the model that comes with Draftsmith; it can't be "
                "removed (models you added can)."
            )
        if in_use is not None and _resolved(in_use) == _resolved(entry.path) and not confirmed:
            raise ModelInUseError(
                f"“{entry.name}” is answering in the editor now. Remove it anyway? "
                "The built-in model takes over."
            )
        path = entry.path
        doomed = path.with_name(f".removing-{path.name}-{os.getpid()}")
        try:
            path.rename(doomed)
        except OSError as error:
            raise ModelRemovalError(
                f"Could not remove the model in {path}: {error.strerror or error}."
            ) from error
        if doomed.is_symlink():  # a model linked into the cache: the link goes, not its target
            doomed.unlink()
        else:
            shutil.rmtree(doomed, ignore_errors=True)
        speed_file(path).unlink(missing_ok=True)
        log.info("Removed the model folder %s", path)


def built_path_from_output(output: str) -> Path | None:
    """The model folder ``draftsmith-model build`` reports ("Built DIR in N s" or
    "Already built: DIR"), from its printed output."""
    found = None
    for line in output.splitlines():
        match = re.match(r"^(?:Built (.+) in [\d.]+ s|Already built: (.+))$", line.strip())
        if match:
            found = Path(match.group(1) or match.group(2))
    return found


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _folder_size(path: Path) -> int:
    total = 0
    for item in path.iterdir():
        try:
            if item.is_file():
                total += item.stat().st_size
        except OSError:
            continue
    return total


def describe_size(size_bytes: int) -> str:
    if size_bytes >= 1e9:
        return f"{size_bytes / 1e9:.1f} GB"
    if size_bytes >= 1e6:
        return f"{size_bytes / 1e6:.0f} MB"
    return f"{size_bytes / 1e3:.0f} kB"
