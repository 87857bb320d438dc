"""Biometric templates encrypted at rest: AES-256-GCM (the ``cryptography`` package) under a
key the owner keeps outside the database.

- The key: 32 random bytes, base64 in a key file (``facetrack db keygen FILE``, written 0600)
  named by ``--key-file`` / ``recognition.key_file`` / ``$FACETRACK_DB_KEY_FILE``, or the
  base64 itself in ``$FACETRACK_DB_KEY``.
- Each stored vector is ``FTE1 | 12-byte random nonce | ciphertext+tag``; the database records
  the key's id (a hash of the key, never the key), so a wrong or missing key is one clear error
  when the database opens, never garbage matches; an altered vector fails its tag.
- Export files of an encrypted database are encrypted whole under the same key.
- ``FaceDatabase.rekey`` re-encrypts every vector under a new key (or none) in one
  transaction, then rewrites the files so no old ciphertext is left.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from facetrack.errors import DatabaseError, InputError

MAGIC = b"FTE1"
NONCE = 12
#: the first line of an encrypted export file; the rest is base64 of the sealed JSON lines
EXPORT_MAGIC = b"facetrack-encrypted-export v1\n"
ENV_KEY, ENV_KEY_FILE = "FACETRACK_DB_KEY", "FACETRACK_DB_KEY_FILE"


@dataclass(frozen=True, repr=False)
class TemplateKey:
    secret: bytes

    @property
    def key_id(self) -> str:
        """What the database records to recognise its key (not the key)."""
        return hashlib.sha256(b"facetrack template key\0" + self.secret).hexdigest()[:16]

    def __repr__(self) -> str:  # never print the secret
        return f"TemplateKey(id={self.key_id})"


def new_key() -> str:
    """A fresh key, as the text of a key file."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def parse_key(text: str, where: str) -> TemplateKey:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: not a facetrack key (base64 of 32 bytes; make one with "
                         "`facetrack db keygen FILE`)") from None
    if len(secret) != 32:
        raise InputError(f"{where}: a key is 32 bytes, this one is {len(secret)}")
    return TemplateKey(secret)


def load_key(path: Path | str | None = None) -> TemplateKey | None:
    """The key of ``path``, else of ``$FACETRACK_DB_KEY_FILE``, else ``$FACETRACK_DB_KEY``;
    None when none is given (templates stay unencrypted)."""
    source: Path | str | None = path if path is not None else (
        os.environ.get(ENV_KEY_FILE) or None)
    if source is not None:
        try:
            text = Path(source).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{source}: cannot read the key file "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
        return parse_key(text, str(source))
    env_text = os.environ.get(ENV_KEY)
    return parse_key(env_text, f"${ENV_KEY}") if env_text else None


def seal(key: TemplateKey, plain: bytes, aad: bytes = b"embedding") -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE)
    return MAGIC + nonce + AESGCM(key.secret).encrypt(nonce, plain, aad)


def unseal(key: TemplateKey, blob: bytes, where: str, aad: bytes = b"embedding") -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE + 16:
        raise DatabaseError(f"{where}: a stored vector is not encrypted (altered database?)")
    nonce, body = blob[len(MAGIC):len(MAGIC) + NONCE], blob[len(MAGIC) + NONCE:]
    try:
        return AESGCM(key.secret).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DatabaseError(f"{where}: a stored vector fails its check (wrong key, or the "
                            "database was altered)") from None


class UnencryptedError(DatabaseError):
    """A key was given for a database whose templates are not encrypted."""


class Codec:
    """How vectors are stored: sealed under ``key``, or as they are (no key)."""

    def __init__(self, key: TemplateKey | None, where: str) -> None:
        self.key, self.where = key, where

    def encode(self, plain: bytes) -> bytes:
        return plain if self.key is None else seal(self.key, plain)

    def decode(self, stored: bytes) -> bytes:
        if self.key is None:
            if stored.startswith(MAGIC):
                raise DatabaseError(f"{self.where}: the vectors are encrypted; give the key")
            return stored
        return unseal(self.key, stored, self.where)


def check_key(stored_id: str | None, key: TemplateKey | None, has_vectors: bool,
              where: str) -> str | None:
    """The key id to record (None: nothing to record), or a one-line error: an encrypted
    database needs its key; a database with unencrypted vectors is encrypted by ``rekey``,
    not by opening it with a key."""
    if stored_id is not None:
        if key is None:
            raise DatabaseError(f"{where}: the face database is encrypted: give its key "
                                f"(--key-file, recognition.key_file or ${ENV_KEY_FILE})")
        if key.key_id != stored_id:
            raise DatabaseError(f"{where}: this is not the face database's key (it was "
                                f"encrypted with key {stored_id}, this is {key.key_id})")
        return None
    if key is None:
        return None
    if has_vectors:
        raise UnencryptedError(f"{where}: the face database holds unencrypted embeddings; "
                            "encrypt them with `facetrack db rekey --new-key-file FILE`")
    return key.key_id


def seal_export(key: TemplateKey, data: bytes) -> bytes:
    return EXPORT_MAGIC + base64.b64encode(seal(key, data, b"export")) + b"\n"


def unseal_export(key: TemplateKey | None, data: bytes, where: str) -> bytes:
    """The JSON lines of an export file (as they are unless encrypted)."""
    if not data.startswith(EXPORT_MAGIC):
        return data
    if key is None:
        raise InputError(f"{where}: the export is encrypted: give its key (--key-file)")
    try:
        blob = base64.b64decode(data[len(EXPORT_MAGIC):].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: damaged encrypted export") from None
    try:
        return unseal(key, blob, where, b"export")
    except DatabaseError:
        raise InputError(f"{where}: the export fails its check (wrong key, or the file was "
                         "altered)") from None
