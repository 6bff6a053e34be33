"""The default model as people download models: re-quantized to Q4_K_M by llama.cpp's own
quantizer (from an F16 dump of the default GGUF), built by ``build`` into a temporary cache
(never the machine's), and held against llama.cpp running that file on real text.

Slow (a real 135M build, about a minute or two); runs where llama-cpp-python is built."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from inference.export.build import build
from inference.export.checks import SAMPLE_TEXT
from tests import llamacpp_reference as llamacpp
from tests.synthetic_gguf import float_copy

LLAMA_PYTHON, WHY_NOT = llamacpp.llama_python()
pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.default_model,
    pytest.mark.skipif(LLAMA_PYTHON is None, reason=WHY_NOT),
]

# Measured on SmolLM2-135M Q4_K_M over the 192 tokens of SAMPLE_TEXT: top-1 agreement 92.7%,
# max |logit difference| 2.83 where llama.cpp's logits spread (std) 3.65, i.e. 0.69 relative;
# every disagreement is a near-tie (no decided disagreement). A trained model's logits are far
# less spread than the synthetic files', so activation rounding shows more; the greedy
# continuations part at a near-tie and are not compared here.
TOP1_AGREEMENT = 0.9
RELATIVE_BOUND = 1.0


@pytest.fixture(scope="module")
def q4_k_m(default_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("q4km")
    dump = float_copy(default_gguf, folder / "SmolLM2-135M-Instruct.F16.gguf")
    target = folder / "SmolLM2-135M-Instruct.Q4_K_M.gguf"
    llamacpp.quantize(dump, target, "Q4_K_M", pure=False)
    dump.unlink()
    return target


def test_llamacpps_q4_k_m_is_the_mix_the_issue_describes(q4_k_m: Path) -> None:
    counts: dict[str, int] = {}
    for tensor in gguf.GGUFReader(str(q4_k_m)).tensors:
        counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
    # Rows of 576 are not a multiple of 256: llama.cpp falls back to legacy types there.
    assert {"Q4_K", "Q6_K", "Q5_0", "Q8_0", "F32"} <= set(counts), counts


def test_q4_k_m_default_model_builds_and_matches_llamacpp(q4_k_m: Path, tmp_path: Path) -> None:
    result = build(q4_k_m, cache_root=tmp_path / "cache", variants=("q4",))
    figures = llamacpp.compare(q4_k_m, result.path, "q4", SAMPLE_TEXT)
    print(f"SmolLM2-135M Q4_K_M: built in {result.seconds:.0f} s; {figures}")
    assert figures["top1_agreement"] >= TOP1_AGREEMENT, figures
    assert figures["max_relative_diff"] < RELATIVE_BOUND, figures
    assert figures["decided_disagreements"] == 0, figures
