"""The app's device path against the plain CPU path, on the same model (not a test).

    .venv/bin/python benchmarks/device_parity.py --device cuda [--model DIR] [--tokens 32]

The reference is the simplest path: CPU, no I/O binding, a cache that grows by the step's
outputs. The candidate is what the app runs on ``--device``: I/O binding, one preallocated
KV buffer per layer kept on the device and written in place. For each prompt both generate
greedily; the table shows whether the token ids agree, where they first part, the largest
logit difference over the prompt's last position and every generated position (the
candidate is fed the reference's tokens, so positions stay aligned), and whether the
reference's choice is still the candidate's top token where they differ (a near-tie).
Run with ``--device cpu`` it checks the binding and in-place cache code on this machine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = (
    "The lighthouse at Carrow Point had not been lit in eleven years when Maren Holt arrived",
    "<|im_start|>user\nWrite one sentence about autumn rain.<|im_end|>\n<|im_start|>assistant\n",
    "She made the escapement in the harbourmaster's workshop over four evenings, filing brass "
    "by lamplight while he pretended to mend nets and watched her hands. When it was done",
)
# Logits of two correct paths differ by float rounding; the int8 activation kernels of
# the 4-bit variant can differ between devices by more, so this flags, it does not fail.
LOGIT_NOTE = 0.05


def follow(session, cache, prompt: list[int], tokens: list[int] | None, count: int):
    """Greedy ids after ``prompt`` (or the logits along ``tokens`` when given)."""
    logits = session.forward(np.array([prompt], np.int64), cache)
    rows, chosen = [logits.copy()], []
    step = np.zeros((1, 1), np.int64)
    for index in range(count):
        token = int(np.argmax(logits)) if tokens is None else tokens[index]
        chosen.append(int(np.argmax(logits)))
        step[0, 0] = token
        logits = session.forward(step, cache)
        rows.append(logits.copy())
    return chosen, np.stack(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda")
    parser.add_argument("--model", help="model folder (default: the built default model)")
    parser.add_argument("--variant", help="model variant (default: the model's default)")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from inference.model_folder import ModelFolder, find_default_model
    from inference.runtime.errors import DeviceUnavailableError, ModelUnavailableError
    from inference.runtime.model_session import ModelSession
    from inference.runtime.providers import SessionSettings
    from inference.runtime.text_codec import TextCodec

    folder = ModelFolder.open(args.model) if args.model else find_default_model()
    if folder is None:
        raise SystemExit("no built model: run `.venv/bin/draftsmith-model build` first")
    codec = TextCodec.from_file(folder.tokenizer_path)
    capacity = 256 + args.tokens
    reference = ModelSession.load(
        folder,
        SessionSettings(device="cpu", threads=args.threads),
        args.variant,
        io_binding=False,
        shared_kv=False,
    )
    try:
        candidate = ModelSession.load(
            folder,
            SessionSettings(device=args.device, threads=args.threads),
            args.variant,
            io_binding=True,
            kv_capacity=capacity,
        )
    except (DeviceUnavailableError, ModelUnavailableError) as error:
        print(f"{args.device}: not usable here: {error}")
        return 2
    layout = (
        f"in-place KV buffers ({candidate.kv_capacity} positions)"
        if candidate.kv_capacity
        else "growing KV (the graph cannot write in place)"
    )
    print(f"model: {folder.path} ({reference.variant})")
    print(f"reference: CPU, plain run, growing KV\ncandidate: {candidate.report.label()}, {layout}")
    print("| prompt | tokens | same ids | first difference | max logit diff | near-tie |")
    print("|---|---|---|---|---|---|")
    all_same = True
    for number, text in enumerate(PROMPTS, 1):
        ids = codec.encode(text)
        want, want_logits = follow(reference, reference.new_cache(), ids, None, args.tokens)
        got, _ = follow(candidate, candidate.new_cache(), ids, None, args.tokens)
        _, got_logits = follow(candidate, candidate.new_cache(), ids, want, args.tokens)
        diff = float(np.max(np.abs(want_logits - got_logits)))
        first = next((i for i, (a, b) in enumerate(zip(want, got, strict=True)) if a != b), None)
        near_tie = ""
        if first is not None:
            row = got_logits[first]
            gap = float(row[got[first]] - row[want[first]])
            near_tie = f"yes (gap {gap:.3f})" if gap < 2 * LOGIT_NOTE else f"no (gap {gap:.3f})"
            all_same = False
        print(
            f"| {number} | {len(want)} | {'yes' if first is None else 'no'} "
            f"| {'-' if first is None else first} | {diff:.4f}"
            f"{' (!)' if diff > LOGIT_NOTE else ''} | {near_tie} |"
        )
    print(f"\ngreedy ids identical on every prompt: {'yes' if all_same else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
