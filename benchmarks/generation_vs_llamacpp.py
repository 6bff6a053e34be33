"""Draftsmith's runtime vs llama.cpp, side by side on the same GGUF (not a test).

    .venv/bin/python benchmarks/generation_vs_llamacpp.py [--threads 2] [--device cpu|cuda]
        [--model FOLDER --gguf FILE.gguf]

Sets up llama-cpp-python==0.3.36 in benchmarks/.env/llama (pip's wheel cache makes that quick
once built), then runs each engine in its own subprocess (so each one's peak RSS is its own)
on the same token ids, greedy, same thread count:
  prefill tokens/s at ~300 and ~1300 prompt tokens (cold cache),
  decode tokens/s over 128 greedy tokens continuing the writing passages (text that does
  not repeat), with a fresh cache (a 16-token prompt) and with a 1,000-token cache; ours as
  the app runs (drafted tokens checked in one run) and one token per run,
  time to first token for "continue" at the end of a ~1000-word document, cold and warm
  (warm: the previous request is cached and the writer typed one more sentence),
  peak memory (RSS) of the generating process.
--rounds N runs both engines N times, interleaved, and keeps each one's best figure (other
work on the machine only ever slows a run down). Prints a table with both columns, the ratios
and the targets, and writes benchmarks/results/*.json.
Only stdlib is imported at the top: the llama.cpp worker runs in the other environment."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LLAMA_ENV = ROOT / "benchmarks" / ".env" / "llama"
LLAMA_VERSION = "0.3.36"
RESULTS = ROOT / "benchmarks" / "results"
PASSAGES = ROOT / "benchmarks" / "data" / "writing_passages.json"
DECODE_TOKENS = 128
FRESH_PROMPT_TOKENS = 16
LONG_CACHE_TOKENS = 1000
TTFT_NEW_TOKENS = 16
# The app's default context window; both engines allocate their KV cache for it.
CONTEXT_TOKENS = 2048

PARAGRAPHS = [
    "The lighthouse at Carrow Point had not been lit in eleven years when Maren Holt arrived "
    "with two suitcases, a crate of books and a letter from the harbour board that said, in "
    "careful official language, that the light was hers to keep if she could make it work.",
    "She spent the first week cleaning. Salt had crept into everything: the brass rails, the "
    "hinges of the lamp room, the pages of the old logbooks stacked in the keeper's cottage. "
    "Each evening she climbed the hundred and twelve steps, counted them aloud, and looked out "
    "at the grey water as if it might answer a question she had not yet thought to ask.",
    "The village below was small and curious. The baker, a broad man named Ellis, sent up a "
    "loaf every morning with his youngest son, who lingered at the door to stare at the lens. "
    "The postmistress asked whether she was lonely. The harbourmaster asked whether she knew "
    "anything about clockwork. She said no to the first and yes to the second, and only one of "
    "those answers was true.",
    "The mechanism that turned the great lens was a tower of gears and weights, patient as a "
    "church organ. Someone had removed the escapement years ago, and without it the weights "
    "simply fell, the lens spun wild for a moment and then stopped. Maren drew the missing "
    "part from memory on the back of an envelope, then drew it again, larger, on the wall.",
    "In the logbooks she found the handwriting of every keeper before her. Most wrote only the "
    "weather and the hours the lamp burned. One, a woman who signed herself A. Pell, wrote "
    "longer entries: the colour of the sea at dawn, a ship that passed too close, a night when "
    "the fog was so thick that she rang the bell by hand until her arms shook.",
    "The last entry in Pell's hand was short. The light is failing, she wrote, and they will "
    "not send the part. I have asked three times. If a ship comes in tonight I do not know "
    "what I will do. There was no entry after that, only a pressed sea pink between the pages, "
    "brown and thin as paper.",
    "Maren asked in the village about Pell. Ellis the baker remembered her as a tall woman who "
    "bought bread on Saturdays and never stayed to talk. The postmistress remembered a parcel "
    "that came back undelivered. The harbourmaster, after a long silence, said that there had "
    "been a wreck on the Skerries the winter the light went out, and that nobody had been "
    "blamed, which was not the same as nobody being at fault.",
    "She made the escapement in the harbourmaster's workshop over four evenings, filing brass "
    "by lamplight while he pretended to mend nets and watched her hands. When it was done he "
    "turned it over twice, said nothing, and carried it up the hundred and twelve steps "
    "himself, breathing hard, refusing help.",
    "They fitted it together at dusk. The weights took up their slow descent, the lens began "
    "to turn, and the beam swept out across the water, then back, then out again, steady as a "
    "heartbeat. Down in the village someone opened a window. A dog barked. The boy who brought "
    "the bread stood on the harbour wall and waved both arms.",
    "That night Maren opened a new logbook and wrote the date, the weather and the hours the "
    "lamp had burned. Then, after a moment, she wrote more: the colour of the sea at dusk, the "
    "sound the gears made, the dog, the boy, the harbourmaster's silence on the stairs. She "
    "pressed nothing between the pages. She intended to be here for a long time.",
]
# "Warm": after a continue request, the writer types one more sentence and asks again;
# measured once per sentence (each one builds on the previous request), best kept.
TYPED_SENTENCES = (
    " The fog came in just before midnight, and she went up to watch it.",
    " Somewhere below, a bell buoy rang twice and fell silent.",
    " She wrote the time in the margin and underlined it.",
)


def document(words: int) -> str:
    text, paragraphs = [], 0
    while sum(len(p.split()) for p in text) < words:
        text.append(PARAGRAPHS[paragraphs % len(PARAGRAPHS)])
        paragraphs += 1
    return "\n\n".join(text)


# -- engines (run in subprocesses) -----------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS since it started its program. Not ``getrusage``'s ru_maxrss:
    Linux carries that over fork and exec, so a worker would report at least the RSS its
    parent had when it forked (the parent holds a loaded model)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_llama(spec: dict):
    """llama.cpp on ``spec``'s GGUF, threads and device, as every benchmark here runs it."""
    from llama_cpp import Llama  # only in benchmarks/.env/llama

    return Llama(
        model_path=spec["gguf"],
        n_ctx=CONTEXT_TOKENS,
        n_batch=512,
        n_ubatch=512,
        n_threads=spec["threads"],
        n_threads_batch=spec["threads"],
        n_gpu_layers=-1 if spec.get("device") == "cuda" else 0,
        verbose=False,
    )


def worker_llama(spec: dict) -> dict:
    started = time.perf_counter()
    llm = load_llama(spec)
    load_s = time.perf_counter() - started
    out: dict = {"engine": "llama.cpp", "version": LLAMA_VERSION, "load_seconds": load_s}
    llm.eval(spec["short"][:16])  # warm-up: first-call allocations
    llm.reset()

    def prefill(ids: list[int]) -> float:
        best = float("inf")
        for _ in range(spec["repeats"]):
            llm.reset()
            t = time.perf_counter()
            llm.eval(ids)
            best = min(best, time.perf_counter() - t)
        return len(ids) / best

    out["prefill_short_tps"] = prefill(spec["short"])
    out["prefill_long_tps"] = prefill(spec["long"])

    def decode(prompt: list[int]) -> float:
        llm.reset()
        llm.eval(prompt)
        first = 0.0
        for count, _token in enumerate(llm.generate([], temp=0.0, top_k=1, reset=False), 1):
            if count == 1:
                first = time.perf_counter()
            if count == DECODE_TOKENS:
                break
        return (DECODE_TOKENS - 1) / (time.perf_counter() - first)

    out["decode_tps"] = max(decode(spec["fresh"]) for _ in range(spec["repeats"]))
    out["decode_long_tps"] = max(decode(spec["cached"]) for _ in range(spec["repeats"]))

    def ttft(ids: list[int]) -> tuple[float, list[int]]:
        t = time.perf_counter()
        got = []
        for token in llm.generate(ids, temp=0.0, top_k=1):  # reuses its cached prefix
            if not got:
                elapsed = time.perf_counter() - t
            got.append(token)
            if len(got) == TTFT_NEW_TOKENS:
                break
        return elapsed, got

    llm.reset()
    out["ttft_cold_s"], out["ttft_cold_tokens"] = ttft(spec["doc"])
    out["ttft_warm_s"] = min(ttft(ids)[0] for ids in spec["doc_typed"])
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def worker_ours(spec: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    from inference.runtime import GenerationRequest, LocalModel, RuntimeSettings, SamplingSettings

    started = time.perf_counter()
    model = LocalModel.load(
        spec["model"],
        RuntimeSettings(
            device=spec["device"],
            threads=spec["threads"],
            variant=spec.get("variant"),
            context_tokens=CONTEXT_TOKENS,
        ),
    )
    load_s = time.perf_counter() - started
    generator = model.generator
    greedy = SamplingSettings(temperature=0, repetition_penalty=1.0)
    out: dict = {
        "engine": "draftsmith",
        "variant": model.session.variant,
        "device": model.device_report.label(),
        "load_seconds": load_s,
    }
    generator.generate(spec["short"][:16], max_new_tokens=2, sampling=greedy)  # warm-up

    def prefill(ids: list[int]) -> float:
        best = float("inf")
        for _ in range(spec["repeats"]):
            generator.clear_cache()
            output = generator.generate(ids, max_new_tokens=1, sampling=greedy)
            best = min(best, output.stats.prefill_seconds)
        return len(ids) / best

    out["prefill_short_tps"] = prefill(spec["short"])
    out["prefill_long_tps"] = prefill(spec["long"])

    def decode(prompt: list[int], drafts: bool) -> tuple[float, list[int], dict]:
        generator.clear_cache()
        generator.lookup_drafts = drafts
        output = generator.generate(
            prompt,
            max_new_tokens=DECODE_TOKENS,
            sampling=greedy,
            min_new_tokens=DECODE_TOKENS,
        )
        stats = output.stats
        counts = {"drafted": stats.drafted_tokens, "accepted": stats.accepted_draft_tokens}
        return stats.decode_tokens_per_second, output.token_ids, counts

    # As the app runs (tokens drafted from the text so far, checked in one run), and one
    # token per model run: the same kernels, so their ratio is what drafting adds.
    for key, prompt in (("decode", spec["fresh"]), ("decode_long", spec["cached"])):
        drafted = [decode(prompt, True) for _ in range(spec["repeats"])]
        stepped = [decode(prompt, False) for _ in range(spec["repeats"])]
        out[f"{key}_tps"] = max(run[0] for run in drafted)
        out[f"{key}_step_tps"] = max(run[0] for run in stepped)
        out[f"{key}_drafts"] = drafted[0][2]
        # Chunked rows round their int8 activations apart from single steps: greedy text
        # can part at a near-tie (where it does is recorded, not hidden).
        out[f"{key}_same_tokens_as_steps"] = drafted[0][1] == stepped[0][1]
    generator.lookup_drafts = True  # the first-token requests below run as the app does

    request = GenerationRequest(
        "continue", before=spec["doc_text"], sampling=greedy, max_new_tokens=TTFT_NEW_TOKENS
    )

    def first_token(request: GenerationRequest):
        """Seconds from the request to the first token, the prompt's tokenizing and fitting
        included (``run`` does that before the model starts; timed here on its own). The
        first answer's first token: an answer that fails its check is written again, and the
        result's figures are then the retry's, whose prompt is already in the cache."""
        started = time.perf_counter()
        model.plan(request)
        planning = time.perf_counter() - started
        first: list = []  # the first answer's figures, noted when it is written again

        def note_first(_why: str) -> None:
            if not first:
                first.append(model.last_stats)

        stats = model.run(request, on_restart=note_first).stats
        stats = first[0] if first else stats
        return planning + stats.first_token_seconds, planning, stats

    generator.clear_cache()
    out["ttft_cold_s"], _, cold = first_token(request)
    out["ttft_cold_prompt_tokens"] = cold.prompt_tokens
    warm_runs = [
        first_token(
            GenerationRequest(
                "continue", before=typed, sampling=greedy, max_new_tokens=TTFT_NEW_TOKENS
            )
        )
        for typed in spec["typed_texts"]
    ]
    out["ttft_warm_s"] = min(run[0] for run in warm_runs)
    out["ttft_warm_all_s"] = [round(run[0], 4) for run in warm_runs]
    out["ttft_warm_planning_s"] = [round(run[1], 4) for run in warm_runs]
    out["ttft_warm_computed_tokens"] = [run[2].computed_prompt_tokens for run in warm_runs]
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# -- orchestration ---------------------------------------------------------------------


# llama.cpp builds with -march=native; on VMs that report AMX but do not enable it its AMX
# kernels die with SIGILL (seen here: `tilezero` in ggml_backend_amx_mul_mat), and
# GGML_AMX_*=OFF alone does not help because -march=native turns AMX back on. So the
# benchmark's own build lists the CPU's other vector extensions explicitly, without AMX.
_GGML_FEATURES = {
    "avx": "AVX",
    "avx2": "AVX2",
    "fma": "FMA",
    "f16c": "F16C",
    "bmi2": "BMI2",
    "avx512f": "AVX512",
    "avx512vbmi": "AVX512_VBMI",
    "avx512_vnni": "AVX512_VNNI",
    "avx512_bf16": "AVX512_BF16",
    "avx_vnni": "AVX_VNNI",
}


def llama_cmake_args() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    if not flags:
        return ""
    args = [
        "-DGGML_NATIVE=OFF",
        "-DGGML_AMX_TILE=OFF",
        "-DGGML_AMX_INT8=OFF",
        "-DGGML_AMX_BF16=OFF",
    ]
    args += [
        f"-DGGML_{name}={'ON' if flag in flags else 'OFF'}" for flag, name in _GGML_FEATURES.items()
    ]
    return " ".join(args)


def ensure_llama_env() -> Path:
    python = LLAMA_ENV / "bin" / "python"
    check = [
        str(python),
        "-c",
        f"import llama_cpp; assert llama_cpp.__version__ == '{LLAMA_VERSION}'",
    ]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(
        f"setting up llama-cpp-python=={LLAMA_VERSION} in {LLAMA_ENV} (a build from source: "
        "several minutes) ...",
        flush=True,
    )
    subprocess.run([sys.executable, "-m", "venv", str(LLAMA_ENV)], check=True)
    # --no-cache-dir: a wheel cached from a build with other CPU flags would be reused as is.
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-cache-dir",
            f"llama-cpp-python=={LLAMA_VERSION}",
        ],
        check=True,
        env={**os.environ, "CMAKE_ARGS": llama_cmake_args()},
    )
    return python


def find_gguf(model_dir: Path) -> Path:
    manifest = json.loads((model_dir / "draftsmith-model.json").read_text(encoding="utf-8"))
    source = manifest.get("source", {})
    name = source.get("file") or source.get("gguf") or "SmolLM2-135M-Instruct.Q4_1.gguf"
    name = Path(str(name)).name
    candidates = [source.get("path"), source.get("gguf_path")]
    from inference.model_cache import model_cache_root

    candidates += [str(p) for p in (model_cache_root() / "sources").rglob(name)]
    candidates += [str(p) for p in Path("/work/cache/gguf").glob(name)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise SystemExit(f"cannot find the GGUF {name} the model was built from")


def decode_prompt_ids(codec) -> list[int]:
    """What decode continues: the writing passages, text that does not repeat itself
    (``document`` cycles through its ten paragraphs, which a model continuing it copies:
    a flattering case for drafted tokens)."""
    passages = json.loads(PASSAGES.read_text(encoding="utf-8"))["passages"]
    return codec.encode("\n\n".join(p["text"] for p in passages))[:LONG_CACHE_TOKENS]


def make_spec(
    model: Path, gguf: Path, threads: int, device: str, variant: str | None, repeats: int
) -> dict:
    """What both engines' workers run: the prompts as the model's own token ids (the same
    ids for llama.cpp, which runs ``gguf``, the file ``model`` was built from)."""
    sys.path.insert(0, str(ROOT))
    from inference.runtime.local_model import LocalModel, RuntimeSettings
    from inference.runtime.tasks import GenerationRequest

    planner = LocalModel.load(
        model, RuntimeSettings(device="cpu", threads=1, context_tokens=CONTEXT_TOKENS)
    )
    codec = planner.codec
    doc_text = document(1000)
    doc_ids = planner.plan(GenerationRequest("continue", before=doc_text)).token_ids
    typed_texts = [
        doc_text + "".join(TYPED_SENTENCES[: i + 1]) for i in range(len(TYPED_SENTENCES))
    ]
    typed_ids = [
        planner.plan(GenerationRequest("continue", before=text)).token_ids for text in typed_texts
    ]
    short_ids = codec.encode(document(230))[:300]
    long_ids = codec.encode(document(1000))[:1300]
    decode_ids = decode_prompt_ids(codec)
    del planner
    return {
        "gguf": str(gguf),
        "model": str(model),
        "threads": threads,
        "device": device,
        "variant": variant,
        "repeats": repeats,
        "short": short_ids,
        "long": long_ids,
        "fresh": decode_ids[:FRESH_PROMPT_TOKENS],
        "cached": decode_ids[:LONG_CACHE_TOKENS],
        "doc": doc_ids,
        "doc_typed": typed_ids,
        "doc_text": doc_text,
        "typed_texts": typed_texts,
    }


def run_worker(python: Path, engine: str, spec: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        done = subprocess.run(
            [str(python), __file__, "--worker", engine, handle.name],
            capture_output=True,
            text=True,
            timeout=1800,
            env={**os.environ, "OMP_NUM_THREADS": str(spec["threads"])},
        )
    finally:
        os.unlink(handle.name)
    if done.returncode == -4 or done.returncode == 132:
        raise SystemExit(
            f"{engine} worker died of an illegal instruction: its build uses CPU "
            "instructions this machine does not run (see llama_cmake_args); "
            f"delete {LLAMA_ENV} or pass --llama-python"
        )
    if done.returncode != 0:
        raise SystemExit(f"{engine} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


# What each row must reach (issue 18): a ratio over llama.cpp or an absolute figure.
TTFT_WARM_TARGET_S = 0.050
DECODE_TARGET = 1.4


def table(ours: dict, llama: dict | None, spec: dict) -> str:
    rows = [
        (f"prefill tok/s (~{len(spec['short'])} tokens)", "prefill_short_tps", True, ""),
        (f"prefill tok/s (~{len(spec['long'])} tokens)", "prefill_long_tps", True, ""),
        (
            f"decode tok/s ({DECODE_TOKENS} tokens, fresh cache)",
            "decode_tps",
            True,
            f">= {DECODE_TARGET}x",
        ),
        (
            f"decode tok/s ({DECODE_TOKENS} tokens, {len(spec['cached'])}-token cache)",
            "decode_long_tps",
            True,
            f">= {DECODE_TARGET}x",
        ),
        ("decode tok/s, fresh cache, one token per run", "decode_step_tps", True, ""),
        (
            f"decode tok/s, {len(spec['cached'])}-token cache, one token per run",
            "decode_long_step_tps",
            True,
            "",
        ),
        (f"TTFT continue, {len(spec['doc'])}-token doc, cold (s)", "ttft_cold_s", False, ""),
        (
            "TTFT continue, +1 sentence, warm (s)",
            "ttft_warm_s",
            False,
            f"<= {TTFT_WARM_TARGET_S:.3f} s",
        ),
        ("peak memory of the process (MB RSS)", "peak_rss_mb", False, ">= 1.0x"),
        ("load time (s)", "load_seconds", False, ""),
    ]
    head = (
        f"| metric | draftsmith ({ours.get('variant')}) | llama.cpp {LLAMA_VERSION} "
        "| ratio (>1 = draftsmith better) | target | met |"
    )
    lines = [head, "|---|---|---|---|---|---|"]
    for label, key, higher_better, target in rows:
        mine = ours.get(key)
        theirs = llama.get(key.replace("_step", "")) if llama else None  # llama.cpp: 1/run
        ratio = ""
        ratio_value = None
        if mine and theirs:
            ratio_value = mine / theirs if higher_better else theirs / mine
            ratio = f"{ratio_value:.2f}x"
        lines.append(
            f"| {label} | {fmt(mine)} | {fmt(theirs)} | {ratio} | {target} "
            f"| {met(target, mine, ratio_value)} |"
        )
    return "\n".join(lines)


def met(target: str, value: float | None, ratio: float | None) -> str:
    """'yes'/'no' against a row's target ('' where it has none or nothing was measured)."""
    if not target or value is None:
        return ""
    if target.endswith(" s"):
        return "yes" if value <= float(target.split()[1]) else "no"
    if ratio is None:
        return ""
    return "yes" if ratio >= float(target.split()[1].rstrip("x")) else "no"


def best_of(runs: list[dict]) -> dict:
    """One engine's rounds merged: the best speed and time of each metric, the worst
    (highest) peak memory, so a lucky round never flatters memory."""
    merged = dict(runs[-1])
    for key, value in runs[0].items():
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if not values or isinstance(value, bool):
            continue
        if key.endswith("_tps") or key == "peak_rss_mb":  # speeds (tokens/s) and memory
            merged[key] = max(values)
        elif key.endswith("_s") or key.endswith("_seconds"):
            merged[key] = min(values)
    merged["rounds"] = len(runs)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "SPEC"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", help="model folder (default: the built default model)")
    parser.add_argument(
        "--gguf",
        help="the GGUF file the model was built from, for llama.cpp (default: the file its "
        "manifest names, looked up in the model cache's sources)",
    )
    parser.add_argument("--variant", help="model variant (default: the device's)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="prefill and decode repeats (the best is kept: other work on the "
        "machine only ever slows a run down)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="run both engines this many times, interleaved, keeping each one's best",
    )
    parser.add_argument("--skip-llamacpp", action="store_true")
    parser.add_argument(
        "--llama-python",
        metavar="PYTHON",
        help=f"a Python with llama-cpp-python=={LLAMA_VERSION} (default: set up "
        f"{LLAMA_ENV.relative_to(ROOT)})",
    )
    args = parser.parse_args()
    if args.worker:
        engine, spec_path = args.worker
        spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
        result = worker_llama(spec) if engine == "llama" else worker_ours(spec)
        print(json.dumps(result))
        return 0

    sys.path.insert(0, str(ROOT))
    from inference.model_folder import ModelFolder, find_default_model

    folder = ModelFolder.open(args.model) if args.model else find_default_model()
    if folder is None:
        raise SystemExit("no built model: run `.venv/bin/draftsmith-model build` first")
    gguf = Path(args.gguf) if args.gguf else find_gguf(folder.path)
    spec = make_spec(folder.path, gguf, args.threads, args.device, args.variant, args.repeats)
    print(
        f"model: {folder.path}\ngguf:  {gguf}\nthreads: {args.threads}, device: {args.device}\n"
        f"prompts: {len(spec['short'])} / {len(spec['long'])} tokens; document "
        f"{len(spec['doc'])} tokens (+{len(spec['doc_typed'][0]) - len(spec['doc'])} typed)",
        flush=True,
    )
    python = None
    if not args.skip_llamacpp:
        python = Path(args.llama_python) if args.llama_python else ensure_llama_env()
    our_runs: list[dict] = []
    llama_runs: list[dict] = []
    for round_number in range(1, max(1, args.rounds) + 1):
        print(f"round {round_number}: draftsmith ...", flush=True)
        our_runs.append(run_worker(Path(sys.executable), "ours", spec))
        our_runs[-1]["load_average_after"] = round(os.getloadavg()[0], 2)
        if python is not None:
            print(f"round {round_number}: llama.cpp ...", flush=True)
            llama_runs.append(run_worker(python, "llama", spec))
            llama_runs[-1]["load_average_after"] = round(os.getloadavg()[0], 2)
    ours = best_of(our_runs)
    llama = best_of(llama_runs) if llama_runs else None
    print(
        f"\nload average after the run: {os.getloadavg()[0]:.2f} "
        f"(on {os.cpu_count()} CPUs; above ~{args.threads} the figures are noisy)"
    )
    print(table(ours, llama, spec))
    for key, label in (("decode", "fresh cache"), ("decode_long", "long cache")):
        counts = ours.get(f"{key}_drafts") or {}
        print(
            f"drafts, {label}: {counts.get('accepted')} of {counts.get('drafted')} drafted "
            f"tokens taken; same tokens as one per run: {ours.get(f'{key}_same_tokens_as_steps')}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"generation_vs_llamacpp-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "ours": ours,
                "llama.cpp": llama,
                "rounds": {"ours": our_runs, "llama.cpp": llama_runs},
                "threads": args.threads,
                "device": args.device,
            },
            indent=2,
        )
    )
    print(f"\nraw results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
