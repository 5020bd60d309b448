"""The background worker's entry point: `huey_consumer app.worker.huey`.

Importing the task modules registers their tasks with the queue.
"""

from app import tasks  # noqa: F401
from app.extensions import huey

__all__ = ["huey"]
