"""predict over real HTTP: a stdlib server on 127.0.0.1:0 runs the deployed handler (index.handler)
against a model in moto's S3, so the request, the function and the CLI's rendering are all real."""
from __future__ import annotations

import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from cli_helpers import MODEL_KEY

from wildrydes_cli import deployment_record
from wildrydes_cli.settings import Settings

# Training order: distance, healthpoints, magicpoints, TMIN, TMAX, PRCP.
WEIGHTS = [0.02, -0.001, 0.0004, 0.003, -0.002, 0.01]
BIAS = -1.5
RIDE_FLAGS = ["--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
              "--tmax", "333", "--tmin", "300", "--prcp", "0"]


def expected(distance, healthpoints, magicpoints, tmin, tmax, prcp) -> float:
    z = sum(w * x for w, x in zip(WEIGHTS, (distance, healthpoints, magicpoints, tmin, tmax, prcp))) + BIAS
    return 1 / (1 + math.exp(-z))


@pytest.fixture(scope="session")
def classifier_bytes() -> bytes:
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    return write_model_archive(WEIGHTS, BIAS, "binary_classifier", 0.5)


class _ProxyHandler(BaseHTTPRequestHandler):
    """Turns an HTTP request into a REST proxy event for index.handler, as API Gateway would."""

    def _serve(self) -> None:
        import index
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        parts = urlsplit(self.path)
        path, query = parts.path, dict(parse_qsl(parts.query)) or None
        segments = [p for p in path.split("/") if p]   # the resource API Gateway matches (function.yml's)
        resource = {0: "/", 1: "/breeds", 2: "/breeds/{breed}"}[len(segments)]
        params = {"breed": segments[1]} if len(segments) == 2 else None
        event = {"resource": resource, "path": path, "httpMethod": self.command,
                 "headers": dict(self.headers), "queryStringParameters": query,
                 "pathParameters": params, "body": body, "isBase64Encoded": False,
                 "requestContext": {"requestId": "test", "stage": "prod"}}
        response = index.handler(event, None)
        payload = response["body"].encode()
        self.send_response(response["statusCode"])
        for key, value in response.get("headers", {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def endpoint(aws, classifier_bytes, monkeypatch, moto_s3_url):
    """The lean handler behind http://127.0.0.1:<free port>/, serving MODEL_KEY from moto's S3.

    The function reads S3 over real HTTP (lambda/s3get.py), so its bucket is in moto's server."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "lambda"))  # this test only
    import index
    bucket = "wildrydes-predict-test"
    s3 = boto3.client("s3", endpoint_url=moto_s3_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3_url)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=MODEL_KEY, Body=classifier_bytes)
    monkeypatch.setenv("OUTPUT_BUCKET", bucket)
    monkeypatch.setenv("MODEL_PATH", MODEL_KEY)
    monkeypatch.setenv("INFERENCE_ENGINE", "lean")
    monkeypatch.setattr(index, "_store", None)   # a fresh execution environment
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_predict_workshop_ride(wildrydes, endpoint):
    result = wildrydes.json("predict", *RIDE_FLAGS, "--url", endpoint)
    assert result["score"] == pytest.approx(expected(30, 30, 2500, 300, 333, 0), rel=1e-5)
    assert result["predicted_label"] == (1 if result["score"] > 0.5 else 0)
    assert result["label"].startswith("heavy magic use")
    assert result["model_path"] == MODEL_KEY and result["latency_ms"] > 0


def test_predict_text_output(wildrydes, endpoint):
    out = wildrydes("predict", *RIDE_FLAGS, "--url", endpoint, json_output=False).stdout
    assert "score" in out and "heavy magic use" in out and MODEL_KEY in out and "ms" in out


def test_predict_uses_the_recorded_deployment(wildrydes, endpoint):
    settings = Settings(target="aws", region="us-east-1", account="123456789012")   # moto's account
    deployment = deployment_record.Deployment(stack="wildrydes-ml-mod3-4", bucket="b", function_name="f", api_id="a",
                                  invoke_url=endpoint, model_path=MODEL_KEY, engine="lean", runtime="python3.13")
    deployment_record.save(settings, {deployment.stack: deployment})
    result = wildrydes.json("predict", *RIDE_FLAGS)
    assert result["url"] == endpoint and "score" in result


def test_predict_nothing_deployed(wildrydes):
    result = wildrydes("predict", *RIDE_FLAGS, expect=3, json_output=False)
    assert "Nothing is deployed" in result.stderr and "wildrydes deploy" in result.stderr


def test_predict_batch_file(wildrydes, endpoint, tmp_path):
    rides = tmp_path / "rides.csv"
    rides.write_text("TMIN,TMAX,PRCP,distance,healthpoints,magicpoints\n300,333,0,30,30,2500\n250,300,12,5,80,100\n")
    result = wildrydes.json("predict", "--file", str(rides), "--url", endpoint)
    assert result["count"] == 2
    scores = [p["score"] for p in result["predictions"]]
    assert scores == pytest.approx([expected(30, 30, 2500, 300, 333, 0), expected(5, 80, 100, 250, 300, 12)],
                                   rel=1e-5)
    # redirected text output is CSV, ready for a spreadsheet
    csv_out = wildrydes("predict", "--file", str(rides), "--url", endpoint, json_output=False).stdout
    lines = csv_out.strip().splitlines()
    assert lines[0] == "TMIN,TMAX,PRCP,distance,healthpoints,magicpoints,score,label" and len(lines) == 3   # file's order


def test_predict_file_keeps_the_other_columns_to_join_back(wildrydes, endpoint, tmp_path):
    rides = tmp_path / "rides.csv"
    rides.write_text("ride_id,Distance,healthpoints,magicpoints,TMIN,TMAX,PRCP,rider,score\n"
                     "r-17,30,30,2500,300,333,0,Ann,old\n"
                     'r-18,5,80,100,250,300,12,"Bo, Jr",\n')
    result = wildrydes.json("predict", "--file", str(rides), "--url", endpoint)
    first, second = result["predictions"]
    assert (first["ride_id"], first["rider"], first["input_score"]) == ("r-17", "Ann", "old")
    assert (second["ride_id"], second["rider"], second["input_score"]) == ("r-18", "Bo, Jr", "")
    assert first["distance"] == 30 and isinstance(first["score"], float)      # the function's score, not the file's
    assert list(first)[:9] == ["ride_id", "rider", "input_score", "distance", "healthpoints", "magicpoints",
                               "TMIN", "TMAX", "PRCP"]
    csv_out = wildrydes("predict", "--file", str(rides), "--url", endpoint, json_output=False).stdout.splitlines()
    assert csv_out[0] == "ride_id,distance,healthpoints,magicpoints,TMIN,TMAX,PRCP,rider,input_score,score,label"
    assert csv_out[1].startswith("r-17,30,30,2500,300,333,0,Ann,old,0.") and csv_out[2].startswith('r-18,5,80,')
    assert '"Bo, Jr"' in csv_out[2]


def test_predict_file_explain_piped_adds_each_term(wildrydes, endpoint, tmp_path):
    rides = tmp_path / "rides.csv"
    rides.write_text("ride_id,distance,healthpoints,magicpoints,TMIN,TMAX,PRCP\nr-1,30,30,2500,300,333,0\n")
    lines = wildrydes("predict", "--file", str(rides), "--url", endpoint, "--explain",
                      json_output=False).stdout.splitlines()
    header = lines[0].split(",")
    assert header[-7:] == ["term_distance", "term_healthpoints", "term_magicpoints", "term_TMIN", "term_TMAX",
                           "term_PRCP", "intercept"]
    row = dict(zip(header, lines[1].split(",")))
    terms = sum(float(row[f"term_{n}"]) for n in ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP"))
    import math
    assert terms + float(row["intercept"]) == pytest.approx(math.log(float(row["score"]) / (1 - float(row["score"]))),
                                                            rel=1e-6)
    plain = wildrydes("predict", "--file", str(rides), "--url", endpoint, json_output=False).stdout
    assert "term_" not in plain


@pytest.mark.parametrize("content, message", [
    ("distance,healthpoints\n1,2\n", "columns distance, healthpoints, magicpoints, TMIN, TMAX, PRCP; "
                                      "missing: magicpoints, TMIN, TMAX, PRCP."),
    ("distance,healthpoints,magicpoints,TMAX,TMIN,PRCP\n1,2,x,4,5,6\n", "line 2: magicpoints is 'x', not a number"),
    ("distance,healthpoints,magicpoints,TMAX,TMIN,PRCP\n", "has a header but no rides"),
    ("distance,healthpoints,magicpoints,TMIN,TMAX,PRCP\n1,2,3,4,5,6\n1,2,3,4,5,nan\n",
     "rides.csv, line 3: PRCP is 'nan', not a finite number."),
    ("distance,healthpoints,magicpoints,TMIN,TMAX,PRCP\n1,2,3,-inf,5,6\n", "line 2: TMIN is '-inf', not a finite number."),
    ("distance,healthpoints,magicpoints,TMIN,TMAX,PRCP\n1,2,3,4,Infinity,6\n", "line 2: TMAX is 'Infinity'"),
])
def test_predict_bad_file(wildrydes, tmp_path, content, message):
    rides = tmp_path / "rides.csv"
    rides.write_text(content)
    result = wildrydes("predict", "--file", str(rides), "--url", "http://127.0.0.1:9/", expect=2, json_output=False)
    assert message in result.stderr


def test_predict_missing_file(wildrydes, tmp_path):
    result = wildrydes("predict", "--file", str(tmp_path / "nope.csv"), "--url", "http://127.0.0.1:9/",
                       expect=2, json_output=False)
    assert "Cannot read --file" in result.stderr


def test_predict_missing_flags(wildrydes):
    result = wildrydes("predict", "--distance", "30", "--url", "http://127.0.0.1:9/", expect=2, json_output=False)
    assert "Missing --healthpoints, --magicpoints, --tmin, --tmax, --prcp" in result.stderr
    assert "--tmin 300 --tmax 333" in result.stderr


@pytest.mark.parametrize("flag, value, message", [
    ("--prcp", "nan", "--prcp is nan: every feature must be a finite number."),
    ("--distance", "inf", "--distance is inf: every feature must be a finite number."),
    ("--tmin", "-inf", "--tmin is -inf"),
])
def test_predict_non_finite_flag_is_refused_locally(wildrydes, flag, value, message):
    flags = dict(zip(RIDE_FLAGS[::2], RIDE_FLAGS[1::2]))
    flags[flag] = value
    argv = [item for pair in flags.items() for item in pair]
    result = wildrydes("predict", *argv, "--url", "http://127.0.0.1:9/", expect=2, json_output=False)
    assert message in result.stderr


def test_predict_file_and_flags_together(wildrydes, tmp_path):
    result = wildrydes("predict", "--file", str(tmp_path / "r.csv"), "--distance", "1", expect=2, json_output=False)
    assert "either --file or the six feature flags" in result.stderr


def test_predict_bad_number_flag(wildrydes):
    result = wildrydes("predict", "--distance", "far", expect=2, json_output=False)
    assert "'far' is not a valid float" in result.stderr


def test_predict_bad_url(wildrydes):
    result = wildrydes("predict", *RIDE_FLAGS, "--url", "ftp://example", expect=2, json_output=False)
    assert "is not an http(s) URL" in result.stderr


def test_predict_unreachable(wildrydes):
    import socket
    with socket.socket() as sock:   # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = wildrydes("predict", *RIDE_FLAGS, "--url", f"http://127.0.0.1:{port}/", expect=1, json_output=False)
    assert "Could not reach" in result.stderr and "wildrydes status" in result.stderr


def test_predict_bad_breed_name(wildrydes):
    result = wildrydes("predict", *RIDE_FLAGS, "--breed", "../etc", "--url", "http://127.0.0.1:9/",
                       expect=2, json_output=False)
    assert "is not a breed name" in result.stderr


def test_predict_unknown_breed_shows_the_endpoint_error(wildrydes, endpoint):
    result = wildrydes("predict", *RIDE_FLAGS, "--breed", "pegasus", "--url", endpoint, expect=1, json_output=False)
    assert "answered 404" in result.stderr and "pegasus" in result.stderr
    assert "/breeds/pegasus" in result.stderr


def test_predict_missing_api_hint():
    from wildrydes_cli.errors import WildrydesError
    from wildrydes_cli.observe import predict as predicting
    def answer(url, payload):
        return 403, {"message": "Missing Authentication Token"}, 1.0
    with pytest.raises(WildrydesError, match="answered 403.*run `wildrydes deploy`"):
        predicting.predict("http://127.0.0.1:1/restapis/x/prod/_user_request_/", [{"distance": 1}], post=answer)


def test_predict_200_without_score_is_an_error():
    from wildrydes_cli.errors import WildrydesError
    from wildrydes_cli.observe import predict as predicting
    with pytest.raises(WildrydesError, match="without scores"):
        predicting.predict("http://x/", [{}], post=lambda url, payload: (200, {"hello": "world"}, 1.0))


def test_large_batch_is_split_to_the_function_limit():
    from wildrydes_cli.observe import predict as predicting
    sizes = []

    def answer(url, payload):
        sizes.append(len(payload))
        return 200, [{"score": ride["distance"]} for ride in payload], 2.0
    rides = [{"distance": i} for i in range(2500)]
    result = predicting.predict_batch("http://x/", rides, post=answer)
    assert sizes == [1000, 1000, 500] and result.requests == 3 and result.latency_ms == 6.0
    assert [p["score"] for p in result.predictions] == list(range(2500))


@pytest.mark.parametrize("label, text", [(1, "heavy magic use likely"), (0, "heavy magic use unlikely"), (None, None)])
def test_the_label_says_what_the_predicted_label_means(label, text):
    from wildrydes_cli.observe import predict as predicting
    answer = {"score": 0.7} if label is None else {"score": 0.7, "predicted_label": label}
    result = predicting.predict("http://x/", [{"distance": 1}], post=lambda url, payload: (200, answer, 1.0))
    assert result.answer["label"] == text and result.to_json()["label"] == text
    batch = predicting.predict_batch("http://x/", [{"distance": 1}], post=lambda url, payload: (200, [answer], 1.0))
    assert batch.predictions[0]["label"] == text
