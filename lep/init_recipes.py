"""How a new token's rows are made from the old rows of the pieces its bytes split into: one small function per
recipe, each giving the weights over the pieces (one row of the averaging operator T, lep/averaging_operator.py).

- mean: 1/K on each of K pieces (the paper, ruadapt 0a73a2d).
- wmean: weights e^(-i) for the i-th piece, a whitespace-only piece's weight times 0.1 when there are several,
  normalised to 1 (RefalMachine/ruadapt 8ac3d2d, tokenization/replace_tokenizer.py, mult = 1.0): the first piece,
  which carries the word's start, counts most.
- first: the first piece that is not whitespace alone (EEVE's output rows; mergekit tokensurgeon `first_last`'s
  head side): a new token starts out as the token a model would emit first for it.
A one-piece token is a copy under every recipe; a token with no pieces gets the mean of all old rows.
"""

import math
from collections.abc import Callable
from typing import Literal, get_args

Recipe = Literal["mean", "wmean", "first"]
RECIPES: tuple[str, ...] = get_args(Recipe)
WHITESPACE_WEIGHT = 0.1  # ruadapt's space_penalty
WMEAN_DECAY = 1.0  # ruadapt's mult


def is_whitespace(piece: str) -> bool:
    """A piece that spells only spaces in either vocabulary style (byte-level Ġ, SentencePiece ▁), as ruadapt
    tests it."""
    return not piece.replace("Ġ", "").replace("▁", "").replace(" ", "")


def mean(pieces: list[str]) -> list[float]:
    return [1.0 / len(pieces)] * len(pieces)


def wmean(pieces: list[str]) -> list[float]:
    raw = [math.exp(-WMEAN_DECAY * i) for i in range(len(pieces))]
    if len(pieces) > 1:
        raw = [w * WHITESPACE_WEIGHT if is_whitespace(p) else w for w, p in zip(raw, pieces)]
    total = sum(raw)
    return [w / total for w in raw]


def first(pieces: list[str]) -> list[float]:
    chosen = next((i for i, p in enumerate(pieces) if not is_whitespace(p)), 0)
    return [1.0 if i == chosen else 0.0 for i in range(len(pieces))]


WEIGHTS: dict[str, Callable[[list[str]], list[float]]] = {"mean": mean, "wmean": wmean, "first": first}
