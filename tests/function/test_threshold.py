"""A binary classifier's label: 1 only when the score is strictly above the threshold (linear-learner's rule)."""
from __future__ import annotations

import index
import pytest
from lambda_helpers import BUCKET, WORKSHOP_RIDE, answer, event

from wildrydes_cli.training.sagemaker_archive import write_model_archive

KEY = "linear-learner-2026-11-24-10-00-00-000/output/model.tar.gz"


@pytest.mark.parametrize("bias, label", [(0.0, 0), (1e-9, 1), (-1e-9, 0)])
def test_a_score_equal_to_the_threshold_is_label_0(function_bucket, monkeypatch, bias, label):
    # zero weights: the score is sigmoid(bias), exactly 0.5 for bias 0, the threshold here
    function_bucket.put_object(Bucket=BUCKET, Key=KEY, Body=write_model_archive(
        [0.0] * 6, bias, "binary_classifier", threshold=0.5))
    monkeypatch.setenv("MODEL_PATH", KEY)
    status, body = answer(index.handler(event(body=WORKSHOP_RIDE), None))
    assert status == 200
    assert (body["score"] == 0.5) is (bias == 0.0)
    assert body["predicted_label"] == label
