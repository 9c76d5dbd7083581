"""A model's metrics in one cell (`models`, `status`, `history`): the rows its metrics were measured on."""
from __future__ import annotations

from wildrydes_cli.cli.model_views import card_summary

METRICS = {"auc": 0.99, "accuracy": 0.95}


def test_a_trained_models_metrics_are_its_validation_rows():
    """The card of `train` (locally or as a job) names the split: its metrics are the held-out 10%."""
    card = {"metrics": METRICS, "data": {"rows": 20000, "train_rows": 18000, "validation_rows": 2000,
                                         "source": "synthetic"}}
    assert card_summary(card) == "auc 0.990, accuracy 0.950 on 2,000 validation rows (of 20,000 synthetic)"


def test_an_evaluations_metrics_are_every_row_it_read():
    card = {"metrics": METRICS, "data": {"rows": 5000, "source": "file"}}
    assert card_summary(card).endswith("on 5,000 file rows")


def test_without_rows_or_a_card_it_says_what_it_can():
    assert card_summary(None) == "no metrics"
    assert "on " not in card_summary({"metrics": METRICS, "data": {}})
    assert card_summary({"problem": "metrics.json is not JSON"}) == "(metrics.json is not JSON)"
    assert card_summary({"metrics": METRICS, "data": {"rows": 10, "validation_rows": 1, "source": "file"},
                         "flags": ["trained on only 9 rows"]}).endswith("(flagged)")
