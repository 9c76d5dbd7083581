"""`wildrydes evaluate`: a model's figures on labelled rides, offline, checked against plain numpy."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from cli_helpers import MODEL_KEY, run_main
from ride_files import write_csv

from wildrydes_cli.training import metrics as metric_fns
from wildrydes_cli.training.evaluate import SAMPLE_SEED
from wildrydes_cli.training.sagemaker_archive import write_model_archive
from wildrydes_cli.training.synthetic import generate_rides

# The workshop's rule as a logistic model (magic - 50 x distance), and a weaker one that ignores distance.
GOOD = write_model_archive([-0.5, 0.0, 0.01, 0.0, 0.0, 0.0], 0.0)
WEAK = write_model_archive([0.0, 0.0, 0.001, 0.0, 0.0, 0.0], -1.3, threshold=0.5)


@pytest.fixture
def models(tmp_path):
    (tmp_path / "good.tar.gz").write_bytes(GOOD)
    (tmp_path / "weak.tar.gz").write_bytes(WEAK)
    return tmp_path


def _evaluate(*args: str, expect: int = 0) -> dict:
    code, out, err = run_main(["--output", "json", "evaluate", *args])
    assert code == expect, err
    return json.loads(out)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _w(*weights: float) -> np.ndarray:
    """Weights as the archive stores them (float32), for a reference computed here."""
    return np.array(weights, dtype=np.float32).astype(np.float64)


def test_a_model_file_is_evaluated_offline_on_a_stated_synthetic_sample(models):
    result = _evaluate("--model", str(models / "good.tar.gz"), "--rows", "5000")
    assert result["synthetic"] is True and result["data"]["source"] == "synthetic"
    assert result["data"]["name"] == f"synthetic (seed {SAMPLE_SEED})" and result["data"]["rows"] == 5000
    rides = generate_rides(5000, seed=SAMPLE_SEED)
    scores = _sigmoid(rides.features @ _w(-0.5, 0, 0.01, 0, 0, 0))
    expected = metric_fns.classification_metrics(scores, rides.labels, 0.5)
    figures = result["figures"]
    for name in ("accuracy", "precision", "recall", "f1", "auc"):
        assert figures["metrics"][name] == pytest.approx(expected[name], rel=1e-9)
    actual = rides.labels > 0.5
    assert figures["confusion"]["tp"] == int(np.sum((scores > 0.5) & actual))
    assert sum(figures["confusion"].values()) == 5000
    assert [b["rows"] for b in figures["calibration"]] == list(np.histogram(scores, bins=10, range=(0, 1))[0])
    p = np.clip(scores, 1e-15, 1 - 1e-15)   # scores of 1.0 in float64 are clipped, as scikit-learn clips
    assert figures["metrics"]["log_loss"] == pytest.approx(
        -np.mean(np.where(actual, np.log(p), np.log(1 - p))), rel=1e-9)
    assert result["card"] is None


def test_log_loss_confusion_and_calibration_on_a_hand_made_case():
    scores, labels = np.array([0.9, 0.2, 0.6, 0.05]), np.array([1, 0, 0, 1])
    assert metric_fns.log_loss(scores, labels) == pytest.approx(
        -(np.log(0.9) + np.log(0.8) + np.log(0.4) + np.log(0.05)) / 4)
    assert metric_fns.confusion(scores, labels, 0.5) == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    bins = metric_fns.calibration(scores, labels)
    assert [b["rows"] for b in bins] == [1, 0, 1, 0, 0, 0, 1, 0, 0, 1]
    assert bins[9]["observed_share"] == 1.0 and bins[6]["observed_share"] == 0.0 and bins[1]["mean_score"] is None


def test_against_compares_two_models_on_the_same_rows_and_lists_a_bounded_number_of_rides(models, tmp_path):
    result = _evaluate("--model", str(models / "good.tar.gz"), "--against", str(models / "weak.tar.gz"),
                       "--rows", "2000")
    rides = generate_rides(2000, seed=SAMPLE_SEED)
    good = _sigmoid(rides.features @ _w(-0.5, 0, 0.01, 0, 0, 0)) > 0.5
    weak = _sigmoid(rides.features @ _w(0, 0, 0.001, 0, 0, 0) + np.float32(-1.3)) > 0.5
    differ = np.flatnonzero(good != weak)
    assert result["against"]["disagreements"]["count"] == differ.size > 20
    listed = result["against"]["disagreements"]["rides"]
    assert [r["row"] for r in listed] == list(differ[:20] + 1)
    assert result["against"]["metrics"]["auc"] < result["figures"]["metrics"]["auc"]
    code, text, _ = run_main(["evaluate", "--model", str(models / "good.tar.gz"), "--against",
                              str(models / "weak.tar.gz"), "--rows", "2000"])
    assert code == 0 and f"disagree on {differ.size:,} rides" in text and "SYNTHETIC" in text


def test_a_file_with_a_breed_column_gets_per_breed_figures(models, tmp_path):
    rides = tmp_path / "rides.csv"
    write_csv(generate_rides(400, seed=5), rides)
    lines = rides.read_text().splitlines()
    rides.write_text("\n".join([lines[0] + ",breed"] + [f"{line},{'shire' if i % 4 else 'pony'}"
                                                        for i, line in enumerate(lines[1:])]) + "\n")
    result = _evaluate("--model", str(models / "good.tar.gz"), "--data", str(rides))
    assert result["synthetic"] is False and result["data"]["name"] == "rides.csv"
    breeds = result["figures"]["per_breed"]
    assert {name: b["rows"] for name, b in breeds.items()} == {"shire": 300, "pony": 100}


def test_bad_input_is_refused_with_the_file_row_and_column(models, tmp_path, unchecked_archive):
    rides = tmp_path / "rides.csv"
    write_csv(generate_rides(20, seed=1), rides)
    lines = rides.read_text().splitlines()
    no_label = tmp_path / "no_label.csv"
    no_label.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    code, _, err = run_main(["evaluate", "--model", str(models / "good.tar.gz"), "--data", str(no_label)])
    assert code == 2 and "no_label.csv has no column 'heavy_utilization'" in err
    lines[3] = lines[3].rsplit(",", 1)[0] + ",2"
    bad_label = tmp_path / "bad_label.csv"
    bad_label.write_text("\n".join(lines) + "\n")
    code, _, err = run_main(["evaluate", "--model", str(models / "good.tar.gz"), "--data", str(bad_label)])
    assert code == 2 and "bad_label.csv row 3: column 'heavy_utilization' is 2, not 0 or 1" in " ".join(err.split())
    other_names = tmp_path / "other.tar.gz"
    other_names.write_bytes(write_model_archive([0.1] * 6, 0.0, feature_names=["distance", "healthpoints",
                                                "magicpoints", "TMIN", "TMAX", "SNOW"]))
    code, _, err = run_main(["evaluate", "--model", str(other_names), "--data", str(rides)])
    assert code == 2 and "trained on feature 'SNOW', which" in " ".join(err.split()) and "rides.csv" in err
    wide = tmp_path / "wide.tar.gz"
    wide.write_bytes(unchecked_archive([0.1] * 8, 0.0, "binary_classifier"))
    code, _, err = run_main(["evaluate", "--model", str(wide), "--data", str(rides)])
    assert code == 2 and "takes 8 features, but" in " ".join(err.split()) and "rides.csv" in err


def test_the_models_own_feature_order_is_honoured(models, tmp_path):
    rides = generate_rides(500, seed=2)
    names = ["magicpoints", "distance", "healthpoints", "TMIN", "TMAX", "PRCP"]
    shuffled = tmp_path / "shuffled.tar.gz"   # the same model as GOOD, its features named in another order
    shuffled.write_bytes(write_model_archive([0.01, -0.5, 0, 0, 0, 0], 0.0, feature_names=names))
    write_csv(rides, tmp_path / "rides.csv")
    one = _evaluate("--model", str(models / "good.tar.gz"), "--data", str(tmp_path / "rides.csv"))
    two = _evaluate("--model", str(shuffled), "--data", str(tmp_path / "rides.csv"))
    assert one["figures"]["metrics"] == two["figures"]["metrics"]


def test_models_in_the_bucket_by_key_breed_and_deployed(wildrydes, deployed, tmp_path):
    trained = wildrydes.json("train", "--rows", "2000", "--epochs", "2", "--trainer", "numpy", "--breed", "shire")
    by_breed = wildrydes.json("evaluate", "--breed", "shire", "--rows", "1000")
    assert by_breed["model"] == trained["model"]["key"] and by_breed["card"]["data"]["rows"] == 2000
    assert by_breed["data"]["name"] == f"synthetic (seed {SAMPLE_SEED}, breed shire)"
    # the deployed model is SageMaker's real regressor of 513 features: not for rides of six
    result = wildrydes("evaluate", "--deployed", "--rows", "100", expect=2, json_output=False)
    assert f"{MODEL_KEY} takes 513 features, but synthetic" in " ".join(result.stderr.split())
    assert wildrydes.json("evaluate", "--model", trained["model"]["key"], "--rows", "100")["card"]["epochs"] == 2
    result = wildrydes("evaluate", "--deployed", "--breed", "shire", expect=2, json_output=False)
    assert "--breed and --deployed each choose the model" in result.stderr


def test_numpy_scores_are_held_to_the_functions_lean_engine(models, monkeypatch):
    from wildrydes_cli.training import scoring
    loaded = scoring.load(GOOD, "good")
    rides = generate_rides(200, seed=4)
    scores = scoring.score(loaded, rides)   # agrees: no error
    real = scoring._function_module("engines").LeanEngine
    monkeypatch.setattr(real, "predict", lambda self, rows: [s + 1e-6 for s in scores[:len(rows)].tolist()])
    with pytest.raises(RuntimeError, match="row 1: numpy scored .* the function's lean engine"):
        scoring.score(loaded, rides)


def test_json_lines_with_breeds_and_dates(models, tmp_path):
    rides = generate_rides(30, seed=6)
    path = tmp_path / "rides.jsonl"
    path.write_text("".join(json.dumps({**dict(zip(("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP"),
                                                   row)), "heavy_utilization": bool(label),
                                        "breed": "shire" if i < 10 else "pony", "statustime": f"2018-05-{i + 1:02d}"})
                                + "\n" for i, (row, label) in enumerate(zip(rides.features.tolist(),
                                                                             rides.labels.tolist()))))
    result = _evaluate("--model", str(models / "good.tar.gz"), "--data", str(path))
    assert result["data"]["date_range"] == ["2018-05-01", "2018-05-30"] and result["data"]["rows"] == 30
    assert {name: b["rows"] for name, b in result["figures"]["per_breed"].items()} == {"pony": 20, "shire": 10}


def test_the_vectorised_sigmoid_keeps_tiny_probabilities_as_the_lean_engine_does():
    from wildrydes_cli.training.scoring import _sigmoid
    lean = __import__("wildrydes_cli.function.engines", fromlist=["sigmoid"])
    margins = np.array([-745.0, -60.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0])
    ours, theirs = _sigmoid(margins.copy()).tolist(), [lean.sigmoid(m) for m in margins.tolist()]
    # numpy's exp may be a SIMD one (AVX-512 here) a unit in the last place from libm's: equal to 1e-15, and the
    # tiny ones kept rather than rounded to 0 (the point of the test)
    assert all(math.isclose(a, b, rel_tol=1e-15, abs_tol=0.0) for a, b in zip(ours, theirs)), (ours, theirs)
    assert ours[0] > 0.0 and ours[1] > 0.0 and ours[-1] == 1.0


def test_auc_equals_the_pairwise_count_with_ties_as_half():
    rng = np.random.default_rng(1)
    for n in (2, 5, 100, 3000):
        scores, labels = np.round(rng.random(n), 2), rng.random(n) > 0.5   # rounded: many ties
        pos, neg = scores[labels], scores[~labels]
        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        assert metric_fns.auc(scores, labels) == pytest.approx(pairs / (pos.size * neg.size), abs=1e-12)


def test_evaluation_working_memory_stays_under_the_rows_own_size():
    """docs/shipping.md and RESULTS.md: scoring and every figure together allocate less than the rows
    themselves take in float32 (so evaluate's peak, rows included, stays under 2x them)."""
    import tracemalloc

    from wildrydes_cli.training import evaluate, scoring
    dataset = generate_rides(500_000, seed=SAMPLE_SEED)
    loaded = scoring.load(GOOD, "good")
    rows_bytes = dataset.features.nbytes + dataset.labels.nbytes
    tracemalloc.start()
    try:
        evaluate.measure(loaded, dataset, scoring.score(loaded, dataset))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < rows_bytes, f"{peak / 1e6:.1f} MB working memory for {rows_bytes / 1e6:.1f} MB of rows"


def test_reading_a_csv_peaks_at_the_table_plus_a_quarter_and_one_blocks_parsing(tmp_path):
    """RESULTS.md (1.34x the rows on 1M rows): the CSV reader grows its two arrays in place and parses
    512 KiB at a time, so reading holds neither the blocks and the joined table at once, nor a large
    block's parsing (a few MB for a 512 KiB block)."""
    import tracemalloc

    from wildrydes_cli.training.data import read_data
    path = tmp_path / "rides.csv"
    write_csv(generate_rides(300_000, seed=SAMPLE_SEED), path)
    tracemalloc.start()
    try:
        dataset = read_data(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows_bytes = dataset.features.nbytes + dataset.labels.nbytes
    assert dataset.rows == 300_000 and dataset.features.flags.c_contiguous
    assert peak < 1.25 * rows_bytes + 8 * 2**20, f"{peak / 1e6:.1f} MB peak for {rows_bytes / 1e6:.1f} MB of rows"
