"""A model's metrics.json: where it lives beside the model, and what is flagged rather than celebrated."""
from __future__ import annotations

import json

from wildrydes_cli import model_card

KEY = "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"


def test_the_card_sits_beside_the_model():
    assert model_card.card_key(KEY) == "linear-learner-2026-01-01-00-00-00-000/output/metrics.json"
    assert model_card.card_key("breeds/shire/" + KEY) == "breeds/shire/" + KEY.replace("model.tar.gz", "metrics.json")
    assert model_card.card_key("/tmp/mine.bin") == "/tmp/mine.bin.metrics.json"


def test_describe_data_counts_rows_and_the_label_share():
    data = model_card.describe_data([1, 0, 1, 1], "file", "rides.csv", sha256="ab", date_range=("2019-01-01",
                                    "2019-03-01"), train_rows=3, validation_rows=1)
    assert data == {"rows": 4, "source": "file", "name": "rides.csv", "train_rows": 3, "validation_rows": 1,
                    "label_share": 0.75, "date_range": ["2019-01-01", "2019-03-01"], "sha256": "ab"}


def test_few_rows_and_a_perfect_auc_on_synthetic_rides_are_flagged():
    few = {"metrics": {"auc": 0.9}, "data": {"rows": 50, "train_rows": 45, "source": "file"}}
    assert model_card.flags(few) == ["trained on only 45 rows (under 1,000): its metrics are noisy"]
    perfect = {"metrics": {"auc": 1.0}, "data": {"rows": 20000, "train_rows": 18000, "source": "synthetic"}}
    assert "AUC 1.0 on synthetic rides" in model_card.flags(perfect)[0]
    # the same AUC on a user's file is the user's to judge; a good model on enough rows is not flagged
    assert model_card.flags({**perfect, "data": {**perfect["data"], "source": "file"}}) == []
    assert model_card.flags({"metrics": {"auc": 0.97}, "data": perfect["data"]}) == []


def test_a_card_that_is_not_one_says_so_and_flags_are_derived_again():
    assert "not valid JSON" in model_card.parse_card(b"{")["problem"]
    assert "no metrics object" in model_card.parse_card(b"[]")["problem"]
    written = {"metrics": {"auc": 1.0}, "data": {"rows": 10, "source": "synthetic"}, "flags": []}
    assert len(model_card.parse_card(json.dumps(written).encode())["flags"]) == 2
