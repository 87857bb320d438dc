"""One base error for everything facetrack raises on purpose.

Each subclass also inherits the builtin a caller would expect (``OSError`` for files, ``ValueError``
for bad settings), so ``except OSError`` keeps working. Messages are written for the person running
the tool: they name the file and the problem, on one line.
"""

from __future__ import annotations


class FacetrackError(Exception):
    """Base class of every error facetrack raises deliberately."""


class InputError(FacetrackError, OSError):
    """An input (video, image, folder) is missing, unreadable or not what it claims to be."""


class DecodeError(InputError):
    """A video broke part-way through; ``frame`` is the index of the first frame not decoded."""

    def __init__(self, message: str, frame: int) -> None:
        super().__init__(message)
        self.frame = frame


class DamagedInputError(DecodeError):
    """Some frames of an input could not be decoded and were skipped; every other frame was
    processed (``frame``: how many were)."""


class ConfigError(FacetrackError, ValueError):
    """A configuration file or value is invalid."""


class ModelError(FacetrackError, RuntimeError):
    """A model file is missing, altered (sha256 mismatch) or cannot be loaded."""


class OutputError(FacetrackError, OSError):
    """An output file cannot be written (it exists, no permission, disk full)."""


class DatabaseError(FacetrackError, RuntimeError):
    """The face database file cannot be used: not a facetrack database, corrupt, from a newer
    facetrack, or unreadable."""


class DatabaseLockedError(DatabaseError):
    """Another process holds the face database's write lock longer than the wait allows."""


class ModelMismatchError(DatabaseError):
    """Vectors from one embedding model were given to a database that holds another model's
    vectors; the two are not comparable, so they are never mixed."""


class PersonError(FacetrackError, ValueError):
    """A name, attribute or embedding given for a person is invalid, or a name is taken."""


class UnknownPersonError(FacetrackError, LookupError):
    """No enrolled person has that name; the message lists close names."""
