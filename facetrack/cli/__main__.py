from facetrack.cli import app

app(prog_name="facetrack")
