"""Text rendering of a ``wildrydes train`` result (the JSON form is the result dict itself)."""
from __future__ import annotations

METRIC_LABELS = {
    "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1", "auc": "AUC",
    "threshold": "threshold (max accuracy)", "positive_rate": "share of rides needing service",
    "rmse": "RMSE", "mae": "MAE", "r2": "R²",
}


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def render(console, result: dict) -> None:
    """Metrics table, then where the model went and what to do next."""
    rows = [(METRIC_LABELS.get(name, name), _fmt(value)) for name, value in result["metrics"].items()]
    title = (f"{result['predictor_type']} on {result['rows']['validation']} validation rows "
             f"({result['rows']['train']} trained, {result['epochs']} epochs, "
             f"{result.get('trainer', 'mxnet')} trainer, {result['seconds']:.1f} s)")
    console.table(["metric", "value"], rows, title=title)
    console.line(f"data: {result['data']}" + (" - SYNTHETIC rides, pass --data FILE.csv for real ones"
                                               if result.get("synthetic") else ""))
    model = result["model"]
    if "saved_to" in model:
        console.line(f"model saved to {model['saved_to']} ({model['bytes']} bytes)")
        return
    console.line(f"model published to {model['location']}")
    if result.get("breed"):
        console.line(f"breed index: s3://{model['bucket']}/{model['index']}")
    else:
        console.line("serve it with: wildrydes deploy (it picks the newest linear-learner-* model)")


SHOWN_BREEDS = 20


def render_breeds(console, result: dict) -> None:
    """One row per breed (the first SHOWN_BREEDS), then where the models are."""
    classifier = result["predictor_type"] == "binary_classifier"
    names = ("AUC", "accuracy") if classifier else ("RMSE", "R²")
    keys = ("auc", "accuracy") if classifier else ("rmse", "r2")
    rows = [(item["breed"], *(_fmt(item["metrics"].get(k)) for k in keys), item["key"])
            for item in result["breeds"][:SHOWN_BREEDS]]
    title = (f"{result['count']} SYNTHETIC breeds, {result['rows_per_breed']} rides each "
             f"({result['seconds']:.1f} s training)")
    console.table(["breed", *names, "model key"], rows, title=title)
    hidden = result["count"] - len(rows)
    if hidden > 0:
        console.line(f"... and {hidden} more (--output json lists them all)")
    console.line(f"published to s3://{result['bucket']}/breeds/<breed>/ with a latest.json index per breed")
