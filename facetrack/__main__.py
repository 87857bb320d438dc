"""``python -m facetrack`` and the ``facetrack`` command."""

import os
import sys


def main() -> None:
    """Run the CLI. Ctrl-C while it is still starting (its modules take a second or more to
    load on a busy machine) ends it like Ctrl-C later on: one line, exit 130, no traceback.
    OpenCV's own log stays quiet (set OPENCV_LOG_LEVEL to see it): a damaged image printed
    four ``[ERROR:0@1.07] ... imdecode_ ...`` lines above facetrack's one-line error."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    try:
        from facetrack.cli import app

        app(prog_name="facetrack")
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
