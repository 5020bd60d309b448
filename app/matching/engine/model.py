"""The scoring model: a conditional logit over a query's candidates and 'not registered'.

Each candidate c gets a linear score z_c = w . f_c from its comparison features f_c. The
probability that c is the person is exp(z_c) / (exp(z_none) + sum_j exp(z_j)): candidates
compete, so two namesakes that agree equally well share the probability instead of both
looking certain, and a query whose person is not registered keeps the mass on 'none'.
The weights are fitted on labelled pairs by scripts/train_matching.py and stored as data.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("data") / "model.json"


@dataclass(frozen=True)
class Model:
    """Feature weights, the score of 'not registered', and the alert threshold."""

    weights: dict[str, float]
    none_score: float
    alert_threshold: float

    def linear(self, features: dict[str, float]) -> float:
        """z = w . f (features the model does not know are ignored)."""
        return sum(self.weights.get(name, 0.0) * value for name, value in features.items())

    def posteriors(self, scores: list[float]) -> list[float]:
        """P(candidate is the person) for each linear score, against 'not registered'."""
        if not scores:
            return []
        top = max(max(scores), self.none_score)
        exps = [math.exp(s - top) for s in scores]
        denominator = math.exp(self.none_score - top) + sum(exps)
        return [e / denominator for e in exps]

    def to_json(self) -> str:
        return json.dumps(
            {
                "weights": self.weights,
                "none_score": self.none_score,
                "alert_threshold": self.alert_threshold,
            },
            indent=2,
            sort_keys=True,
        )


@cache
def load_model(path: Path = MODEL_FILE) -> Model:
    """The fitted model shipped with the engine."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return Model(
        weights={k: float(v) for k, v in data["weights"].items()},
        none_score=float(data["none_score"]),
        alert_threshold=float(data["alert_threshold"]),
    )
