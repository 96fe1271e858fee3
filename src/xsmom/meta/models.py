"""Fit meta-models: purged CV with embargo, uniqueness weights, calibration, threshold.

Two learners: a logistic regression (scikit-learn; median imputation, standardization) as
the baseline and gradient boosting (LightGBM). Each is scored out of fold by purged k-fold
CV; a calibrator (Platt sigmoid or isotonic) is fitted on the out-of-fold scores, and the
threshold is chosen on the calibrated out-of-fold probabilities, maximizing the expected PnL
(uniqueness-weighted sum of the net returns of the taken entries) or F1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from lightgbm import LGBMClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from xsmom.errors import ConfigError
from xsmom.meta.cv import purged_kfold
from xsmom.meta.dataset import Dataset

F64 = npt.NDArray[np.float64]
Learner = Literal["logistic", "lightgbm"]
LEARNERS: tuple[Learner, ...] = ("logistic", "lightgbm")
GRID = np.round(np.arange(0.0, 1.0001, 0.01), 2)


@dataclass(frozen=True)
class TrainOptions:
    """How ``xsmom meta train`` fits (recorded in the model's manifest)."""

    model: Literal["auto", "logistic", "lightgbm"] = "auto"
    objective: Literal["pnl", "f1"] = "pnl"
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid"
    cv_folds: int = 5
    embargo: int = 24
    seed: int = 7


class Calibrator:
    """Map a learner's raw score to a calibrated probability."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._iso: IsotonicRegression | None = None
        self._lr: LogisticRegression | None = None

    def fit(self, raw: F64, y: npt.NDArray[np.int64], w: F64) -> Calibrator:
        """Fit on out-of-fold scores."""
        if self.kind == "isotonic":
            self._iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            self._iso.fit(raw, y, sample_weight=w)
        else:
            self._lr = LogisticRegression(C=1e6)
            self._lr.fit(_logit(raw)[:, None], y, sample_weight=w)
        return self

    def __call__(self, raw: F64) -> F64:
        """Return calibrated probabilities."""
        if self._iso is not None:
            return np.asarray(self._iso.predict(raw), dtype=np.float64)
        assert self._lr is not None
        return np.asarray(self._lr.predict_proba(_logit(raw)[:, None])[:, 1], dtype=np.float64)


def _logit(p: F64) -> F64:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


def make_learner(kind: Learner, seed: int) -> Any:
    """Return an unfitted learner."""
    if kind == "logistic":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("lr", LogisticRegression(C=0.1, max_iter=2000)),
            ]
        )
    return LGBMClassifier(
        n_estimators=150,
        learning_rate=0.03,
        num_leaves=7,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def fit_learner(kind: Learner, x: F64, y: npt.NDArray[np.int64], w: F64, seed: int) -> Any:
    """Fit a learner with sample weights (refuses a single-class sample)."""
    if np.unique(y).size < 2:
        raise ConfigError("a training sample has only one class: widen the window")
    model = make_learner(kind, seed)
    if kind == "logistic":
        model.fit(x, y, lr__sample_weight=w)
    else:
        model.fit(x, y, sample_weight=w)
    return model


def raw_scores(model: Any, x: F64) -> F64:
    """Return the learner's uncalibrated probability of class 1."""
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def out_of_fold(kind: Learner, ds: Dataset, opts: TrainOptions) -> F64:
    """Return out-of-fold raw scores from purged k-fold CV with embargo."""
    oof = np.full(ds.size, np.nan)
    for train, test in purged_kfold(ds.events.bar, ds.end, opts.cv_folds, opts.embargo):
        if train.size == 0:
            continue  # the first fold may have nothing before it once purged
        m = fit_learner(kind, ds.x[train], ds.y[train], ds.weight[train], opts.seed)
        oof[test] = raw_scores(m, ds.x[test])
    return oof


def choose_threshold(p: F64, y: npt.NDArray[np.int64], net: F64, w: F64, objective: str) -> float:
    """Return the grid threshold maximizing expected PnL or F1 (lowest on ties)."""
    best, best_th = -np.inf, 0.5
    for th in GRID:
        take = p >= th
        if objective == "pnl":
            value = float((w * net * take).sum())
        else:
            tp = float((w * take * (y == 1)).sum())
            den = float((w * take).sum() + (w * (y == 1)).sum())
            value = 2 * tp / den if den > 0 else 0.0
        if value > best + 1e-12:
            best, best_th = value, float(th)
    return best_th


def cv_metrics(p: F64, ds: Dataset, threshold: float) -> dict[str, Any]:
    """Return out-of-sample quality of probabilities ``p`` at ``threshold``."""
    y, w, net = ds.y, ds.weight, ds.net
    take = p >= threshold
    pos = y == 1
    base = float(pos.mean())
    precision = float(pos[take].mean()) if take.any() else float("nan")
    recall = float((take & pos).sum() / max(pos.sum(), 1))
    bins = np.clip((p * 10).astype(int), 0, 9)
    calib = [
        [float(p[bins == b].mean()), float(y[bins == b].mean()), int((bins == b).sum())]
        for b in range(10)
        if (bins == b).any()
    ]
    return {
        "samples": int(y.size),
        "threshold": threshold,
        "base_rate": base,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if take.any() and recall else 0.0,
        "lift": precision / base if take.any() and base > 0 else float("nan"),
        "take_rate": float(take.mean()),
        "auc": float(roc_auc_score(y, p)) if 0 < base < 1 else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "mean_net_all": float(net.mean()),
        "mean_net_taken": float(net[take].mean()) if take.any() else float("nan"),
        "pnl_all": float((w * net).sum()),
        "pnl_taken": float((w * net * take).sum()),
        "calibration": calib,
    }


def importance(kind: Learner, model: Any, names: tuple[str, ...]) -> dict[str, float]:
    """Return feature importance: LightGBM gain, or |standardized coefficient|."""
    if kind == "lightgbm":
        raw = np.asarray(model.booster_.feature_importance(importance_type="gain"), dtype=float)
    else:
        raw = np.abs(np.asarray(model.named_steps["lr"].coef_[0], dtype=float))
    total = float(raw.sum()) or 1.0
    return {n: float(v / total) for n, v in zip(names, raw, strict=True)}


@dataclass(frozen=True, eq=False)
class Fitted:
    """One learner fitted on a whole window, with its calibrator and CV record."""

    kind: Learner
    model: Any
    calibrator: Calibrator
    threshold: float
    metrics: dict[str, Any]
    importance: dict[str, float]

    def predict(self, x: F64) -> F64:
        """Return calibrated probabilities that an entry beats its costs."""
        return self.calibrator(raw_scores(self.model, x))


def fit_one(kind: Learner, ds: Dataset, opts: TrainOptions) -> Fitted:
    """Run purged CV, calibrate, choose the threshold and fit on the whole window."""
    oof = out_of_fold(kind, ds, opts)
    scored = np.isfinite(oof)
    if scored.sum() < 20 or np.unique(ds.y[scored]).size < 2:
        raise ConfigError("too few out-of-fold predictions to calibrate: widen the window")
    sub = _subset(ds, scored)
    cal = Calibrator(opts.calibration).fit(oof[scored], sub.y, sub.weight)
    p = cal(oof[scored])
    th = choose_threshold(p, sub.y, sub.net, sub.weight, opts.objective)
    model = fit_learner(kind, ds.x, ds.y, ds.weight, opts.seed)
    return Fitted(kind, model, cal, th, cv_metrics(p, sub, th), importance(kind, model, ds.names))


def _subset(ds: Dataset, keep: npt.NDArray[np.bool_]) -> Dataset:
    return Dataset(
        names=ds.names,
        x=ds.x[keep],
        y=ds.y[keep],
        net=ds.net[keep],
        weight=ds.weight[keep],
        events=ds.events.take(keep),
        end=ds.end[keep],
        start_bar=ds.start_bar,
        stop_bar=ds.stop_bar,
    )


def objective_value(f: Fitted, objective: str) -> float:
    """Return the CV objective a fitted learner reached."""
    return float(f.metrics["pnl_taken"] if objective == "pnl" else f.metrics["f1"])


def fit_models(ds: Dataset, opts: TrainOptions) -> tuple[Fitted, list[Fitted]]:
    """Fit the learners ``opts.model`` asks for; return (chosen, all fitted)."""
    kinds = LEARNERS if opts.model == "auto" else (opts.model,)
    fitted = [fit_one(k, ds, opts) for k in kinds]
    chosen = max(fitted, key=lambda f: objective_value(f, opts.objective))
    return chosen, fitted
