"""llama.cpp's side of the parity tests, run by the Python that has llama-cpp-python.

Not a test and never imported by the project's own environment (which has no llama_cpp):
``tests/llamacpp_reference.py`` starts it as ``<llama python> tests/llamacpp_worker.py`` and
sends one JSON request on stdin. Requests:

``{"op": "quantize", "source": F32.gguf, "target": out.gguf, "ftype": "Q4_K_M", "pure": bool}``
    llama.cpp's own quantizer (``llama_model_quantize``); ``pure`` quantizes every matrix to
    the type itself (no per-tensor mix).
``{"op": "run", "gguf": path, "texts": [...], "ids": [...], "greedy_tokens": n, "logits": out}``
    ``tokenize(text, add_bos=False, special=True)`` for every text; the logits at every
    position of ``ids`` (one ``eval``), saved as a float32 .npy; and ``n`` greedy tokens after
    ``ids``; with ``"pieces": true`` also every token's ``llama_token_to_piece`` (special
    tokens rendered, nothing stripped) as hex. Answers one JSON object on stdout."""

from __future__ import annotations

import ctypes
import json
import sys

import llama_cpp
import numpy as np

FTYPES = {
    "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
    "Q4_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1,
    "Q5_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_0,
    "Q5_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_1,
    "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "Q4_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S,
    "Q5_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S,
    "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
    "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "Q5_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
}


def quantize(request: dict) -> dict:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[request["ftype"]]
    params.pure = bool(request.get("pure", False))
    params.nthread = int(request.get("threads", 2))
    failed = llama_cpp.llama_model_quantize(
        request["source"].encode(), request["target"].encode(), ctypes.byref(params)
    )
    if failed:
        raise RuntimeError(f"llama_model_quantize returned {failed}")
    return {"ok": True}


def run(request: dict) -> dict:
    ids = list(request.get("ids", []))
    greedy = int(request.get("greedy_tokens", 0))
    llm = llama_cpp.Llama(
        model_path=request["gguf"],
        vocab_only=not ids,
        n_ctx=max(64, len(ids) + greedy + 8),
        n_batch=512,
        n_threads=int(request.get("threads", 2)),
        n_threads_batch=int(request.get("threads", 2)),
        logits_all=True,
        verbose=False,
    )
    answer: dict = {
        "tokens": [
            llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            for text in request.get("texts", [])
        ],
        "n_vocab": llm.n_vocab(),
        "detokenized": [
            llm.detokenize(tokens, special=True).decode("utf-8", "replace")
            for tokens in request.get("detokenize", [])
        ],
    }
    if request.get("pieces"):
        answer["pieces"] = [_piece(llm, token).hex() for token in range(llm.n_vocab())]
    if ids:
        llm.eval(ids)
        np.save(request["logits"], np.asarray(llm.scores[: len(ids)], np.float32))
        out = []
        for _ in range(greedy):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            out.append(token)
            llm.eval([token])
        answer["greedy"] = out
    return answer


def _piece(llm: llama_cpp.Llama, token: int) -> bytes:
    size = 256
    buffer = ctypes.create_string_buffer(size)
    length = llama_cpp.llama_token_to_piece(llm._model.vocab, token, buffer, size, 0, True)
    if not 0 <= length <= size:
        raise RuntimeError(f"token {token}: llama_token_to_piece returned {length}")
    return buffer.raw[:length]


def main() -> None:
    request = json.loads(sys.stdin.read())
    handler = {"quantize": quantize, "run": run}[request["op"]]
    json.dump(handler(request), sys.stdout)


if __name__ == "__main__":
    main()
