"""The training loop: Adam on the adapters only, progress with time left, cancel, and a
checkpoint to resume from after a cancel or a crash.

Step ``s`` always trains on the same windows (a fixed shuffle per pass over the data), so a
resumed run continues exactly where the checkpoint left it. Memory is bounded by the batch
and context, not by the size of the library: only one batch of windows is on the model at a
time, and held-out perplexity is measured on at most ``MAX_HELD_OUT_WINDOWS`` windows."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import tensorflow as tf

from inference.export.keras_llama import LlamaDecoder
from inference.export.learn.adapters import Adapters, window_loss
from inference.export.learn.documents import Windows

log = logging.getLogger(__name__)

MAX_HELD_OUT_WINDOWS = 32
CHECKPOINT_SECONDS = 60.0
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


@dataclass(frozen=True)
class TrainingPlan:
    """Steps and sizes. Defaults: 40 steps of 4 windows of 128 tokens (20 k tokens, a few
    passes over a small library; more documents are sampled, not all seen). Measured on
    SmolLM2-135M: 30 steps of 4 x 64 tokens took 5.4 CPU-minutes with loading and checks
    (README), so the defaults take roughly twice that. Learning rate 1e-3 with 5 warm-up
    steps: the usual LoRA rate; the adapter starts at the base, so early steps are safe."""

    steps: int = 40
    batch: int = 4
    context: int = 128
    learning_rate: float = 1e-3
    warmup_steps: int = 5
    checkpoint_every: int = 10
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    phase: str  # "train", "evaluate"
    step: int
    steps: int
    loss: float | None
    seconds_left: float | None


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


class LearnCancelled(Exception):
    """Training stopped on request; the checkpoint at ``step`` resumes it."""

    def __init__(self, step: int) -> None:
        super().__init__(f"Cancelled at step {step}; the next run resumes from there.")
        self.step = step


ProgressCallback = Callable[[Progress], None]


def _no_progress(progress: Progress) -> None:
    pass


def batch_indices(step: int, batch: int, count: int, seed: int) -> np.ndarray:
    """The windows step ``step`` trains on: a fixed shuffle per pass over the data."""
    picks = []
    for slot in range(step * batch, step * batch + batch):
        epoch, index = divmod(slot, count)
        order = np.random.default_rng(seed * 100_003 + epoch).permutation(count)
        picks.append(order[index])
    return np.array(picks)


class Trainer:
    def __init__(
        self,
        model: LlamaDecoder,
        adapters: Adapters,
        train: Windows,
        plan: TrainingPlan,
        checkpoint_dir: Path,
    ) -> None:
        self.model = model
        self.adapters = adapters
        self.train = train
        self.plan = plan
        variables = adapters.variables
        self.moments = [
            (
                tf.Variable(tf.zeros_like(v), trainable=False),
                tf.Variable(tf.zeros_like(v), trainable=False),
            )
            for v in variables
        ]
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        objects = dict(adapters.checkpoint_objects())
        for index, (m, v) in enumerate(self.moments):
            objects[f"adam_m_{index}"], objects[f"adam_v_{index}"] = m, v
        self.checkpoint = tf.train.Checkpoint(step=self.step, **objects)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(checkpoint_dir), max_to_keep=1
        )
        self._train_step = tf.function(
            self._train_step_eager, autograph=False, reduce_retracing=True
        )

    # -- checkpoints -------------------------------------------------------------------
    def restore(self) -> int:
        """Resume from the latest checkpoint if there is one; returns the step reached."""
        latest = self.manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            log.info("Resumed adapter training at step %d", int(self.step.numpy()))
        return int(self.step.numpy())

    def save(self) -> None:
        self.manager.save(checkpoint_number=int(self.step.numpy()))

    # -- training ----------------------------------------------------------------------
    def _learning_rate(self, step: int) -> float:
        plan = self.plan
        if step < plan.warmup_steps:
            return plan.learning_rate * (step + 1) / plan.warmup_steps
        return plan.learning_rate

    def _train_step_eager(self, ids, weights, learning_rate, t):
        variables = self.adapters.variables
        with tf.GradientTape() as tape:
            total, count = window_loss(self.model, self.adapters, ids, weights)
            loss = total / tf.maximum(count, 1.0)
        grads = tape.gradient(loss, variables)
        correction = tf.sqrt(1.0 - BETA2**t) / (1.0 - BETA1**t)
        for variable, grad, (m, v) in zip(variables, grads, self.moments, strict=True):
            m.assign(BETA1 * m + (1.0 - BETA1) * grad)
            v.assign(BETA2 * v + (1.0 - BETA2) * tf.square(grad))
            variable.assign_sub(learning_rate * correction * m / (tf.sqrt(v) + EPSILON))
        return loss

    def run(
        self, progress: ProgressCallback = _no_progress, cancel: CancelToken | None = None
    ) -> float | None:
        """Train up to ``plan.steps`` from wherever the checkpoint left off; returns the last
        step's loss. Raises ``LearnCancelled`` (after saving) when ``cancel`` is set."""
        plan = self.plan
        start = self.restore()
        count = len(self.train)
        last_save = time.monotonic()
        durations: list[float] = []
        loss = None
        for step in range(start, plan.steps):
            if cancel is not None and cancel.is_set():
                self.save()
                raise LearnCancelled(step)
            began = time.monotonic()
            picks = batch_indices(step, plan.batch, count, plan.seed)
            loss = float(
                self._train_step(
                    tf.constant(self.train.ids[picks]),
                    tf.constant(self.train.weights[picks]),
                    tf.constant(self._learning_rate(step), tf.float32),
                    tf.constant(float(step + 1), tf.float32),
                )
            )
            if not math.isfinite(loss):
                raise FloatingPointError(f"training diverged at step {step + 1}")
            self.step.assign(step + 1)
            durations.append(time.monotonic() - began)
            # The first step also traces the graph: no estimate until a plain step is timed.
            left = None
            if len(durations) > 1:
                left = float(np.median(durations[1:][-5:])) * (plan.steps - step - 1)
            progress(Progress("train", step + 1, plan.steps, loss, left))
            finished = step + 1 == plan.steps
            due = (step + 1) % plan.checkpoint_every == 0
            if finished or due or time.monotonic() - last_save > CHECKPOINT_SECONDS:
                self.save()
                last_save = time.monotonic()
        return loss


def held_out_perplexity(
    model: LlamaDecoder,
    adapters: Adapters | None,
    held_out: Windows,
    batch: int,
    progress: Callable[[int, int], None] | None = None,
) -> float:
    """exp(mean next-token negative log-likelihood) over the held-out windows (evenly
    chosen ones, at most ``MAX_HELD_OUT_WINDOWS``)."""
    rows = np.arange(len(held_out))
    if len(rows) > MAX_HELD_OUT_WINDOWS:
        rows = np.linspace(0, len(rows) - 1, MAX_HELD_OUT_WINDOWS).round().astype(int)
    evaluate = tf.function(
        lambda ids, weights: window_loss(model, adapters, ids, weights), autograph=False
    )
    total = count = 0.0
    for first in range(0, len(rows), batch):
        picks = rows[first : first + batch]
        nll, n = evaluate(tf.constant(held_out.ids[picks]), tf.constant(held_out.weights[picks]))
        total += float(nll)
        count += float(n)
        if progress is not None:
            progress(min(first + batch, len(rows)), len(rows))
    return math.exp(total / max(count, 1.0))
