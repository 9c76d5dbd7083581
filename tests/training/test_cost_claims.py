"""The training costs the README and docs/training.md state: the rate quoted is for the instance type `train
--on sagemaker` uses by default, the two documents quote the same rate and date, and their arithmetic holds."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from wildrydes_cli.training.sagemaker_job import SageMakerOptions

ROOT = Path(__file__).resolve().parents[2]


def _text(name: str) -> str:
    return " ".join((ROOT / name).read_text().split())


def _rates() -> dict[str, float]:
    """The guide's table: instance type -> dollars an hour."""
    rows = re.findall(r"\| (ml\.[a-z0-9.]+)[^|]* \| \$([0-9.]+) \|", _text("docs/training.md"))
    assert rows, "docs/training.md lost its table of training rates"
    return {kind: float(rate) for kind, rate in rows}


def test_the_guide_quotes_the_rate_of_the_default_instance_type_and_marks_it_default():
    default = SageMakerOptions().instance_type
    assert default in _rates()
    assert f"| {default} (the default `--instance-type`) |" in _text("docs/training.md")


def test_the_readme_quotes_the_guides_rate_and_date_and_its_ten_minute_job_adds_up():
    default, text = SageMakerOptions().instance_type, _text("README.md")
    found = re.search(r"default (ml\.[a-z0-9.]+) was \$([0-9.]+) an hour in us-east-1 as of (\d{4}-\d\d-\d\d), so a "
                      r"10-minute job costs about \$([0-9.]+)", text)
    assert found, "the README's training-cost sentence changed: keep it tested"
    kind, rate, date, job = found.groups()
    assert kind == default and float(rate) == _rates()[default]
    assert date in _text("docs/training.md")
    assert float(job) == pytest.approx(600 * float(rate) / 3600, abs=0.005)


def test_the_guides_worked_examples_add_up():
    examples = re.findall(r"(?:(\d+) × )?(\d+) × \$([0-9.]+) / 3600 = \$([0-9.]+)", _text("docs/training.md"))
    assert len(examples) == 2
    rates = _rates()
    for count, seconds, rate, total in examples:
        assert float(rate) in rates.values()
        assert float(total) == pytest.approx(int(count or 1) * int(seconds) * float(rate) / 3600, abs=0.0005)
