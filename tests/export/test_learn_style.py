"""Learn my style on the tiny model: documents split by document, held-out perplexity that
drops on a learnable corpus, the exported side branches against TensorFlow, cancel and
resume, the verdict that withholds an adapter that does not help, and where things live."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import numpy as np
import pytest

from inference.export import cli
from inference.export.checks import PARITY_TOLERANCE, OnnxDecoder
from inference.export.learn.documents import (
    Document,
    DocumentsError,
    find_documents,
    pack,
    split_documents,
)
from inference.model_folder import MANIFEST_NAME, ModelFolder, find_models

ADJECTIVES = ("quiet", "red", "old", "small", "brave", "cold")
NOUNS = ("fox", "boat", "house", "river", "lamp", "girl")
VERBS = ("sees", "finds", "paints", "keeps", "hears", "loves")
FAST = {"context": 32, "batch": 4, "learning_rate": 0.01}


def write_pattern_corpus(folder: Path, documents: int = 6, seed: int = 3) -> list[str]:
    """Documents of one strong, learnable pattern ("the ADJ NOUN VERB the ADJ NOUN.") that
    a random model predicts terribly and an adapted one well, without exact repeats."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    texts = []
    for index in range(documents):
        text = " ".join(
            f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(VERBS)} "
            f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}."
            for _ in range(30)  # 210 words: five learned from clear the 1,000-word minimum
        )
        (folder / f"chapter-{index}.md").write_text(text, encoding="utf-8")
        texts.append(text)
    return texts


@pytest.fixture(scope="module")
def learned(tiny_gguf: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """One learn_style run on the pattern corpus (shared by the tests that read its result)."""
    from inference.export.learn.style_learning import learn_style
    from inference.export.learn.training import TrainingPlan

    root = tmp_path_factory.mktemp("learned")
    texts = write_pattern_corpus(root / "library")
    result = learn_style(
        root / "library",
        base=ModelFolder.open(tiny_model_dir),
        gguf=tiny_gguf,
        plan=TrainingPlan(steps=30, **FAST),
        work_root=root / "data" / "learn",
        cache_root=root / "models",
    )
    return root, texts, result


# -- documents ---------------------------------------------------------------------------
def test_documents_are_found_and_split_by_whole_document(tmp_path: Path) -> None:
    library = tmp_path / "library"
    for name in ("a.md", "b.txt", "notes/c.md", "d.md", "e.md"):
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        (library / name).write_text(f"Text of {name}. " * 100, encoding="utf-8")  # 300 words
    (library / ".draftsmith" / "snapshots").mkdir(parents=True)
    (library / ".draftsmith" / "snapshots" / "old.md").write_text("snapshot", encoding="utf-8")
    (library / ".trash").mkdir()
    (library / ".trash" / "gone.md").write_text("deleted", encoding="utf-8")
    (library / "picture.png").write_bytes(b"\x89PNG")
    (library / "empty.md").write_text("  \n", encoding="utf-8")
    (library / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))  # unreadable as UTF-8

    found = find_documents(library)
    assert sorted(d.path.as_posix() for d in found) == [
        "a.md",
        "b.txt",
        "d.md",
        "e.md",
        "notes/c.md",
    ]
    left_out = find_documents(library, exclude=[Path("a.md"), Path("notes/c.md")])
    assert sorted(d.path.as_posix() for d in left_out) == ["b.txt", "d.md", "e.md"]
    split = split_documents(found)
    assert len(split.held_out) == 1 and len(split.train) == 4
    assert {d.path for d in split.train}.isdisjoint({d.path for d in split.held_out})
    assert split_documents(list(reversed(found))) == split  # the same split every run


def test_too_few_documents_is_said_in_plain_words(tmp_path: Path) -> None:
    with pytest.raises(DocumentsError, match="at least 2 documents"):
        split_documents([Document(Path("only.md"), "one")])
    with pytest.raises(DocumentsError, match="needs more of your writing"):
        split_documents([Document(Path(f"{i}.md"), "word " * 240) for i in range(5)])
    assert len(split_documents([Document(Path(f"{i}.md"), "word " * 250) for i in range(5)]).train)
    with pytest.raises(DocumentsError, match="does not exist"):
        find_documents(tmp_path / "missing")


def test_packing_joins_documents_and_does_not_count_padding() -> None:
    windows = pack([[5, 6, 7], [8, 9]], length=4, separator=0)
    # stream: 5 6 7 0 8 9 0 -> targets 6 7 0 8 | 9 0
    assert windows.ids.tolist() == [[5, 6, 7, 0, 8], [8, 9, 0, 0, 0]]
    assert windows.weights.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert windows.tokens == 6


# -- learning, the verdict and the export ---------------------------------------------------
def test_learning_a_pattern_lowers_held_out_perplexity_and_is_offered(learned) -> None:
    _root, _texts, result = learned
    assert result.documents_train == 5 and result.documents_held_out == 1
    assert result.perplexity_adapted < 0.01 * result.perplexity_base
    assert result.offered and result.model_path
    assert result.sentence == (
        f"Suggestions now predict your held-out documents {round(100 * result.improvement)} "
        "% better."
    )
    # The exported 4-bit model confirms it on held-out text, and its continuations pass the
    # writing-quality continue check no less often than the base's.
    exported = result.exported
    assert exported["perplexity_adapted"] < 0.01 * exported["perplexity_base"]
    assert exported["continue_failures_adapted"] <= exported["continue_failures_base"]


def test_adapted_model_is_a_normal_model_folder_that_records_counts_not_text(
    learned, tiny_model_dir: Path
) -> None:
    _root, texts, result = learned
    folder = ModelFolder.open(result.model_path)
    folder.verify()
    base = ModelFolder.open(tiny_model_dir)
    adapter = folder.manifest["adapter"]
    assert adapter["base"]["files"] == base.files  # the base's checksums
    assert adapter["base"]["source_sha256"] == base.manifest["source"]["sha256"]
    assert adapter["documents"] == {"train": 5, "held_out": 1}
    assert adapter["held_out"]["perplexity_adapted"] == pytest.approx(result.perplexity_adapted)
    assert folder.manifest["source"]["is_default"] is False
    assert set(folder.variants) == {base.default_variant}
    everything = (Path(result.model_path) / MANIFEST_NAME).read_text("utf-8")
    for text in texts:
        for sentence in text.split(". ")[:5]:
            assert sentence not in everything
    assert "chapter-" not in everything  # not even document names
    # The base's 4-bit blocks are untouched: every base initializer is in the adapted graph.
    import onnx

    base_graph = onnx.load(str(base.variant_path()))
    adapted_graph = onnx.load(str(folder.variant_path()))
    adapted_inits = {i.name: i.raw_data for i in adapted_graph.graph.initializer}
    for init in base_graph.graph.initializer:
        assert adapted_inits[init.name] == init.raw_data
    assert len(adapted_graph.graph.node) == len(base_graph.graph.node) + 3 * 4 * 2


def test_learning_writes_only_into_the_data_folder_and_the_model_cache(learned) -> None:
    root, _texts, _result = learned
    library_files = sorted(p.name for p in (root / "library").rglob("*"))
    assert library_files == [f"chapter-{i}.md" for i in range(6)]  # nothing added to sync
    run_dirs = list((root / "data" / "learn").iterdir())
    assert len(run_dirs) == 1
    kept = sorted(p.name for p in run_dirs[0].iterdir())
    assert kept == ["adapter.npz", "checkpoints", "result.json"]
    recorded = json.loads((run_dirs[0] / "result.json").read_text("utf-8"))
    assert recorded["documents_train"] == 5 and "text" not in json.dumps(recorded).lower()


def test_exported_side_branches_match_tensorflow_adapted_logits(
    learned, tiny_gguf: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Bound: the float graph within the build's own parity tolerance (1e-3) of TensorFlow's
    adapted logits at every position; the 4-bit graph picks TensorFlow's top token at >= 90 %
    of positions (its int8 activations are the only difference, as for the base)."""
    import tensorflow as tf

    from inference.export.gguf_source import GGUFSource
    from inference.export.learn.adapted_export import write_adapted_variant
    from inference.export.learn.adapters import (
        AdapterConfig,
        Adapters,
        load_frozen_base,
        sequence_logits,
    )

    root, texts, result = learned
    run_dir = next((root / "data" / "learn").iterdir())
    stored = np.load(run_dir / "adapter.npz")
    arrays = {
        key[: -len(".a")]: (stored[key], stored[key[:-1] + "b"])
        for key in stored.files
        if key.endswith(".a")
    }
    source = GGUFSource(tiny_gguf)
    model = load_frozen_base(source)
    adapters = Adapters.create(source.architecture, AdapterConfig())
    for name, (a, b) in adapters.pairs.items():
        a.assign(arrays[name][0])
        b.assign(arrays[name][1] / adapters.config.scale)
    from tokenizers import Tokenizer

    base = ModelFolder.open(tiny_model_dir)
    ids = Tokenizer.from_file(str(base.tokenizer_path)).encode(texts[0][:160]).ids[:40]
    reference = sequence_logits(model, adapters, tf.constant([ids]))[0].numpy()
    unadapted = sequence_logits(model, None, tf.constant([ids]))[0].numpy()
    assert np.abs(reference - unadapted).max() > 1.0  # the adapter does change the model

    write_adapted_variant(
        base.variant_path("fp32"), arrays, base.architecture, tmp_path / "adapted.fp32.onnx"
    )
    float_rows = OnnxDecoder(tmp_path / "adapted.fp32.onnx", base.architecture)
    assert np.abs(float_rows.logits_at_every_position(ids) - reference).max() < PARITY_TOLERANCE
    quantized = OnnxDecoder(ModelFolder.open(result.model_path).variant_path(), base.architecture)
    rows = quantized.logits_at_every_position(ids)
    assert (rows.argmax(-1) == reference.argmax(-1)).mean() >= 0.9


def test_cancel_keeps_a_checkpoint_and_resume_continues_from_its_step(
    tiny_gguf: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from tokenizers import Tokenizer

    from inference.export.gguf_source import GGUFSource
    from inference.export.learn.adapters import AdapterConfig, Adapters, load_frozen_base
    from inference.export.learn.documents import tokenize_split
    from inference.export.learn.training import LearnCancelled, Trainer, TrainingPlan

    write_pattern_corpus(tmp_path / "library")
    base = ModelFolder.open(tiny_model_dir)
    split = split_documents(find_documents(tmp_path / "library"))
    tokenizer = Tokenizer.from_file(str(base.tokenizer_path))
    train, _ = tokenize_split(split, tokenizer, 32, 0)
    source = GGUFSource(tiny_gguf)
    model = load_frozen_base(source)
    plan = TrainingPlan(steps=6, checkpoint_every=100, **FAST)

    def trainer(folder: str) -> Trainer:
        adapters = Adapters.create(source.architecture, AdapterConfig())
        return Trainer(model, adapters, train, plan, tmp_path / folder)

    cancel = threading.Event()
    seen: list[int] = []
    left: list[float | None] = []

    def progress(report) -> None:
        seen.append(report.step)
        left.append(report.seconds_left)
        if report.step == 3:
            cancel.set()

    with pytest.raises(LearnCancelled) as cancelled:
        trainer("interrupted").run(progress, cancel)
    assert cancelled.value.step == 3 and seen == [1, 2, 3]
    # No guess while the first step (which also compiles) is the only one timed.
    assert left[0] is None and left[1] is not None and left[1] > left[2] >= 0

    seen.clear()
    left.clear()
    resumed = trainer("interrupted")  # a new process: fresh adapters, same checkpoint folder
    assert resumed.restore() == 3
    resumed.run(progress)
    assert seen == [4, 5, 6] and left[-1] == 0

    straight = trainer("straight")
    straight.run()
    for name, (a, b) in straight.adapters.pairs.items():
        got_a, got_b = resumed.adapters.pairs[name]
        np.testing.assert_allclose(got_a.numpy(), a.numpy(), atol=1e-5)
        np.testing.assert_allclose(got_b.numpy(), b.numpy(), atol=1e-5)


def test_an_adapter_that_does_not_help_is_not_offered(
    tiny_gguf: Path, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    write_pattern_corpus(tmp_path / "library")
    cache = tmp_path / "models"
    code = cli.main(
        [
            "learn",
            str(tmp_path / "library"),
            "--model",
            str(tiny_model_dir),
            "--gguf",
            str(tiny_gguf),
            "--steps",
            "2",
            "--context",
            "32",
            "--learning-rate",
            "0",  # nothing is learned: the adapted model is the base
            "--cache-dir",
            str(cache),
            "--json",
        ]
    )
    assert code == 4
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    result = events[-1]
    assert result["event"] == "result" and result["offered"] is False
    assert result["perplexity_adapted"] == pytest.approx(result["perplexity_base"], rel=1e-4)
    assert result["sentence"].endswith("so the adapted model is not offered.")
    assert [e["step"] for e in events if e.get("phase") == "train"] == [1, 2]
    assert not cache.exists() or not [p for p in cache.iterdir() if not p.name.startswith(".")]


def test_learn_refuses_unusable_input_with_exit_status_2(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "only.md").write_text("A single chapter.", encoding="utf-8")
    code = cli.main(["learn", str(tmp_path / "one"), "--model", str(tiny_model_dir)])
    assert code == 2
    assert "at least 2 documents" in capsys.readouterr().err
    # A new library (the welcome page and a first paragraph): said before TensorFlow starts.
    for name, words in (("welcome.md", 90), ("first.md", 48), ("notes.md", 30)):
        (tmp_path / "short" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "short" / name).write_text("word " * words, encoding="utf-8")
    code = cli.main(["learn", str(tmp_path / "short"), "--model", str(tiny_model_dir)])
    said = capsys.readouterr()
    assert code == 2
    assert "at least 1,000 words to learn from" in said.err
    assert "The 3 documents found hold 168 words." in said.err
    assert "TensorFlow" not in said.out + said.err
    args = ["learn", str(tmp_path / "short"), "--exclude", "welcome.md", "--exclude", "notes.md"]
    assert cli.main([*args, "--model", str(tiny_model_dir)]) == 2
    assert "found 1." in capsys.readouterr().err  # what is not the writer's is left out
    assert cli.main(["learn", str(tmp_path), "--model", str(tmp_path / "nowhere")]) == 2
    assert cli.main(["learn", str(tmp_path), "--targets", "q_proj,wings"]) == 2


def test_info_describes_the_adapted_model(learned, capsys: pytest.CaptureFixture) -> None:
    _root, _texts, result = learned
    assert cli.main(["info", result.model_path]) == 0
    out = capsys.readouterr().out
    assert "· your style" in out
    assert "your style: learned from 5 documents (1 held out), held-out perplexity" in out


def test_adapted_model_is_listed_beside_its_base(learned, monkeypatch: pytest.MonkeyPatch) -> None:
    root, _texts, result = learned
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(root / "models"))
    names = [m.name for m in find_models()]
    assert names == [ModelFolder.open(result.model_path).name]
    assert names[0].endswith("· your style")


def test_adapters_on_some_parts_of_a_packed_projection_export_exactly(
    tiny_gguf: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """q and v adapted, k not: the packed q/k/v branch leaves k's columns alone."""
    import tensorflow as tf
    from tokenizers import Tokenizer

    from inference.export.gguf_source import GGUFSource
    from inference.export.learn.adapted_export import write_adapted_variant
    from inference.export.learn.adapters import (
        AdapterConfig,
        Adapters,
        load_frozen_base,
        sequence_logits,
    )

    base = ModelFolder.open(tiny_model_dir)
    source = GGUFSource(tiny_gguf)
    model = load_frozen_base(source)
    adapters = Adapters.create(source.architecture, AdapterConfig(targets=("q_proj", "v_proj")))
    rng = np.random.default_rng(1)
    for _a, b in adapters.pairs.values():
        b.assign(rng.normal(0, 0.2, b.shape).astype(np.float32))
    ids = Tokenizer.from_file(str(base.tokenizer_path)).encode("the quiet fox sees the lamp").ids
    reference = sequence_logits(model, adapters, tf.constant([ids]))[0].numpy()
    assert np.abs(reference - sequence_logits(model, None, tf.constant([ids]))[0]).max() > 0.1
    target = tmp_path / "adapted.fp32.onnx"
    assert (
        write_adapted_variant(
            base.variant_path("fp32"), adapters.arrays(), base.architecture, target
        )
        == base.architecture.num_layers
    )  # one packed q/k/v branch a layer, nothing else
    rows = OnnxDecoder(target, base.architecture).logits_at_every_position(ids)
    assert np.abs(rows - reference).max() < PARITY_TOLERANCE


def test_the_verdict_reads_plainly() -> None:
    from inference.export.learn.style_learning import result_sentence

    assert result_sentence(0.23, True) == (
        "Suggestions now predict your held-out documents 23 % better."
    )
    for small in (0.004, 0.0, -0.2):
        assert result_sentence(small, False) == (
            "Suggestions do not predict your held-out documents any better, so the adapted "
            "model is not offered."
        )
    assert result_sentence(0.3, False, "the exported 4-bit model does not confirm it") == (
        "Suggestions predict your held-out documents 30 % better, but the exported 4-bit "
        "model does not confirm it, so the adapted model is not offered."
    )


def test_a_killed_learn_process_resumes_from_its_last_checkpoint(
    tiny_gguf: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A crash (SIGKILL: no chance to save) loses at most the steps since the periodic
    checkpoint (every 10 steps); the same command then continues from there."""
    import os
    import subprocess
    import sys

    write_pattern_corpus(tmp_path / "library")
    command = [
        sys.executable,
        "-m",
        "inference.export.cli",
        "learn",
        str(tmp_path / "library"),
        *("--model", str(tiny_model_dir), "--gguf", str(tiny_gguf), "--steps", "14"),
        *("--context", "32", "--learning-rate", "0.01", "--threads", "1", "--json"),
        *("--work-dir", str(tmp_path / "work"), "--cache-dir", str(tmp_path / "models")),
    ]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            event = json.loads(line)
            if event.get("phase") == "train" and event["step"] == 11:
                process.kill()  # step 10's checkpoint is on disk; 11 is not
                break
    finally:
        process.kill()
        process.wait(60)
    assert process.returncode == -9

    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["step"] for e in events if e.get("phase") == "train"] == [11, 12, 13, 14]
    assert events[-1]["event"] == "result" and events[-1]["resumed_from"] == 10
