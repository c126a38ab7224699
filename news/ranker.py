"""The second pass's learned scorer: a small neural network over the candidates' features.

It scores each of a question's leading sentences from the features ``news.answer`` computes
for it (``RERANK_FEATURES``): a linear part plus one hidden layer of a few tanh units, which
lets a feature count differently depending on another (a keyword match says more when the
sentence is in the question's language). It is fitted on XQuAD-R's other languages by
``benchmarks/fit_weights.py`` and shipped as ``ranker.json`` beside this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]

RANKER_FILE = "ranker.json"


@dataclass(frozen=True, slots=True, eq=False)
class Ranker:
    """Weights of the second pass, over standardised features."""

    features: tuple[str, ...]  # the feature names it was fitted on, in order
    mean: Vector  # (features,): subtracted from each feature ...
    scale: Vector  # (features,): ... which is then divided by this
    linear: Vector  # (features,)
    hidden: npt.NDArray[np.float64]  # (features, units)
    hidden_bias: Vector  # (units,)
    output: Vector  # (units,)

    def score(self, features: npt.NDArray[np.float64]) -> Vector:
        """One score per row of ``features`` (candidates x features); higher is better."""
        z = (features - self.mean) / self.scale
        scores: Vector = z @ self.linear + np.tanh(z @ self.hidden + self.hidden_bias) @ self.output
        return scores

    def to_json(self) -> dict[str, Any]:
        """The weights as plain lists, rounded to what matters."""

        def rounded(values: npt.NDArray[np.float64]) -> Any:
            # Six significant digits: a feature's scale can be small, and must not become 0.
            return np.vectorize(lambda value: float(f"{value:.6g}"), otypes=[float])(
                values
            ).tolist()

        return {
            "features": list(self.features),
            "mean": rounded(self.mean),
            "scale": rounded(self.scale),
            "linear": rounded(self.linear),
            "hidden": rounded(self.hidden),
            "hidden_bias": rounded(self.hidden_bias),
            "output": rounded(self.output),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Ranker:
        """Weights from ``to_json``'s form; shapes are checked."""
        features = tuple(str(name) for name in data["features"])
        count = len(features)
        hidden = np.array(data["hidden"], np.float64).reshape(count, len(data["hidden_bias"]))
        ranker = Ranker(
            features=features,
            mean=np.array(data["mean"], np.float64),
            scale=np.array(data["scale"], np.float64),
            linear=np.array(data["linear"], np.float64),
            hidden=hidden,
            hidden_bias=np.array(data["hidden_bias"], np.float64),
            output=np.array(data["output"], np.float64),
        )
        for name in ("mean", "scale", "linear"):
            if getattr(ranker, name).shape != (count,):
                raise ValueError(f"ranker {name} has the wrong length")
        units = (hidden.shape[1],)
        if ranker.hidden_bias.shape != units or ranker.output.shape != units:
            raise ValueError("ranker hidden layer shapes disagree")
        return ranker

    def save(self, path: Path) -> None:
        """Write the weights as JSON."""
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def shipped_ranker() -> Ranker:
    """The ranker fitted for this release (``news/ranker.json``)."""
    text = resources.files("news").joinpath(RANKER_FILE).read_text(encoding="utf-8")
    return Ranker.from_json(json.loads(text))
