"""One onnxruntime session of a model folder's variant, and its forward step.

The step feeds only the inputs the graph declares (``position_ids`` may have been fused
away; pipeline 3's graphs take the tokens' embeddings, read by ``embedding_table.py``),
keeps the KV cache as ``OrtValue``s (on the GPU with IOBinding when the model runs there)
and returns the last position's logits as a numpy vector, or the last few positions'
(``forward_rows``) when the graph has a ``logit_rows`` input, to check drafted tokens."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from inference.embedding_table import EmbeddingTable, EmbeddingTableEntry, EmbeddingTableError
from inference.model_cache import model_remedy
from inference.model_folder import (
    EMBEDDINGS_INPUT,
    LOGIT_ROWS_INPUT,
    ModelFolder,
    ModelFolderError,
)
from inference.process_environment import release_free_heap, release_mapped_pages
from inference.runtime.device_report import DeviceReport
from inference.runtime.errors import ModelUnavailableError
from inference.runtime.kv_cache import KVCache
from inference.runtime.providers import CUDA, SessionSettings, choose_provider, create_session

log = logging.getLogger(__name__)

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


@dataclass(frozen=True)
class GraphSignature:
    """What the graph takes and returns, read from the session itself."""

    input_names: frozenset[str]
    past_names: tuple[str, ...]
    present_names: tuple[str, ...]
    kv_dtype: np.dtype
    num_layers: int

    @classmethod
    def of(cls, session: ort.InferenceSession) -> GraphSignature:
        inputs = {i.name: i for i in session.get_inputs()}
        outputs = {o.name for o in session.get_outputs()}
        layers = 0
        while f"past_key_values.{layers}.key" in inputs:
            layers += 1
        past = tuple(
            f"past_key_values.{i}.{kind}" for i in range(layers) for kind in ("key", "value")
        )
        present = tuple(f"present.{i}.{kind}" for i in range(layers) for kind in ("key", "value"))
        tokens = EMBEDDINGS_INPUT if EMBEDDINGS_INPUT in inputs else "input_ids"
        missing = [n for n in (tokens, *past) if n not in inputs]
        missing += [n for n in ("logits", *present) if n not in outputs]
        if layers == 0 or missing:
            raise ModelUnavailableError(
                "The model file does not have the inputs and outputs Draftsmith expects "
                f"(missing: {', '.join(missing) or 'past_key_values'}). {model_remedy()}"
            )
        kv_type = inputs["past_key_values.0.key"].type
        if kv_type not in _ORT_TYPES:
            raise ModelUnavailableError(f"The model's cache type {kv_type} is not supported.")
        return cls(frozenset(inputs), past, present, np.dtype(_ORT_TYPES[kv_type]), layers)


def _open_embedding_table(folder: ModelFolder, variant: str) -> EmbeddingTable:
    try:
        entry = EmbeddingTableEntry.from_json(folder.variants[variant].get("embedding") or {})
        return EmbeddingTable(folder.path, entry)
    except (EmbeddingTableError, OSError) as error:
        raise ModelUnavailableError(
            f"The model in {folder.path} cannot be used: {error}. {model_remedy()}"
        ) from error


class ModelSession:
    """A loaded variant: ``forward(ids, cache)`` runs one prefill chunk or decode step."""

    def __init__(
        self,
        folder: ModelFolder,
        session: ort.InferenceSession,
        report: DeviceReport,
        variant: str,
        *,
        io_binding: bool | None = None,
        kv_capacity: int | None = None,
        shared_kv: bool | None = None,
    ) -> None:
        """``kv_capacity``: positions to preallocate for the shared-buffer cache layout, used
        when the graph supports it (``shared_kv=None`` checks that by running it)."""
        self.folder = folder
        self.session = session
        self.report = report
        self.variant = variant
        self.signature = GraphSignature.of(session)
        arch = folder.architecture
        self.num_kv_heads = arch.num_kv_heads
        self.head_dim = arch.head_dim
        self.vocab_size = arch.vocab_size
        self.context_length = folder.context_length
        self._on_gpu = report.provider == CUDA
        self._device = "cuda" if self._on_gpu else "cpu"
        # Preallocated step inputs: attention mask and positions are views of these.
        self._mask = np.ones((1, self.context_length), dtype=np.int64)
        self._positions = np.arange(self.context_length, dtype=np.int64)[None, :]
        self._output_names = ["logits", *self.signature.present_names]
        self._has_mask = "attention_mask" in self.signature.input_names
        self._has_positions = "position_ids" in self.signature.input_names
        # Graphs built before the input existed give the last position's logits only.
        self.multi_row_logits = LOGIT_ROWS_INPUT in self.signature.input_names
        # Pipeline 3's graphs take embeddings, read from the weights file (embedding_table.py).
        self.embedding_table: EmbeddingTable | None = None
        if EMBEDDINGS_INPUT in self.signature.input_names:
            self.embedding_table = _open_embedding_table(folder, variant)
        self._row_counts: dict[int, np.ndarray] = {}
        # IOBinding keeps the cache on the GPU; on the CPU plain OrtValues avoid its overhead
        # (``io_binding=True`` forces it there, which is how the tests exercise this path).
        use_binding = self._on_gpu if io_binding is None else io_binding
        self._binding = session.io_binding() if use_binding else None
        self._shared_binding: ort.IOBinding | None = None
        # The shared-buffer path's logits: one buffer, bound as a view of its first rows.
        self._logits_out = np.zeros((1, 1, self.vocab_size), dtype=np.float32)
        self._logits_views: dict[int, ort.OrtValue] = {}
        self._bound_cache: KVCache | None = None
        self._bound_rows = 0
        self.kv_capacity: int | None = None
        if kv_capacity is not None and shared_kv is not False:
            capacity = max(2, min(kv_capacity, folder.context_length))
            if shared_kv or self._shared_buffers_work():
                self.kv_capacity = capacity
                self.context_length = capacity
        log.info(
            "KV cache: %s",
            f"shared buffers of {self.kv_capacity} positions"
            if self.kv_capacity
            else "growing tensors",
        )

    @classmethod
    def load(
        cls,
        folder: ModelFolder,
        settings: SessionSettings,
        variant: str | None = None,
        *,
        verify: bool = True,
        io_binding: bool | None = None,
        kv_capacity: int | None = None,
        shared_kv: bool | None = None,
    ) -> ModelSession:
        """Choose the device and create the session (the default variant unless told)."""
        report = choose_provider(settings)
        variant = variant or folder.default_variant  # the 4-bit one, on CPU and GPU alike
        try:
            path = folder.variant_path(variant)
            if verify:
                folder.verify(variant)
        except ModelFolderError as error:
            raise ModelUnavailableError(str(error)) from error
        started = time.perf_counter()
        try:
            session, used = create_session(path, settings, providers=[report.provider])
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelUnavailableError(
                f"The model file {path.name} could not be loaded ({error}). {model_remedy()}"
            ) from error
        if used != report.provider:
            log.warning("%s started for the probe but not for the model", report.provider)
            report = choose_provider(
                SessionSettings(
                    device="cpu",
                    threads=settings.threads,
                    allow_spinning=settings.allow_spinning,
                    spin_duration_us=settings.spin_duration_us,
                    optimization=settings.optimization,
                )
            )
        release_free_heap()  # what loading freed in small blocks (tokenizer, graph parse)
        log.info(
            "loaded %s (%s) on %s in %.1f s",
            folder.name,
            variant,
            report.label(),
            time.perf_counter() - started,
        )
        loaded = cls(
            folder,
            session,
            report,
            variant,
            io_binding=io_binding,
            kv_capacity=kv_capacity,
            shared_kv=shared_kv,
        )
        weights = folder.weights_path(variant)
        if weights:  # after the constructor's check run: what is read again comes back
            release_mapped_pages(weights)
        return loaded

    def new_cache(self, *, capacity: int | None = None, growing: bool = False) -> KVCache:
        """A cache in the session's layout, or a growing one (``growing``) that holds only
        the positions it has, for small side caches such as a task's prompt prefix."""
        return KVCache(
            self.signature.num_layers,
            self.num_kv_heads,
            self.head_dim,
            self.signature.kv_dtype,
            device=self._device,
            capacity=None if growing else capacity or self.kv_capacity,
        )

    def _shared_buffers_work(self) -> bool:
        """Whether the graph writes into a bound past buffer in place (GroupQueryAttention
        does; a Concat-based graph cannot), checked by running both layouts on 2 + 2 tokens
        (a prompt, then a chunk after it, as prompt-cache reuse does)."""
        ids = np.array([[1, 2, 3, 4]], dtype=np.int64) % max(self.vocab_size, 5)
        try:
            growing = KVCache(
                self.signature.num_layers,
                self.num_kv_heads,
                self.head_dim,
                self.signature.kv_dtype,
                device=self._device,
            )
            shared = self.new_cache(capacity=8)
            self.forward(ids[:, :2], growing)
            self.forward(ids[:, :2], shared)
            expected = self.forward(ids[:, 2:], growing)
            got = self.forward(ids[:, 2:], shared)
        except Exception as error:  # onnxruntime rejects the layout: use the growing one
            log.debug("shared KV buffers not usable: %s", error)
            return False
        finally:
            self._bound_cache = None
        return bool(np.allclose(expected, got, atol=1e-3, rtol=1e-3))

    def forward(self, token_ids: np.ndarray, cache: KVCache) -> np.ndarray:
        """Run ``token_ids`` (int64, shape [1, n]) after the cache; returns last logits."""
        return self.forward_rows(token_ids, cache, 1)[-1]

    def forward_rows(self, token_ids: np.ndarray, cache: KVCache, rows: int) -> np.ndarray:
        """Like ``forward``, returning the logits after each of the last ``rows`` tokens
        ([rows, vocab]; more than one needs ``multi_row_logits``)."""
        past = cache.length
        count = token_ids.shape[1]
        total = past + count
        rows = max(1, min(rows, count))
        feeds: dict[str, np.ndarray]
        if self.embedding_table is not None:
            feeds = {EMBEDDINGS_INPUT: self.embedding_table.lookup(token_ids)}
        else:
            feeds = {"input_ids": token_ids}
        if self._has_mask:
            feeds["attention_mask"] = self._mask[:, :total]
        if self._has_positions:
            feeds["position_ids"] = self._positions[:, past:total]
        if self.multi_row_logits:
            feeds[LOGIT_ROWS_INPUT] = self._row_count(rows)
        elif rows > 1:
            raise ValueError("this model's graph gives the last position's logits only")
        if cache.shared:
            logits = self._forward_shared(feeds, cache, rows)
            presents = cache.values
        elif self._binding is not None:
            logits, presents = self._forward_bound(feeds, cache)
        else:
            ort_feeds = {name: ort.OrtValue.ortvalue_from_numpy(v) for name, v in feeds.items()}
            ort_feeds.update(zip(self.signature.past_names, cache.values, strict=True))
            outputs = self.session.run_with_ort_values(self._output_names, ort_feeds)
            logits = np.array(outputs[0].numpy())  # own copy: the OrtValue goes away
            presents = outputs[1:]
        cache.replace(presents, token_ids[0].tolist())
        return logits.reshape(-1, self.vocab_size)[-rows:]

    def _row_count(self, rows: int) -> np.ndarray:
        value = self._row_counts.get(rows)
        if value is None:
            value = self._row_counts[rows] = np.array([rows], dtype=np.int64)
        return value

    def _forward_shared(
        self, feeds: dict[str, np.ndarray], cache: KVCache, rows: int
    ) -> np.ndarray:
        """Shared-buffer layout: the cache buffers stay bound as both past and present."""
        binding = self._shared_binding
        if binding is None:
            binding = self._shared_binding = self.session.io_binding()
        if self._bound_cache is not cache:
            binding.clear_binding_inputs()
            binding.clear_binding_outputs()
            for name, value in zip(self.signature.past_names, cache.values, strict=True):
                binding.bind_ortvalue_input(name, value)
            for name, value in zip(self.signature.present_names, cache.values, strict=True):
                binding.bind_ortvalue_output(name, value)
            self._bound_cache = cache
            self._bound_rows = 0
        if self._bound_rows != rows:
            binding.bind_ortvalue_output("logits", self._logits_view(rows))
            self._bound_rows = rows
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        self.session.run_with_iobinding(binding)
        return self._logits_out[:, :rows].copy()  # onnxruntime wrote it in place

    def _logits_view(self, rows: int) -> ort.OrtValue:
        view = self._logits_views.get(rows)
        if view is None:
            if rows > self._logits_out.shape[1]:  # grown once to the widest draft check
                self._logits_out = np.zeros((1, rows, self.vocab_size), dtype=np.float32)
                self._logits_views.clear()
            # A CPU OrtValue made from an array uses the array's memory.
            view = ort.OrtValue.ortvalue_from_numpy(self._logits_out[:, :rows])
            self._logits_views[rows] = view
        return view

    def _forward_bound(
        self, feeds: dict[str, np.ndarray], cache: KVCache
    ) -> tuple[np.ndarray, list[ort.OrtValue]]:
        """GPU path: inputs copied up once, KV cache and presents stay on the device."""
        binding = self._binding
        assert binding is not None
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        for name, value in zip(self.signature.past_names, cache.values, strict=True):
            binding.bind_ortvalue_input(name, value)
        binding.bind_output("logits", "cpu")
        for name in self.signature.present_names:
            binding.bind_output(name, self._device, 0)
        self.session.run_with_iobinding(binding)
        outputs = binding.get_outputs()
        return np.array(outputs[0].numpy()), list(outputs[1:])
