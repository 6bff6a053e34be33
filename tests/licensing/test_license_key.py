from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing.client.errors import LicenseKeyError
from licensing.client.license_key import ALPHABET, generate_key, normalize_key


def test_generated_keys_are_grouped_and_valid() -> None:
    keys = {generate_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        groups = key.split("-")
        assert [len(g) for g in groups] == [5, 5, 5, 5, 5]
        assert normalize_key(key) == key


def test_typing_is_forgiving() -> None:
    key = generate_key()
    messy = "  " + key.lower().replace("-", " ") + "\n"
    assert normalize_key(messy) == key
    assert normalize_key(key.replace("-", "")) == key
    assert normalize_key(key.replace("0", "o").replace("1", "l")) == key


@pytest.mark.parametrize("text", ["", "   ", "ABCDE", "ABCDE-FGHJK-MNPQR-STVWX-YZ012-3"])
def test_wrong_lengths_are_explained(text: str) -> None:
    with pytest.raises(LicenseKeyError) as info:
        normalize_key(text)
    assert "license key" in str(info.value)


def test_u_and_punctuation_are_not_key_symbols() -> None:
    key = generate_key()
    with pytest.raises(LicenseKeyError, match="never use the letter U") as info:
        normalize_key("U" + key[1:])
    assert "only letters and digits" not in str(info.value)  # U *is* a letter
    with pytest.raises(LicenseKeyError, match="'!'"):
        normalize_key(key[:-1] + "!")


def test_every_single_substitution_is_caught() -> None:
    compact = generate_key().replace("-", "")
    for position, symbol in itertools.product(range(len(compact)), ALPHABET):
        if symbol == compact[position]:
            continue
        typo = compact[:position] + symbol + compact[position + 1 :]
        with pytest.raises(LicenseKeyError, match="typo"):
            normalize_key(typo)


@given(st.text(max_size=60))
def test_normalize_never_raises_anything_else(text: str) -> None:
    try:
        result = normalize_key(text)
    except LicenseKeyError:
        return
    assert normalize_key(result) == result
