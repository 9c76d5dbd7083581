"""The text form of training's results: a run's metrics, breeds, SageMaker jobs and their progress.

Why apart from presentation.py: training has the most shapes of output (a local run, many
breeds, a SageMaker job, its progress while it runs, the jobs list) and they share one
vocabulary (METRIC_LABELS, the same metrics table for a local run and a job), kept here
together; presentation.show dispatches to them like to every other view.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from wildrydes_cli.cli import model_views
from wildrydes_cli.cli.console import Console
from wildrydes_cli.results import JobsResult, SageMakerBreedsResult, TrainBreedsResult, TrainJobResult, TrainResult

METRIC_LABELS = {
    "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1", "auc": "AUC",
    "threshold": "threshold (max accuracy)", "positive_rate": "share of rides with heavy magic use",
    "rmse": "RMSE", "mae": "MAE", "r2": "R²",
}

def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)

def train(console: Console, result: TrainResult) -> None:
    """Metrics table, then where the model went and what to do next."""
    rows = [(METRIC_LABELS.get(name, name), _fmt(value)) for name, value in result.metrics.items()]
    title = (f"{result.predictor_type} on {result.rows['validation']:,} validation rows "
             f"({result.rows['train']:,} trained, {result.epochs} epochs, {result.trainer} trainer, "
             f"{result.seconds:.1f} s)")
    console.table(["metric", "value"], rows, title=title)
    for flag in result.flags:
        console.line(f"flagged: {flag}", style="bold")
    console.line(f"data: {result.data}" + (" - SYNTHETIC rides, pass --data FILE.csv for real ones"
                                            if result.synthetic else ""))
    if result.rule:
        console.line(f"labelled by: {result.rule['text']}")
    model = result.model
    if "saved_to" in model:
        console.line(f"model saved to {model['saved_to']} ({model['bytes']} bytes)"
                     + (f", its metrics to {model['metrics_file']}" if model.get("metrics_file") else ""))
        return
    console.line(f"model published to {model['location']}"
                 + (f" (metrics: {model['metrics_key'].rsplit('/', 1)[-1]} beside it)" if model.get("metrics_key")
                    else ""))
    if result.breed:
        if result.gate is not None:
            model_views.gate(console, result.gate)
        console.line(f"breed index: s3://{model['bucket']}/{model['index']}")
        served = result.served_by
        if served:
            where = ("its MODEL_REFRESH_SECONDS" if served["source"] == "function"
                     else "MODEL_REFRESH_SECONDS, the default")
            console.line(f"served by {served['function']} within {served['refresh_seconds']:g} s ({where}): until "
                         "then a warm function answers with the breed's previous model")
        else:
            console.line(f"no deployed function reads this bucket yet: `wildrydes deploy`, then POST "
                         f"{{invoke URL}}breeds/{result.breed}")
    else:
        console.line("serve it with: wildrydes deploy (it picks the newest linear-learner-* model)")

def train_breeds(console: Console, result: TrainBreedsResult) -> None:
    """One row per breed (the first model_views.SHOWN_BREEDS), then where the models are."""
    classifier = result.predictor_type == "binary_classifier"
    names = ("AUC", "accuracy") if classifier else ("RMSE", "R²")
    keys = ("auc", "accuracy") if classifier else ("rmse", "r2")
    shown = result.breeds[:model_views.SHOWN_BREEDS] if console.is_terminal else result.breeds   # piped: every one
    rows = [(item["breed"], *(_fmt(item["metrics"].get(k)) for k in keys), item["key"]) for item in shown]
    title = (f"{result.count} SYNTHETIC breeds, {result.rows_per_breed} rides each "
             f"({result.seconds:.1f} s training)")
    console.table(["breed", *names, "model key"], rows, title=title, keep=["model key"])
    hidden = result.count - len(rows)
    if hidden > 0:
        console.line(f"... and {hidden} more (--output json lists them all)")
    console.line(f"published to s3://{result.bucket}/breeds/<breed>/ with a latest.json index per breed")
    model_views.breeds_gate(console, result.breeds, result.refused, result.count)

def train_job(console: Console, result: TrainJobResult) -> None:
    """The same metrics table as a local run, then the job, its cost in seconds, and the model."""
    where = f"SageMaker job {result.job_name} on {result.instance_count} x {result.instance_type}" + (
        " (spot)" if result.spot else "")
    if result.status != "Completed":
        console.line(f"{where}: {result.status} ({result.secondary_status}).")
        if result.status == "InProgress":
            console.line(f"It runs on: `wildrydes jobs` shows it, `wildrydes logs --training {result.job_name}` its "
                         "log; `aws sagemaker stop-training-job` stops it.")
        return
    rows = [(METRIC_LABELS.get(name, name), _fmt(value)) for name, value in result.metrics.items()]
    billable = f", billable {result.billable_seconds} s" if result.billable_seconds is not None else ""
    console.table(["metric", "value"], rows,
                  title=f"{result.predictor_type} on {result.rows['validation']:,} validation rows "
                        f"({result.rows['train']:,} trained, {result.epochs} epochs, {where}{billable})")
    for flag in result.flags:
        console.line(f"flagged: {flag}", style="bold")
    console.line(f"data: {result.data}" + (" - SYNTHETIC rides, pass --data FILE.csv for real ones"
                                            if result.synthetic else "")
                 + f"; channels ({result.content_type}) in {result.channels}")
    if result.rule:
        console.line(f"labelled by: {result.rule['text']}")
    console.line(f"model published to {result.model.get('location')}")
    if result.breed:
        console.line(f"breed index: s3://{result.model.get('bucket')}/{result.model.get('index')}")
    else:
        console.line("serve it with: wildrydes deploy (it picks the newest linear-learner-* model)")

def job_progress(console: Console) -> Callable[[dict], None]:
    """While waiting: one line per new secondary status, with elapsed and billable seconds (on stderr)."""
    shown: list[str] = []
    started = time.monotonic()

    def update(description: dict) -> None:
        for transition in description.get("SecondaryStatusTransitions") or []:
            key = f"{transition.get('Status')}|{transition.get('StartTime')}"
            if key in shown:
                continue
            shown.append(key)
            billable = description.get("BillableTimeInSeconds")
            console.info(f"{time.monotonic() - started:7.1f} s  {transition.get('Status', ''):<12} "
                         f"{transition.get('StatusMessage', '')}"
                         + (f" (billable {billable} s)" if billable is not None else ""))
    return update

def sagemaker_breeds(console: Console, result: SageMakerBreedsResult) -> None:
    classifier = result.predictor_type == "binary_classifier"
    names, keys = (("AUC", "accuracy"), ("auc", "accuracy")) if classifier else (("RMSE", "MAE"), ("rmse", "mae"))
    rows = [(item["breed"], item["status"], *(_fmt(item["metrics"].get(k)) for k in keys), item["job"])
            for item in result.breeds[:model_views.SHOWN_BREEDS]]
    console.table(["breed", "status", *names, "training job"], rows,
                  title=f"{result.count} SYNTHETIC breeds on SageMaker ({result.instance_type}), "
                        f"{result.seconds:.1f} s, at most {result.most_in_flight} jobs at once "
                        f"(--concurrent-jobs {result.concurrent_jobs}), billable {result.billable_seconds} s in all")
    hidden = result.count - len(rows)
    if hidden > 0:
        console.line(f"... and {hidden} more (--output json lists them all)")
    if result.failed:
        console.line(f"{result.failed} jobs did not complete: `wildrydes jobs` shows why")
    console.line(f"channels written as {result.content_type}; published to s3://{result.bucket}/breeds/<breed>/ "
                 "with a latest.json index per breed")
    model_views.breeds_gate(console, result.breeds, result.refused, result.count,
                            kept="each model stays under its job key")

def jobs(console: Console, result: JobsResult) -> None:
    if not result.jobs:
        console.line(f"No training jobs on target {result.target} ({result.region}) yet: "
                     "wildrydes train --on sagemaker")
        return
    console.line(f"Training jobs on target {result.target} ({result.region}), newest first:")
    for job in result.jobs:   # a line per job (a job's name is 38 characters: a table would cut it at 80)
        status = job["status"] if job["status"] == job["secondary_status"] else \
            f"{job['status']} ({job['secondary_status']})"
        billable = "" if job["billable_seconds"] is None else f", billable {job['billable_seconds']} s"
        console.line(f"{job['name']}  {status}{billable}")
        if job["metrics"]:
            console.line(f"    validation: {model_views.metric_summary(job['metrics'])}")
        if job["model"]:
            console.line(f"    model: {job['model']}")
        elif job["failure_reason"]:
            console.line(f"    why: {job['failure_reason']}")
