"""`train --on sagemaker` with the real executable on the local target: the job runs for real (its channels
recordio-protobuf by default, CSV with --content-type csv), its model is deployed and answers the workshop's
ride as label 1, and jobs survive `local stop`/`start`."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]


@pytest.fixture(scope="module")
def trained(cli):
    cli.json("local", "start")
    cli.run("bootstrap")
    job = cli.json("train", "--on", "sagemaker", "--rows", "20000", "--instance-count", "2")
    return job


def test_the_job_completes_with_metrics_and_a_model(trained):
    assert trained["status"] == "Completed", trained
    assert trained["transitions"] == ["Starting", "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert trained["metrics"]["accuracy"] > 0.95 and trained["metrics"]["auc"] > 0.99
    assert trained["model"]["key"] == f"{trained['job_name']}/output/model.tar.gz"
    assert trained["billable_seconds"] >= 1 and trained["instance_count"] == 2
    assert trained["content_type"] == "application/x-recordio-protobuf"      # the default channels


def test_the_progress_display_shows_the_states_of_a_csv_job(cli):
    shown = cli.run("train", "--on", "sagemaker", "--rows", "2000", "--epochs", "2", "--content-type", "csv")
    for state in ("Starting", "Downloading", "Training", "Uploading", "Completed"):
        assert state in shown.stderr
    assert "SageMaker job linear-learner-" in shown.stdout and "billable" in shown.stdout
    assert "channels (text/csv) in s3://" in " ".join(shown.stdout.split())
    assert "on 200 validation rows (1,800 trained, 2 epochs" in " ".join(shown.stdout.split())


def test_deploy_serves_the_jobs_model_and_the_workshops_ride_is_label_1(cli, trained):
    deployed = cli.json("deploy", "--yes", "--model-path", trained["model"]["key"])
    assert deployed["model_path"] == trained["model"]["key"] and deployed["model_path"].startswith("linear-learner-")
    predicted = cli.json(*PREDICT)
    assert predicted["predicted_label"] == 1 and predicted["label"] == "heavy magic use likely"


def test_jobs_and_the_training_log(cli, trained):
    other = cli.json("train", "--on", "sagemaker", "--rows", "1000", "--epochs", "1")["job_name"]   # its log too
    listed = cli.json("jobs")["jobs"]
    mine = next(j for j in listed if j["name"] == trained["job_name"])
    assert mine["status"] == "Completed" and mine["model"].endswith("/output/model.tar.gz")
    logs = cli.json("logs", "--training", trained["job_name"])
    messages = [e["message"] for e in logs["events"]]
    assert logs["log_group"] == "/aws/sagemaker/TrainingJobs"
    assert {e["logStreamName"].split("/")[0] for e in logs["events"]} == {trained["job_name"]}   # only this job's
    assert not any(other in m for m in messages)
    assert any("ShardedByS3Key" in m and "algo-2" in m for m in messages)
    assert any(m.startswith("#quality_metric: host=algo-1, validation binary_classification_accuracy")
               for m in messages)


def test_a_bad_option_is_refused_and_names_the_fix(cli):
    refused = cli.run("train", "--on", "sagemaker", "--instance-count", "0", check=False)
    assert refused.returncode == 2 and "--instance-count must be at least 1" in refused.stderr


def test_jobs_survive_a_restart(cli, trained):
    cli.run("local", "stop")
    cli.json("local", "start")
    listed = {j["name"]: j for j in cli.json("jobs")["jobs"]}
    assert listed[trained["job_name"]]["status"] == "Completed"
    assert cli.json(*PREDICT)["predicted_label"] == 1
    cli.run("local", "stop")


def test_the_training_log_at_80_columns_names_each_lines_instance(cli, trained):
    from clitools import WILDRYDES
    from ptytools import plain, run_in_pty
    code, out = run_in_pty([str(WILDRYDES), "logs", "--training", trained["job_name"]], cli.env, columns=80,
                           cwd=str(cli.home))
    lines = plain(out).replace("\r\n", "\n").splitlines()
    assert code == 0, lines
    hosts = {line[26:34].strip() for line in lines if line[:4].isdigit()}
    assert hosts == {"algo-1", "algo-2"}, lines[:5]     # --instance-count 2: both instances' streams
    accuracy = next(line for line in lines if "validation binary_classification_accuracy" in line)
    assert accuracy.index("#quality_metric") == 36      # time, instance, then the message from column 37
