"""What may be stored for a person: names, attributes, vectors, qualities, sources, hashes.

Names are NFC unicode without control or format characters (right-to-left overrides and
zero-width characters would let two names look alike, or a name print backwards); only the
zero-width joiners that Persian and Indic scripts and emoji need inside a word are kept. A new name
that looks like an enrolled one (the same letters once case, accents, look-alike letters and
spacing are folded) is accepted with a warning: it may be a second enrolment of the same person
by mistake, or an impersonation.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from facetrack.errors import PersonError

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

MAX_NAME_LENGTH = 200

#: letters that look like Latin ones, folded onto them when names are compared
_LOOKALIKES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ո": "n", "α": "a", "ο": "o", "ρ": "p", "ν": "v",
    "ı": "i", "ӏ": "l", "Ι": "i", "Ο": "o", "Ρ": "p", "Α": "a", "Β": "b", "Ε": "e", "Η": "h",
    "Κ": "k", "Μ": "m", "Ν": "n", "Τ": "t", "Χ": "x", "Υ": "y", "Ζ": "z", "0": "o", "1": "l",
})


def normalise_name(name: object) -> str:
    """A person's name as stored: NFC unicode, no control or format characters, no outer
    spaces, at most ``MAX_NAME_LENGTH`` characters. Quotes and SQL metacharacters are
    ordinary characters."""
    if not isinstance(name, str):
        raise PersonError(f"a name must be text, got {type(name).__name__}")
    norm = unicodedata.normalize("NFC", name)
    if not norm.strip():
        raise PersonError("a name must not be empty")
    if norm != norm.strip():
        raise PersonError(f"name {name!r} has leading or trailing spaces")
    if any(unicodedata.category(c) == "Cc" for c in norm):
        raise PersonError(f"name {name!r} contains control characters")
    if _hidden(norm):
        raise PersonError(f"name {name!r} contains invisible or direction-changing "
                          "characters (zero-width space, right-to-left override, ...)")
    if len(norm) > MAX_NAME_LENGTH:
        raise PersonError(f"name is longer than {MAX_NAME_LENGTH} characters")
    return norm


#: zero-width non-joiner and joiner: needed inside words of Persian and Indic scripts and in
#: emoji sequences, so allowed between two visible characters (and nowhere else)
_JOINERS = {"\u200c", "\u200d"}


def _hidden(name: str) -> bool:
    """Format (Cf), private-use or surrogate characters, but the joiners inside a word."""
    for i, c in enumerate(name):
        if unicodedata.category(c) not in ("Cf", "Co", "Cs"):
            continue
        inside = 0 < i < len(name) - 1 and not name[i - 1].isspace() and \
            not name[i + 1].isspace()
        if c not in _JOINERS or not inside:
            return True
    return False


def skeleton(name: str) -> str:
    """What a name looks like: case, accents, look-alike letters and spacing folded."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed
                    if not unicodedata.combining(c) and c not in _JOINERS)
    return re.sub(r"[\s._'-]+", "", plain.translate(_LOOKALIKES))


def warn_lookalike(name: str, enrolled: Iterable[str]) -> str | None:
    """The enrolled name ``name`` looks like (logged as a warning), or None."""
    mine = skeleton(name)
    twin = next((n for n in enrolled if n != name and skeleton(n) == mine), None)
    if twin is not None:
        log.warning("%r looks like the enrolled %r: a second enrolment of one person, or an "
                    "impersonation? (enrolled as a different person)", name, twin)
    return twin


def check_attrs(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    if attrs is None:
        return {}
    if not isinstance(attrs, Mapping):
        raise PersonError(f"attrs must be a mapping, got {type(attrs).__name__}")
    for key in attrs:
        if not isinstance(key, str) or not key:
            raise PersonError(f"attribute names must be non-empty text, got {key!r}")
    try:
        json.dumps(dict(attrs), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PersonError(f"attrs must be JSON values: {exc}") from None
    return dict(attrs)


def dump_attrs(attrs: Mapping[str, Any]) -> str:
    return json.dumps(dict(attrs), ensure_ascii=False, sort_keys=True, allow_nan=False)


def unit_rows(vectors: npt.ArrayLike, what: str, allow_empty: bool = False) -> FloatArray:
    try:
        arr = np.asarray(vectors, np.float32)
    except (TypeError, ValueError):
        raise PersonError(f"{what} must be a numeric (k, dim) array") from None
    if arr.ndim != 2 or arr.shape[1] == 0 or (len(arr) == 0 and not allow_empty):
        raise PersonError(f"{what} must have shape (k, dim) with k, dim >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise PersonError(f"{what} contain NaN or infinite values")
    norms = np.linalg.norm(arr.astype(np.float64), axis=1, keepdims=True)
    if (norms == 0).any():
        raise PersonError(f"{what} contain an all-zero vector")
    # rows already unit length (an embedder's output, an export) are kept bit for bit, so
    # duplicates are recognised and an export/import round trip is exact
    off = np.abs(norms[:, 0] - 1.0) > 1e-5
    arr = np.array(arr, np.float32, order="C")
    arr[off] = (arr[off] / norms[off]).astype(np.float32)
    return arr


def column(values: Sequence[Any] | None, k: int, what: str,
           check: Callable[[Any], Any], default: Any) -> list[Any]:
    if values is None:
        return [default] * k
    values = list(values)
    if len(values) != k:
        raise PersonError(f"{what} has {len(values)} entries for {k} vectors")
    return [check(v) for v in values]


def check_quality(value: Any) -> float:
    try:
        q = float(value)
    except (TypeError, ValueError):
        raise PersonError(f"quality must be a number in [0, 1], got {value!r}") from None
    if not (math.isfinite(q) and 0.0 <= q <= 1.0):
        raise PersonError(f"quality must be a number in [0, 1], got {value!r}")
    return q


def file_name(value: Any) -> str | None:
    """Only the file name of a source: a database never records where files were kept."""
    if value is None:
        return None
    name = re.split(r"[\\/]", str(value))[-1][:255]
    return name or None


def check_hash(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 128:
        raise PersonError(f"content hash must be non-empty text, got {value!r}")
    return value
