"""A small byte-level BPE vocabulary for tiny test GGUFs.

Shaped like SmolLM2's: control tokens first (``<|endoftext|>`` 0, ``<|im_start|>`` 1,
``<|im_end|>`` 2), then the 256 byte tokens, then the results of a few dozen merges of common
English pairs, with the "smollm" pre-tokenizer and a ChatML chat template. Every byte is a
token, so any text encodes and decodes exactly.
"""

from __future__ import annotations

import gguf

CONTROL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
ENDOFTEXT_ID, IM_START_ID, IM_END_ID = 0, 1, 2

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Ordered by rank (earlier merges win). "Ġ" is the byte-level form of a space, "Ċ" of "\n".
# fmt: off
MERGES = (
    "Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r", "a t", "Ġ s",
    "e n", "o r", "Ġ w", "Ġ o", "i s", "e s", "a n", "Ġ c", "Ġ b", "Ġ f",
    "Ġ m", "Ġ p", "Ġ d", "i t", "o u", "l l", "e d", "in g", "Ġt o", "n d",
    "Ġa nd", "Ġo f", "Ġ h", "Ġ i", "Ġi n", "Ġ Ġ", "ĠĠ ĠĠ", "Ċ Ċ", "Ġ l", "a r",
    "Ġ y", "Ġy ou", "Ġw h", "Ġh e", "Ġ T", "ĠT he", "Ġ I", "o w", "l e", "Ġb e",
)
# fmt: on


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (what byte-level BPE tokens use)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def tiny_tokens() -> list[str]:
    """The vocabulary, in id order."""
    tokens = list(CONTROL_TOKENS)
    byte_chars = bytes_to_unicode()
    tokens.extend(byte_chars[b] for b in range(256))
    known = set(tokens)
    for merge in MERGES:
        left, right = merge.split(" ")
        if left not in known or right not in known:
            raise ValueError(f"merge {merge!r} uses a token that no earlier entry creates")
        merged = left + right
        if merged not in known:
            tokens.append(merged)
            known.add(merged)
    return tokens


def add_tiny_tokenizer(writer: gguf.GGUFWriter, pre: str = "smollm") -> int:
    """Write the ``tokenizer.ggml.*`` metadata (``pre``: the pre-tokenizer's llama.cpp name)
    and chat template; return the vocabulary size."""
    tokens = tiny_tokens()
    token_types = [
        gguf.TokenType.CONTROL if i < len(CONTROL_TOKENS) else gguf.TokenType.NORMAL
        for i in range(len(tokens))
    ]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_merges(list(MERGES))
    writer.add_bos_token_id(IM_START_ID)
    writer.add_eos_token_id(IM_END_ID)
    writer.add_unk_token_id(ENDOFTEXT_ID)
    writer.add_pad_token_id(IM_END_ID)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)
    return len(tokens)
