"""Rendering the model's own chat template (Hugging Face style Jinja) safely.

The template comes from the model file, so it is rendered in Jinja's immutable sandbox:
it can format messages but not reach Python objects, files or the network."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from inference.model_cache import model_remedy
from inference.runtime.errors import ModelUnavailableError

log = logging.getLogger(__name__)

# Used only when a model ships no template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class _TemplateRaised(Exception):
    pass


def _raise_exception(message: str) -> None:
    raise _TemplateRaised(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@functools.lru_cache(maxsize=8)
def _compile(template: str):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(template)


def render_chat(
    template: str | None,
    messages: Sequence[dict[str, str]],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
) -> str:
    """The prompt text for ``messages`` ending where the assistant's reply begins."""
    source = template or CHATML_TEMPLATE
    try:
        return _compile(source).render(
            messages=list(messages),
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    except (TemplateError, _TemplateRaised) as error:
        raise ModelUnavailableError(
            f"The model's chat template cannot be used ({error}). {model_remedy()}"
        ) from error
