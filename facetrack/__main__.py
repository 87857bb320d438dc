"""``python -m facetrack`` and the ``facetrack`` command."""

import os
import sys

#: files and folders the command creates: readable by their owner only (0600 / 0700)
PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Everything the command writes (outputs, stores and their WAL, clips, thumbnails, logs,
    keys, exports; also what PyAV, OpenCV and SQLite create for it) is its owner's alone;
    ``$FACETRACK_UMASK`` (octal, e.g. ``027``) opens it to a group."""
    value = os.environ.get("FACETRACK_UMASK", "")
    try:
        mask = int(value, 8) if value else PRIVATE_UMASK
    except ValueError:
        print(f"error: FACETRACK_UMASK {value!r} is not an octal mask such as 077 or 027",
              file=sys.stderr)
        sys.exit(2)
    os.umask(mask & 0o777)


def main() -> None:
    """Run the CLI. Ctrl-C while it is still starting (its modules take a second or more to
    load on a busy machine) ends it like Ctrl-C later on: one line, exit 130, no traceback.
    OpenCV's own log stays quiet (set OPENCV_LOG_LEVEL to see it): a damaged image printed
    four ``[ERROR:0@1.07] ... imdecode_ ...`` lines above facetrack's one-line error."""
    private_umask()
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    try:
        from facetrack.cli import app

        app(prog_name="facetrack")
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
