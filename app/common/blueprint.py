"""The flask-smorest Blueprint every domain's routes use."""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from webargs.flaskparser import FlaskParser


class JsonParser(FlaskParser):
    """webargs' parser, with deeply nested JSON answered as malformed (400) instead of a 500."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:
            # json.loads gives up on '[[[[…' with RecursionError, which webargs does not expect.
            self._handle_invalid_json_error(exc, req)  # type: ignore[arg-type]


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint whose request bodies are read with JsonParser."""

    ARGUMENTS_PARSER = JsonParser()
