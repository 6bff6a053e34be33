from __future__ import annotations

import pytest

from inference.runtime.chat_template import render_chat
from inference.runtime.errors import ModelUnavailableError
from tests.spm_vocab import MISTRAL_TEMPLATE
from tests.tiny_vocab import CHAT_TEMPLATE

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_chatml_template_renders_with_the_generation_prompt() -> None:
    text = render_chat(CHAT_TEMPLATE, MESSAGES)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_missing_template_falls_back_to_chatml() -> None:
    assert render_chat(None, MESSAGES).endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.append({'role': 'x'}) }}",
        "{{ raise_exception('no system role') }}",
        "{% for %}",
    ],
)
def test_hostile_or_broken_templates_are_a_clear_model_error(template: str) -> None:
    with pytest.raises(ModelUnavailableError, match="chat template"):
        render_chat(template, MESSAGES)


def test_mistral_instruct_template_renders_inst_turns() -> None:
    # Mistral 7B Instruct's format: BOS, [INST] ... [/INST], replies closed by EOS; the
    # SentencePiece tokenization of the result: tests/export/test_llamacpp_architectures.py.
    turns = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Go on"},
    ]
    text = render_chat(MISTRAL_TEMPLATE, turns, bos_token="<s>", eos_token="</s>")
    assert text == "<s>[INST] Hi [/INST]Hello.</s>[INST] Go on [/INST]"


def test_mistral_template_refusing_a_system_turn_is_a_clear_model_error() -> None:
    with pytest.raises(ModelUnavailableError, match="alternate"):
        render_chat(MISTRAL_TEMPLATE, MESSAGES, bos_token="<s>", eos_token="</s>")
