"""License keys: random, human-typable, checked before any network call.

A key is 24 random Crockford base32 symbols (120 bits) and one check symbol, shown as five
groups of five: ``7KQ2M-XW4RA-9D0PT-HV3CN-E6B1Z``. Nothing is encoded in it; the server looks
it up. Typing is forgiving: case, spaces, dashes and the look-alikes O/o (zero) and I/i/L/l
(one) are accepted. The check symbol (Luhn mod 32) catches every single mistyped symbol and
most swapped neighbours, so a typo is reported at once instead of as "key not found".
"""

from __future__ import annotations

import secrets

from licensing.client.errors import LicenseKeyError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUES = {symbol: value for value, symbol in enumerate(ALPHABET)}
_LOOKALIKES = {"O": "0", "I": "1", "L": "1"}
_SEPARATORS = " -_\t\r\n"
BODY_LENGTH = 24
KEY_LENGTH = BODY_LENGTH + 1
GROUP = 5


def _check_symbol(body: str) -> str:
    """Luhn mod N (N = 32) over the body, from the right."""
    total = 0
    factor = 2
    for symbol in reversed(body):
        addend = factor * _VALUES[symbol]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def generate_key() -> str:
    """A new random key, formatted in groups."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return format_key(body + _check_symbol(body))


def format_key(compact: str) -> str:
    return "-".join(compact[i : i + GROUP] for i in range(0, len(compact), GROUP))


def normalize_key(text: str) -> str:
    """The canonical grouped form of what a buyer typed or pasted.

    Raises ``LicenseKeyError`` with a plain-words reason when it cannot be a key.
    """
    if not isinstance(text, str):
        raise LicenseKeyError("A license key must be text.")
    if len(text) > 200:
        raise LicenseKeyError("That is too long to be a license key.")
    compact = []
    for char in text.strip():
        if char in _SEPARATORS:
            continue
        upper = char.upper()
        upper = _LOOKALIKES.get(upper, upper)
        if upper == "U":
            raise LicenseKeyError(
                "License keys never use the letter U (nor I, L or O, which are read as 1 and "
                "0). Please check the key against your purchase e-mail: a V is easy to "
                "misread as U."
            )
        if upper not in _VALUES:
            raise LicenseKeyError(
                f"A license key has only letters and digits; {char!r} is not part of one."
            )
        compact.append(upper)
    joined = "".join(compact)
    if not joined:
        raise LicenseKeyError("Please enter your license key.")
    if len(joined) != KEY_LENGTH:
        raise LicenseKeyError(
            f"A license key has {KEY_LENGTH} letters and digits; this one has {len(joined)}. "
            "Please check it against your purchase e-mail."
        )
    body, check = joined[:BODY_LENGTH], joined[BODY_LENGTH]
    if _check_symbol(body) != check:
        raise LicenseKeyError(
            "This license key has a typo (its last symbol does not match). "
            "Please check it against your purchase e-mail."
        )
    return format_key(joined)
