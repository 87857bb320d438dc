"""The window's own process: shows the PPM frames it receives on a pipe, in one Tk window.

It runs apart from the monitor because Xlib ends the whole process when the X server goes
away (its default I/O error handler calls ``exit``); here that ends only the window. It imports
nothing but the standard library, so it starts fast. The pipe closing ends it; the user closing
the window ends it too (the monitor notices and goes on without a window).
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection


def run(conn: Connection, title: str, width: int, height: int) -> None:
    import tkinter

    try:
        root = tkinter.Tk()
    except tkinter.TclError as exc:
        conn.send(f"error: {exc}")
        return
    root.title(title)
    root.geometry(f"{width}x{height}+0+0")
    root.configure(background="black")
    label = tkinter.Label(root, background="black", borderwidth=0)
    label.pack()
    closed = []
    root.protocol("WM_DELETE_WINDOW", lambda: closed.append(True))
    conn.send("ready")
    photo = None
    while not closed:
        try:
            if conn.poll(0.05):
                ppm = conn.recv_bytes()
                photo = tkinter.PhotoImage(data=ppm, format="PPM")
                label.configure(image=photo)
                conn.send(1)  # drawn: the monitor may send the next frame
            root.update()
        except (EOFError, OSError):
            break  # the monitor closed the pipe
    del photo
    root.destroy()


if __name__ == "__main__":  # pragma: no cover - started by multiprocessing only
    sys.exit("facetrack: the window process is started by `facetrack monitor --window`")
