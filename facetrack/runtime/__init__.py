"""The only place that starts threads or processes: the pipeline runner, the one background
writer (``RetryingQueue``) and the thread/process helpers every other module uses."""

from facetrack.runtime.retrying import RetryingQueue, outage_errors
from facetrack.runtime.runner import run_stages
from facetrack.runtime.threads import call_with_timeout, serve, spawn, spawn_process

__all__ = ["RetryingQueue", "call_with_timeout", "outage_errors", "run_stages", "serve", "spawn",
           "spawn_process"]
