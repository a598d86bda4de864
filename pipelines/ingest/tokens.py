"""Identifier tokens: normalise a raw identifier, then keep only its keyed HMAC.

Raw identifiers (phones, e-mails, plates, subject names and dates of birth, ad
handles) never reach the warehouse. Each is first normalised so that the same
identifier typed differently gives the same token:

==================  ================================================  ====================
kind                normalisation                                     example
==================  ================================================  ====================
``phone``           E.164 (US numbers without a country code get +1)  ``+14155550123``
``email``           trimmed, lower case, ``mailto:`` removed          ``a.b@example.org``
``vehicle_plate``   upper case, letters and digits only               ``7ABC123``
``ad_handle``       lower case, no ``@``, no spaces                   ``sunny_day``
``subject``         folded name (accents, case, punctuation and       ``ana|garcia|1990-02-03``
                    word order removed) ``|`` ISO date of birth
==================  ================================================  ====================

then tokenised as ``HMAC-SHA256(key, kind + ":" + normalised)`` in hex. The key is
32 random bytes in :func:`routes.settings.key_file` (``ROUTES_KEY_FILE``), created
with mode 0600 on first use and refused inside the warehouse's folder or when the
group or others may read it (:func:`routes.files.load_key_file`). Losing the
key means new tokens no longer match old ones (deconfliction across the change
stops working) until every source is re-ingested; keep a copy offline.
"""

from __future__ import annotations

import hmac
import logging
import re
import unicodedata

import numpy as np
import pandas as pd

from routes import files
from routes.contract.vocabularies import IDENTIFIER_KINDS

log = logging.getLogger(__name__)

#: The identifier kinds stored in ``record_identifiers.kind`` (the contract's vocabulary).
KINDS = IDENTIFIER_KINDS

#: The HMAC key (owned by :mod:`routes.files`, which the session cookie reads it from too).
load_key = files.token_key


# -- normalisation -------------------------------------------------------------


def normalise_phone(raw: object) -> str | None:
    """A phone number in E.164, or ``None`` if it is not one.

    >>> normalise_phone("(415) 555-0123")
    '+14155550123'
    >>> normalise_phone("+44 20 7946 0958")
    '+442079460958'
    >>> normalise_phone("12") is None
    True
    """
    return _one(normalise_phones, raw)


def normalise_email(raw: object) -> str | None:
    """A trimmed, lower-case e-mail address, or ``None``.

    >>> normalise_email(" Ana.G@Example.ORG ")
    'ana.g@example.org'
    """
    return _one(normalise_emails, raw)


def normalise_plate(raw: object) -> str | None:
    """A vehicle plate in upper case without spaces or dashes, or ``None``.

    >>> normalise_plate("7abc 123")
    '7ABC123'
    """
    return _one(normalise_plates, raw)


def normalise_handle(raw: object) -> str | None:
    """An ad handle in lower case without ``@`` or spaces, or ``None``.

    >>> normalise_handle(" @Sunny_Day ")
    'sunny_day'
    """
    return _one(normalise_handles, raw)


def fold_name(raw: object) -> str | None:
    """A name folded for matching: no accents, case, punctuation or word order.

    >>> fold_name("GARCÍA, Ana")
    'ana garcia'
    """
    return _one(fold_names, raw)


def _one(func, raw: object) -> str | None:  # type: ignore[no-untyped-def]
    value = func(pd.Series([raw], dtype=object)).iloc[0]
    return None if pd.isna(value) else str(value)


def _text(values: pd.Series) -> pd.Series:
    """Strings with blanks as missing (object dtype, so ``None`` stays ``None``)."""
    text = values.astype("str").where(values.notna()).str.strip()
    return text.where(text != "")


def normalise_phones(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_phone`."""
    text = _text(values)
    text = text.str.replace(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+\s*$", "", regex=True)
    plus = text.str.startswith("+")
    digits = text.str.replace(r"\D", "", regex=True)
    intl = digits.str.startswith("011") & ~plus
    digits = digits.where(~intl, digits.str.slice(3))
    plus = plus | intl
    n = digits.str.len()
    us10 = ~plus & (n == 10)
    us11 = ~plus & (n == 11) & digits.str.startswith("1")
    e164 = plus & (n >= 8) & (n <= 15)
    out = pd.Series(None, index=values.index, dtype=object)
    out[us10] = "+1" + digits[us10]
    out[us11 | e164] = "+" + digits[us11 | e164]
    return out


_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def normalise_emails(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_email`."""
    text = _text(values).str.replace(r"(?i)^mailto:", "", regex=True).str.lower()
    ok = text.str.match(_EMAIL).fillna(False).astype(bool)
    return text.where(ok).astype(object).where(ok, None)


def normalise_plates(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_plate`."""
    text = _text(values).str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    n = text.str.len()
    ok = ((n >= 2) & (n <= 10)).fillna(False).astype(bool)
    return text.astype(object).where(ok, None)


def normalise_handles(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_handle`."""
    text = _text(values).str.lower().str.replace(r"[\s@]", "", regex=True)
    ok = (text.str.len() > 0).fillna(False).astype(bool)
    return text.astype(object).where(ok, None)


def _fold_one(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    words = re.findall(r"[a-z0-9]+", plain)
    return " ".join(sorted(words))


def fold_names(values: pd.Series) -> pd.Series:
    """Vectorised :func:`fold_name` (each distinct name is folded once)."""
    text = _text(values)
    codes, uniques = pd.factorize(text)
    folded = np.array([_fold_one(str(u)) for u in uniques] + [None], dtype=object)
    out = pd.Series(folded[codes], index=values.index, dtype=object)
    return out.where(out != "", None)


def _dates_iso(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        from pipelines.ingest._validate import (
            parse_dates,  # local: _validate imports nothing of ours
        )

        parsed, _ = parse_dates(values)
    out = parsed.dt.strftime("%Y-%m-%d").astype(object)
    return out.where(parsed.notna(), None)


def normalise_subjects(names: pd.Series, dobs: pd.Series) -> pd.Series:
    """``folded name|ISO date of birth``; ``None`` unless both are present.

    >>> normalise_subjects(pd.Series(["Ana García"]), pd.Series(["02/03/1990"])).iloc[0]
    'ana garcia|1990-02-03'
    """
    folded = fold_names(names)
    iso = _dates_iso(dobs)
    ok = folded.notna() & iso.notna()
    out = pd.Series(None, index=names.index, dtype=object)
    out[ok] = folded[ok] + "|" + iso[ok]
    return out


_NORMALISERS = {
    "phone": normalise_phones,
    "email": normalise_emails,
    "vehicle_plate": normalise_plates,
    "ad_handle": normalise_handles,
}


# -- tokens --------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; kinds are {', '.join(KINDS)}")


def token_of_normalised(kind: str, normalised: str, *, key: bytes | None = None) -> str:
    """The token of an already normalised identifier (hex HMAC-SHA256)."""
    _check_kind(kind)
    key = key if key is not None else load_key()
    return hmac.digest(key, f"{kind}:{normalised}".encode(), "sha256").hex()


def tokenise(kind: str, raw: object, *, dob: object = None) -> str | None:
    """The token of one raw identifier, or ``None`` if it is blank or malformed.

    Parameters
    ----------
    kind
        One of :data:`KINDS`. For ``subject``, ``raw`` is the name and ``dob`` the
        date of birth (both are needed).
    raw
        The identifier as the source typed it.
    """
    _check_kind(kind)
    series = pd.Series([raw], dtype=object)
    dobs = pd.Series([dob], dtype=object)
    value = tokenise_column(kind, series, dobs=dobs).iloc[0]
    return None if value is None or pd.isna(value) else str(value)


def tokenise_column(
    kind: str, values: pd.Series, *, dobs: pd.Series | None = None, key: bytes | None = None
) -> pd.Series:
    """Tokens for a column of raw identifiers (same index; ``None`` where unusable).

    Each distinct normalised value is hashed once.
    """
    _check_kind(kind)
    if kind == "subject":
        if dobs is None:
            raise ValueError("tokenising 'subject' needs dobs= (dates of birth)")
        normalised = normalise_subjects(values, dobs)
    else:
        # each distinct text normalised once (normalising starts from this same text)
        text = values.astype("str").where(values.notna())
        text_codes, texts = pd.factorize(text)
        done = _NORMALISERS[kind](pd.Series(texts, dtype=object)).to_numpy(dtype=object)
        normalised = pd.Series(np.append(done, np.array([None], dtype=object))[text_codes], index=values.index, dtype=object)
    key = key if key is not None else load_key()
    codes, uniques = pd.factorize(normalised)
    prefix = f"{kind}:".encode()
    tokens = np.array(
        [hmac.digest(key, prefix + str(u).encode(), "sha256").hex() for u in uniques] + [None],
        dtype=object,
    )
    return pd.Series(tokens[codes], index=values.index, dtype=object)

