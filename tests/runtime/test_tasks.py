"""Writing tasks end to end on the tiny model, and every kind of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inference.runtime import (
    GenerationRequest,
    InvalidRequestError,
    LocalModel,
    ModelUnavailableError,
    RuntimeSettings,
    SamplingSettings,
    Task,
)
from inference.runtime.prompts import CHAT_STOP_STRINGS
from inference.runtime.tasks import MAX_NEW_TOKENS_LIMIT, MAX_TEXT_CHARS

TEXT = "The harbour was quiet. Gulls circled the masts while the tide went out."
# Tiny test models have a 256-token context and a vocabulary of mostly single bytes.
SHORT = "Gulls circled."
MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|", "|>")


@pytest.mark.parametrize("task", [t for t in Task if t is not Task.CONTINUE])
def test_each_instruction_task_gives_marker_free_text(tiny_model: LocalModel, task: Task) -> None:
    request = GenerationRequest(
        task,
        before=SHORT,
        selection=SHORT,
        tone="formal",
        max_new_tokens=24,
        sampling=SamplingSettings(temperature=0.8, seed=4),
    )
    plan = tiny_model.plan(request)
    prompt = tiny_model.codec.decode(plan.token_ids)
    assert SHORT in prompt  # the text is in the prompt, uncut
    result = tiny_model.run(request)
    assert result.text.strip()
    assert not any(marker in result.text for marker in MARKERS)


def test_instruction_prompts_are_worked_example_patterns(tiny_model: LocalModel) -> None:
    plan = tiny_model.plan(GenerationRequest("shorten", selection=SHORT, notes="Narrator: Ann"))
    text = tiny_model.codec.tokenizer.decode(plan.token_ids)
    assert text.endswith(f"Notes: Narrator: Ann\nLong: {SHORT}\nShort:")
    assert "<|im_start|>" not in text
    assert "\n" in plan.stop_strings  # the answer is the rest of the "Short:" line
    assert set(CHAT_STOP_STRINGS) <= set(plan.stop_strings)


def test_continue_is_a_raw_continuation_with_notes_first(tiny_model: LocalModel) -> None:
    plan = tiny_model.plan(
        GenerationRequest("continue", before="Gulls circled the", after=" masts.", notes="Ann")
    )
    text = tiny_model.codec.tokenizer.decode(plan.token_ids)
    assert text == "[Notes: Ann]\n\nGulls circled the"
    assert "<|im_start|>" not in text


def test_continue_at_the_end_of_a_paragraph_starts_the_next_one(tiny_model: LocalModel) -> None:
    for before, after in ((TEXT + "  ", ""), (TEXT, "\n\nNext paragraph.")):
        plan = tiny_model.plan(GenerationRequest("continue", before=before, after=after))
        assert tiny_model.codec.tokenizer.decode(plan.token_ids).endswith(TEXT + "\n\n")
        assert plan.answer_prefix == "\n\n"
    middle = tiny_model.plan(GenerationRequest("continue", before=TEXT, after=" More text."))
    assert middle.answer_prefix == ""


def test_a_continuation_is_one_paragraph(tiny_model: LocalModel) -> None:
    """A suggestion is the rest of this paragraph or the next one, never lines after it (a
    small model's "Name:\n12:30 AM\n…" chat logs): a line break after text ends it, while
    the break it may begin with (the model starting the next paragraph) does not."""
    from inference.runtime.stop_strings import StopStringFilter

    plan = tiny_model.plan(GenerationRequest("continue", before=TEXT))
    shown = StopStringFilter(plan.stop_strings, plan.keep_stop_strings, after_text=True)
    pieces = ["\n", "\nSr.", " Maria,", "\n12", ":30 AM"]
    assert "".join(shown.feed(piece) for piece in pieces) == "\n\nSr. Maria,"
    assert shown.stopped


def test_continue_output_has_the_right_leading_space(tiny_model: LocalModel) -> None:
    for before in (TEXT + " ", TEXT + "\n\n"):
        result = tiny_model.run(
            GenerationRequest(
                "continue",
                before=before,
                max_new_tokens=8,
                sampling=SamplingSettings(temperature=0.9, seed=2),
            )
        )
        assert not result.text.startswith((" ", "\t"))


def test_long_document_is_cut_to_fit_and_never_exceeds_the_context(tiny_model: LocalModel) -> None:
    document = "\n\n".join(f"Paragraph {i}. " + TEXT for i in range(400))
    for task in ("continue", "summarize", "brainstorm"):
        request = GenerationRequest(task, before=document, max_new_tokens=40)
        plan = tiny_model.plan(request)
        assert plan.context_cut
        assert len(plan.token_ids) + plan.max_new_tokens <= tiny_model.context_tokens
    continued = tiny_model.plan(GenerationRequest("continue", before=document))
    # The end of the document ends a paragraph: the next one is asked for.
    assert tiny_model.codec.decode(continued.token_ids).endswith("went out.\n\n")


def test_long_selection_to_rewrite_is_refused_in_plain_words(tiny_model: LocalModel) -> None:
    with pytest.raises(InvalidRequestError, match="too long to rewrite"):
        tiny_model.plan(GenerationRequest("rewrite", selection=TEXT * 400))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (GenerationRequest("continue", before=""), "no text before the cursor"),
        (GenerationRequest("continue", before="   \n  "), "no text before the cursor"),
        (GenerationRequest("rewrite"), "Select some text"),
        (GenerationRequest("describe"), "Select a subject"),
        (GenerationRequest("poem", before=TEXT), "Unknown task"),
        (GenerationRequest("tone", selection=TEXT, tone="sarcastic"), "Unknown tone"),
        (GenerationRequest("continue", before=TEXT, max_new_tokens=0), "at least 1"),
        (GenerationRequest("continue", before=TEXT, max_new_tokens=-5), "at least 1"),
        (
            GenerationRequest("continue", before=TEXT, sampling=SamplingSettings(temperature=-1)),
            "cannot be negative",
        ),
        (GenerationRequest("continue", before="x" * (MAX_TEXT_CHARS + 1)), "too large"),
        (GenerationRequest("continue", before=TEXT, length="chapter"), "sentence"),
    ],
)
def test_bad_requests_get_a_clear_error(
    tiny_model: LocalModel, request_: GenerationRequest, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        tiny_model.run(request_)


def test_a_million_max_tokens_is_clamped(tiny_model: LocalModel) -> None:
    request = GenerationRequest("continue", before=TEXT, max_new_tokens=1_000_000)
    assert request.validated().max_new_tokens == MAX_NEW_TOKENS_LIMIT
    plan = tiny_model.plan(request)
    assert len(plan.token_ids) + plan.max_new_tokens <= tiny_model.context_tokens


def test_task_names_are_forgiving() -> None:
    assert Task.parse("Change tone") is Task.CHANGE_TONE
    assert Task.parse("summarise") is Task.SUMMARIZE


def test_sentence_length_continuation_ends_at_a_sentence(tiny_model: LocalModel) -> None:
    plan = tiny_model.plan(GenerationRequest("continue", before=TEXT, length="sentence"))
    assert ". " in plan.stop_strings and ". " in plan.keep_stop_strings


# -- the model folder ------------------------------------------------------------------


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="draftsmith-model build"):
        LocalModel.load(tmp_path / "nowhere")


def test_no_built_model_says_how_to_build_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("inference.model_cache.bundled_models_dir", lambda: tmp_path / "no-bundle")
    with pytest.raises(ModelUnavailableError, match="No model has been built"):
        LocalModel.load()


def test_damaged_model_file_is_detected_by_its_checksum(
    runtime_model_dir: Path, tmp_path: Path
) -> None:
    folder = copy_model(runtime_model_dir, tmp_path / "model")
    manifest = json.loads((folder / "draftsmith-model.json").read_text())
    onnx_file = folder / manifest["variants"][manifest["default_variant"]]["file"]
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailableError, match="damaged"):
        LocalModel.load(folder, RuntimeSettings(device="cpu"))


def test_missing_model_file_is_a_clear_error(runtime_model_dir: Path, tmp_path: Path) -> None:
    folder = copy_model(runtime_model_dir, tmp_path / "model")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelUnavailableError, match="missing"):
        LocalModel.load(folder, RuntimeSettings(device="cpu"))


def test_garbage_onnx_file_is_a_clear_error_when_not_verifying(
    runtime_model_dir: Path, tmp_path: Path
) -> None:
    folder = copy_model(runtime_model_dir, tmp_path / "model")
    manifest = json.loads((folder / "draftsmith-model.json").read_text())
    (folder / manifest["variants"][manifest["default_variant"]]["file"]).write_bytes(b"junk")
    with pytest.raises(ModelUnavailableError, match="could not be loaded"):
        LocalModel.load(folder, RuntimeSettings(device="cpu", verify_files=False))


def test_model_loads_in_the_background(runtime_model_dir: Path) -> None:
    outcome: list[object] = []
    thread = LocalModel.load_in_background(
        lambda m, e: outcome.extend([m, e]), runtime_model_dir, RuntimeSettings(device="cpu")
    )
    thread.join(60)
    model, error = outcome
    assert error is None and isinstance(model, LocalModel)
    assert model.tokens_per_second == 0.0
    model.run(
        GenerationRequest(
            "continue", before=TEXT, max_new_tokens=4, sampling=SamplingSettings(temperature=0)
        )
    )
    assert model.last_stats is not None and model.last_stats.generated_tokens >= 1


def test_background_load_reports_errors(tmp_path: Path) -> None:
    outcome: list[object] = []
    LocalModel.load_in_background(lambda m, e: outcome.extend([m, e]), tmp_path / "nowhere").join(
        30
    )
    assert outcome[0] is None and isinstance(outcome[1], ModelUnavailableError)
