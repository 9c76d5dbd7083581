"""The text form of ``models``, ``evaluate`` and the quality gate (presentation.py dispatches here).

Apart from presentation.py for size: a model's figures take a few tables
(metrics side by side with --against, the confusion matrix, calibration, breeds).
"""
from __future__ import annotations

from typing import Any

from wildrydes_cli.cli.console import Console
from wildrydes_cli.results import BreedHistoryResult, EvaluateResult, GateResult, HistoryResult, ModelsResult

SHOWN_BREEDS = 20
ORDER = ("auc", "accuracy", "precision", "recall", "f1", "log_loss", "rmse", "mae", "r2")
LABELS = {"auc": "ROC AUC", "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1",
          "log_loss": "log loss", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _data_line(data: dict, synthetic: bool) -> str:
    share = data.get("label_share")
    parts = [f"{data['rows']:,} rows"]
    if share is not None:
        parts.append(f"{100 * share:.1f}% heavy magic use")
    if data.get("date_range"):
        parts.append(f"{data['date_range'][0]} .. {data['date_range'][1]}")
    if data.get("sha256"):
        parts.append(f"sha256 {data['sha256'][:12]}")
    what = "SYNTHETIC rides, pass --data FILE for your own" if synthetic else data.get("name", "")
    return f"data: {data.get('name') if synthetic else what} ({', '.join(parts)})" + (
        f" - {what}" if synthetic else "")


def evaluate(console: Console, result: EvaluateResult) -> None:
    figures = result.figures
    metrics = figures["metrics"]
    other = result.against
    columns = ["metric", result.model] + ([other["model"]] if other else [])
    rows = [[LABELS[name], _fmt(metrics.get(name))] + ([_fmt(other["metrics"].get(name))] if other else [])
            for name in ORDER if name in metrics]
    threshold = f", threshold {result.threshold:.4f}" if result.threshold is not None else ""
    console.table(columns, rows, title=f"{result.predictor_type}{threshold}", keep=columns[1:])
    console.line(_data_line(result.data, result.synthetic))
    if result.card is None:
        console.line("model card: no metrics (published without metrics.json)")
    elif "problem" not in result.card:
        for flag in result.card.get("flags") or ():
            console.line(f"flagged: {flag}", style="bold")
    confusion = figures.get("confusion")
    if confusion:
        console.table(["", "predicted 1", "predicted 0"],
                      [["actual 1", confusion["tp"], confusion["fn"]], ["actual 0", confusion["fp"], confusion["tn"]]],
                      title="confusion at the threshold")
    calibration = figures.get("calibration")
    if calibration:
        console.table(["score", "rows", "mean score", "observed"],
                      [[f"{b['low']:.1f}-{b['high']:.1f}", b["rows"], _fmt(b["mean_score"]), _fmt(b["observed_share"])]
                       for b in calibration], title="calibration (ten bins)")
    breeds = figures.get("per_breed")
    if breeds:
        key = "auc" if "auc" in metrics else "r2"
        shown = list(breeds.items())[:SHOWN_BREEDS]
        console.table(["breed", "rows", LABELS[key]], [[name, b["rows"], _fmt(b.get(key))] for name, b in shown],
                      title=f"{len(breeds)} breeds" + (f" (the {SHOWN_BREEDS} largest shown)"
                                                        if len(breeds) > SHOWN_BREEDS else ""))
    if other:
        differ = other["disagreements"]
        console.line(f"the two models disagree on {differ['count']:,} rides ({100 * differ['share']:.2f}%)"
                     + (f"; the first {len(differ['rides'])}:" if differ["rides"] else ""))
        if differ["rides"]:
            names = [n for n in differ["rides"][0] if n not in ("row", "label", "score", "against_score")]
            console.table(["row", *names, "label", "score", "against"],
                          [[r["row"], *(f"{r[n]:g}" for n in names), f"{r['label']:g}", _fmt(r["score"]),
                            _fmt(r["against_score"])] for r in differ["rides"]])


def gate(console: Console, result: GateResult) -> None:
    """The gate's verdict, one line (deploy and train show it before their own lines)."""
    if result.skipped:
        console.line(f"quality gate skipped: {result.skipped}")
        return
    verdict = "passed" if result.passed else ("FAILED, served anyway (--force)" if result.forced else "FAILED")
    console.line(f"quality gate {verdict}: {result.metric} {_fmt(result.candidate_value)} (candidate) against "
                 f"{_fmt(result.served_value)} (served, {result.served}) on {result.rows:,} rows of {result.data}; "
                 f"allowed drop {result.max_regression:g}")
    for flag in result.flags:
        console.line(f"flagged: {flag}", style="bold")


def breeds_gate(console: Console, breeds: list[dict], refused: tuple[dict, ...], count: int,
                kept: str = "not published") -> None:
    """``train --breeds N``: which breeds --force moved past a failed gate, which the gate refused, with figures.

    ``kept``: what became of a refused breed's new model (SageMaker's jobs leave theirs under the job key)."""
    forced = [item["breed"] for item in breeds if (item.get("gate") or {}).get("forced")]
    if forced:
        console.line(f"quality gate failed but --force moved latest.json of {len(forced)} breeds: "
                     + ", ".join(forced[:SHOWN_BREEDS]) + (" ..." if len(forced) > SHOWN_BREEDS else ""))
    if not refused:
        return
    console.line(f"quality gate REFUSED {len(refused)} of {count} breeds ({kept}, latest.json stays on "
                 "the better model; --force moves it anyway):", style="bold")
    for item in refused[:SHOWN_BREEDS]:
        verdict = item.get("gate") or {}
        figures = (f"{verdict['metric']} {_fmt(verdict['candidate_value'])} against {_fmt(verdict['served_value'])} "
                   f"on {verdict['rows']:,} rows" if verdict.get("candidate_value") is not None else item["reason"])
        console.line(f"  {item['breed']}: {figures}")
    if len(refused) > SHOWN_BREEDS:
        console.line(f"  ... and {len(refused) - SHOWN_BREEDS} more (--output json lists them all)")


HEADLINE_METRICS = ("auc", "accuracy", "rmse", "r2")


def metric_summary(metrics: dict) -> str:
    shown = [f"{name} {metrics[name]:.3f}" for name in HEADLINE_METRICS
             if isinstance(metrics.get(name), (int, float))]
    return ", ".join(shown) or "-"


SHOWN_FLAGGED = 5   # the newest models' flags are listed under the table


def card_summary(card: dict | None) -> str:
    """A model's metrics.json in a cell: its headline metrics and rows, or why there are none."""
    if card is None:
        return "no metrics"
    if "problem" in card:
        return f"({card['problem']})"
    data = card.get("data") or {}
    rows, validation = data.get("rows"), data.get("validation_rows")
    if isinstance(rows, int) and isinstance(validation, int):   # a trained model: measured on its held-out rows
        where = f" on {validation:,} validation rows (of {rows:,} {data.get('source', '')})"
    elif isinstance(rows, int):                                  # an evaluation: on every row it read
        where = f" on {rows:,} {data.get('source', '')} rows"
    else:
        where = ""
    return metric_summary(card.get("metrics") or {}) + where + (" (flagged)" if card.get("flags") else "")


def models(console: Console, result: ModelsResult) -> None:
    """Two tables: default models (newest first) and breeds."""
    if result.default_models:
        console.table(["model path", "trained (UTC)", "validation", "served"],
                      [[m.model_path, m.timestamp, card_summary(m.card), "<- deployed" if m.deployed else ""]
                       for m in result.default_models],
                      title=f"Default models in s3://{result.bucket} (newest first; deploy serves the newest)",
                      keep=["model path", "served"])
        for m in result.default_models[:SHOWN_FLAGGED]:
            for flag in (m.card or {}).get("flags") or ():
                console.line(f"flagged {m.model_path}: {flag}")
    listed = {m.model_path for m in result.default_models}
    if result.deployed_model and result.deployed_model not in listed:
        console.line(f"deployed: {result.deployed_model} (not a default model listed here)")
    if result.breeds:
        console.table(["breed", "newest model", "trained at", "validation"],
                      [[b.breed, b.model_path or f"({b.problem})", b.trained_at or "-", metric_summary(b.metrics)]
                       for b in result.breeds],
                      title=f"{len(result.breeds)} breeds (POST {{invoke URL}}breeds/<breed>)", keep=["newest model"])
    if not result.default_models and not result.breeds:
        console.line(f"No models in s3://{result.bucket} yet: run `wildrydes train` "
                     "(or `wildrydes train --breed NAME`).")


def _gate_cell(gate: dict | None) -> str:
    if not gate:
        return "-"
    if gate.get("skipped"):
        return "skipped"
    if gate.get("candidate_value") is None:
        return "not compared"
    return f"{gate.get('metric')} {_fmt(gate.get('candidate_value'))} vs {_fmt(gate.get('served_value'))}"


def breed_history(console: Console, result: BreedHistoryResult) -> None:
    """The breed's models (newest first, latest.json's marked), then each move of latest.json."""
    console.table(["model path", "trained (UTC)", "validation", "latest"],
                  [[m.model_path, m.timestamp, card_summary(m.card), "<- latest.json" if m.latest else ""]
                   for m in result.models],
                  title=f"Models of breed {result.breed} in s3://{result.bucket} (newest first)",
                  keep=["model path", "latest"])
    if result.latest_problem:
        console.line(f"latest.json: {result.latest_problem}")
    elif result.latest not in {m.model_path for m in result.models}:
        console.line(f"latest.json names {result.latest}, which is not among the breed's models")
    if not result.moves:
        console.line("latest.json moves: none recorded (models published before moves were recorded)")
        return
    rows = []
    for move in result.moves:
        if "problem" in move:
            rows.append(["-", f"({move['problem']})", "", "", ""])
            continue
        rows.append([move.get("moved_at", "-"), move.get("key", "-"), move.get("how", "-"),
                     _gate_cell(move.get("gate")), move.get("by") or "-"])
    console.table(["moved at (UTC)", "latest.json to", "how", "gate", "by"], rows,
                  title="Moves of latest.json, newest first", keep=["latest.json to"])


def history(console: Console, result: HistoryResult) -> None:
    """One row per deploy, newest first: when, which model, by whom, its AUC, the gate."""
    if not result.entries:
        console.line(f"No deploys recorded in s3://{result.bucket}/deploy-history/{result.stack}/ yet.")
        return
    rows = []
    for entry in result.entries:
        if "problem" in entry:
            rows.append(["-", f"({entry['problem']})", "", "", "", ""])
            continue
        gate_verdict = entry.get("gate") or {}
        verdict = ("-" if not gate_verdict else "skipped" if gate_verdict.get("skipped")
                   else "forced" if gate_verdict.get("forced") else "passed")
        card = {"metrics": entry.get("metrics"), "data": entry.get("data"), "flags": entry.get("flags")} \
            if entry.get("metrics") is not None else None
        rows.append([entry.get("deployed_at", "-"), entry.get("action", "deploy"), entry.get("model_path", "-"),
                     entry.get("by", "-"), card_summary(card), verdict])
    console.table(["deployed at (UTC)", "action", "model", "by", "validation", "gate"], rows,
                  title=f"Deploys of {result.stack}, newest first", keep=["model"])

