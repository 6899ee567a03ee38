"""Invented, pronounceable names that are unique by construction.

Uniqueness must hold without remembering which names were already used (the generator streams
1M entities in bounded memory), so a name is the image of an integer code under a bijection:
code -> affine permutation modulo 80**L -> L base-80 digits -> consonant-vowel syllables.
Different codes give different words; a final consonant (a function of the code) adds variety
without breaking injectivity.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "th", "sh")
VOWELS = ("a", "e", "i", "o", "u")
SYLLABLES = tuple(o + v for o in ONSETS for v in VOWELS)  # 80, so the base is 80
CODAS = ("", "n", "r", "l", "s", "th", "m", "", "n", "r")
ALPHABET_BASE = len(SYLLABLES)


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the parts; never Python's `hash`, which is salted per process."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def rng(*parts: object) -> random.Random:
    """A private random stream per (seed, index, purpose): pages never share state."""
    return random.Random(stable_int(*parts))


@dataclass(frozen=True)
class WordCoder:
    """Bijection from codes in [0, base**length) to words of `length` syllables plus a coda."""

    length: int
    multiplier: int
    offset: int

    @property
    def modulus(self) -> int:
        return ALPHABET_BASE**self.length

    def word(self, code: int) -> str:
        """The word for `code`; distinct codes give distinct words."""
        if not 0 <= code < self.modulus:
            raise ValueError(f"code {code} outside [0, {self.modulus})")
        value = (code * self.multiplier + self.offset) % self.modulus
        syllables = []
        for _ in range(self.length):
            value, digit = divmod(value, ALPHABET_BASE)
            syllables.append(SYLLABLES[digit])
        coda = CODAS[(code * 7 + self.offset) % len(CODAS)]
        return ("".join(syllables) + coda).capitalize()


def make_coder(seed: int, codes_needed: int) -> WordCoder:
    """The shortest coder (at least 3 syllables) whose code space holds `codes_needed` codes."""
    length = 3
    while ALPHABET_BASE**length < codes_needed:
        length += 1
    modulus = ALPHABET_BASE**length
    multiplier = stable_int(seed, "coder-multiplier") % modulus | 1
    while math.gcd(multiplier, modulus) != 1:  # 80 = 2**4 * 5: odd and not a multiple of 5
        multiplier += 2
    return WordCoder(length=length, multiplier=multiplier, offset=stable_int(seed, "coder-offset") % modulus)


def given_name(seed: int, index: int, salt: int = 0) -> str:
    """A two-syllable given name; given names repeat across people, as real ones do.

    Two syllables plus a coda can never spell a three-syllable place or family word, so a given
    name is never mistaken for another entity's name.
    """
    r = rng(seed, index, "given", salt) if salt else rng(seed, index, "given")
    return (r.choice(SYLLABLES) + r.choice(SYLLABLES) + r.choice(CODAS)).capitalize()


def demonym(name: str) -> str:
    """Nationality adjective: "Velor" -> "Velorian", "Kalosa" -> "Kalosanian".

    The suffix is lower-case ASCII, so `[[Velor]]ian` is a valid English link trail, and it holds
    the vowel pair "ia", which no generated word has: a demonym never spells another entity's name.
    """
    return name + ("nian" if name[-1] in VOWELS else "ian")
