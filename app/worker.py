"""The background worker's entry point: `huey_consumer app.worker.huey`.

Importing the task modules registers their tasks with the queue; the worker's application gives
each task its context.
"""

from app import create_app, extensions, tasks  # noqa: F401
from app.extensions import huey
from app.matching import tasks as matching_tasks  # noqa: F401
from app.sms import tasks as sms_tasks  # noqa: F401
from app.volunteers import tasks as volunteers_tasks  # noqa: F401

extensions.worker_app = create_app()

__all__ = ["huey"]
