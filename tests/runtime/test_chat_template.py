from __future__ import annotations

import pytest

from inference.runtime.chat_template import render_chat
from inference.runtime.errors import ModelUnavailableError
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
