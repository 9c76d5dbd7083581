"""The Lambda zip: only the function's own files, deterministic, runnable from a bare interpreter;
the mxnet build's pruning, size guard and cache (with a fake downloader: no network in tests)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from cli_helpers import _fake_downloader, _wheel

from wildrydes_cli.deploy import packaging
from wildrydes_cli.errors import UsageError, WildrydesError

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
MODEL_KEY = "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"


def test_lean_zip_holds_only_the_function_files(tmp_path):
    package = packaging.build("lean", tmp_path)
    expected = sorted(p.name for p in LAMBDA_DIR.glob("*.py") if p.name != "__init__.py")
    assert list(package.files) == expected and "index.py" in package.files
    names = zipfile.ZipFile(package.path).namelist()
    assert names == expected
    assert not any("__pycache__" in n or n.endswith(".pyc") or n == "__init__.py" for n in names)
    assert package.size < 100 * 1024 and package.runtime == "python3.13"
    assert package.key == f"code/wildrydes-lean-{package.sha256[:16]}.zip"


def test_lean_zip_is_deterministic_and_cached(tmp_path):
    first = packaging.build("lean", tmp_path / "a")
    second = packaging.build("lean", tmp_path / "b")
    assert first.sha256 == second.sha256 and first.path.read_bytes() == second.path.read_bytes()
    again = packaging.build("lean", tmp_path / "a")
    assert again.path == first.path and again.sha256 == first.sha256


def test_unknown_engine(tmp_path):
    with pytest.raises(UsageError, match="Unknown engine 'onnx': use lean or mxnet"):
        packaging.build("onnx", tmp_path)


def _deps_dir(tmp_path: Path) -> Path:
    """boto3 and its dependencies, linked into a directory of their own."""
    import boto3 as b
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import six
    import urllib3
    deps = tmp_path / "deps"
    deps.mkdir()
    for module in (b, botocore, dateutil, jmespath, s3transfer, urllib3):
        source = Path(module.__file__).parent
        (deps / source.name).symlink_to(source)
    (deps / "six.py").symlink_to(Path(six.__file__))
    return deps


@pytest.fixture
def s3_server():
    """moto in server mode on a free loopback port, with the workshop model in a bucket."""
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    s3 = boto3.client("s3", endpoint_url=url)
    s3.create_bucket(Bucket="zip-test")
    s3.put_object(Bucket="zip-test", Key=MODEL_KEY,
                  Body=write_model_archive([0.02, -0.001, 0.0004, 0.003, -0.002, 0.01], -1.5))
    yield url
    server.stop()


def test_lean_zip_runs_index_handler_in_a_bare_interpreter(tmp_path, s3_server):
    package = packaging.build("lean", tmp_path / "cache")
    site = tmp_path / "function"
    zipfile.ZipFile(package.path).extractall(site)
    deps = _deps_dir(tmp_path)
    ride = {"distance": 30, "healthpoints": 30, "magicpoints": 2500, "TMAX": 333, "TMIN": 300, "PRCP": 0}
    script = (
        "import sys, json\n"
        f"sys.path[:] = [{str(site)!r}, {str(deps)!r}] + [p for p in sys.path if 'site-packages' not in p]\n"
        "import index\n"
        f"event = {{'httpMethod': 'POST', 'path': '/', 'headers': {{'Content-Type': 'application/json'}},"
        f" 'body': {json.dumps(json.dumps(ride))}, 'isBase64Encoded': False}}\n"
        "print(json.dumps(index.handler(event, None)))\n"
        "print(json.dumps(sorted(m.__file__ or '' for m in sys.modules.values() "
        "if getattr(m, '__file__', None) and 'site-packages' in m.__file__)))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "OUTPUT_BUCKET": "zip-test", "MODEL_PATH": MODEL_KEY, "INFERENCE_ENGINE": "lean"}
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    response_line, modules_line = done.stdout.strip().splitlines()[-2:]
    response = json.loads(response_line)
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert 0 < body["score"] < 1 and body["model_path"] == MODEL_KEY
    assert json.loads(modules_line) == []  # nothing came from site-packages: only the zip and boto3


# -- mxnet: pruning, size guard, cache (fake wheels) ------------------------------------

def test_mxnet_build_prunes_and_adds_the_function(tmp_path):
    calls: list = []
    package = packaging.build("mxnet", tmp_path, downloader=_fake_downloader(calls=calls))
    names = set(package.files)
    assert {"index.py", "mxnet/__init__.py", "mxnet/libmxnet.so", "numpy/__init__.py"} <= names
    assert not any("/tests/" in n or "/include/" in n or n.endswith(".pyc") or "/doc/" in n for n in names)
    assert package.runtime == "python3.11" and package.key.startswith("code/wildrydes-mxnet-")
    again = packaging.build("mxnet", tmp_path, downloader=_fake_downloader(calls=calls))
    assert again.sha256 == package.sha256 and len(calls) == 1   # cached: no second download


def test_mxnet_build_refuses_over_the_limit(tmp_path):
    with pytest.raises(WildrydesError, match=r"over Lambda's 0 MiB limit.*--engine lean"):
        packaging.build("mxnet", tmp_path, downloader=_fake_downloader(big=50_000), limit=40_000)
    assert list(tmp_path.glob("*.zip")) == []


def test_mxnet_download_without_mxnet_wheel(tmp_path):
    with pytest.raises(WildrydesError, match="no mxnet wheel"):
        packaging.build("mxnet", tmp_path, downloader=lambda reqs, dest: None)


def test_unsafe_wheel_member_refused(tmp_path):
    def evil(requirements, dest):
        _wheel(dest / "mxnet-1.9.1-py3-none-any.whl", {"../../escape.py": b"x"})
    with pytest.raises(WildrydesError, match="unsafe path"):
        packaging.build("mxnet", tmp_path, downloader=evil)
    assert not (tmp_path.parent / "escape.py").exists()


def test_pip_download_failure_message(tmp_path, monkeypatch):
    class Done:
        returncode, stdout, stderr = 1, "", "ERROR: No matching distribution found for mxnet==1.9.1"
    monkeypatch.setattr(packaging.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(WildrydesError, match="No matching distribution.*--engine lean"):
        packaging.pip_download(["mxnet==1.9.1"], tmp_path)


HIDDEN_HOST_LIBS = ("libgomp.so.1", "libquadmath.so.0")   # on Debian, absent from Lambda's images


def _host_copies(soname: str) -> list[str]:
    """Every file the host's loader could use for ``soname`` (ldconfig's cache, resolved)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    found = {str(Path(line.rsplit("=> ", 1)[1].strip()).resolve())
             for line in out.splitlines() if line.strip().startswith(soname + " ")}
    return sorted(found)


def _without_host_libs(command: list[str], empty: Path) -> list[str]:
    """``command`` in a private mount namespace with an empty file bound over each host copy
    of libgomp and libquadmath, as on Lambda where the image does not have them."""
    binds = " && ".join(f"mount --bind {empty} {path}" for soname in HIDDEN_HOST_LIBS
                        for path in _host_copies(soname))
    return ["unshare", "-m", "sh", "-c", f"{binds or 'true'} && exec \"$@\"", "sh", *command]


def _can_hide_libs() -> str | None:
    if os.geteuid() != 0:
        return "needs root to bind-mount over the host's libgomp/libquadmath"
    if shutil.which("unshare") is None or shutil.which("ldconfig") is None:
        return "needs unshare and ldconfig"
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        return "unshare -m is not permitted here (no CAP_SYS_ADMIN)"
    return None


@pytest.fixture(scope="module")
def real_mxnet_package(aws_isolation, tmp_path_factory) -> packaging.Package:
    """The real mxnet build (pinned manylinux wheels from PyPI), made once for the tests that check it: the
    build is most of their time, and they only read the zip it leaves (each extracts its own copy)."""
    with pytest.MonkeyPatch.context() as patch:
        aws_isolation(patch, tmp_path_factory)
        return packaging.build("mxnet", tmp_path_factory.mktemp("mxnet-cache"))


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("WILDRYDES_OFFLINE_TESTS")),
                    reason="WILDRYDES_OFFLINE_TESTS is set: this test downloads ~85 MB of wheels from PyPI")
def test_real_mxnet_package_fits_and_runs(tmp_path, real_mxnet_package, sagemaker_regressor_bytes):
    """The real build: pinned manylinux wheels, pruned under 250 MiB, self-contained (every library
    an ELF file needs is in the zip or on the manylinux2014 allowlist), and the MXNet engine runs
    from the zip alone with the host's libgomp and libquadmath hidden."""
    from wildrydes_cli.deploy import elfdeps
    package = real_mxnet_package
    assert package.unzipped_bytes <= packaging.LAMBDA_UNZIPPED_LIMIT
    assert {"mxnet/libgomp.so.1", "mxnet/libquadmath.so.0"} <= set(package.files)
    assert not any(name.startswith(("scikit_learn", "sklearn")) for name in package.files)  # donor only
    site = tmp_path / "site"
    zipfile.ZipFile(package.path).extractall(site)
    assert elfdeps.unresolved(site) == {}
    versions = dict(n.split("/")[0].removesuffix(".dist-info").split("-", 1) for n in package.files
                    if n.endswith(".dist-info/METADATA"))
    assert versions["urllib3"] == "1.26.20" and versions["requests"] == "2.32.3", versions
    model = tmp_path / "model.tar.gz"
    model.write_bytes(sagemaker_regressor_bytes)
    script = (
        "import sys, ctypes\n"
        f"sys.path[:] = [{str(site)!r}] + [p for p in sys.path if 'site-packages' not in p]\n"
        "hidden = []\n"
        "for name in ('libgomp.so.1', 'libquadmath.so.0'):\n"
        "    try: ctypes.CDLL(name)\n"
        "    except OSError: hidden.append(name)\n"
        "print('HIDDEN', ','.join(hidden))\n"
        "import artifact, engines, mxnet\n"
        f"assert mxnet.__file__.startswith({str(site)!r})\n"
        f"m = artifact.read_model_archive(open({str(model)!r}, 'rb').read())\n"
        "row = [[1.0] * m.dimension]\n"
        "a, b = engines.create_engine('mxnet', m).predict(row)[0], engines.create_engine('lean', m).predict(row)[0]\n"
        "assert abs(a - b) <= 1e-5 * max(1.0, abs(b)), (a, b)\n"
        "print('OK', a)\n")
    command = [sys.executable, "-I", "-S", "-c", script]
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    reason = _can_hide_libs()
    if reason is None:
        empty = tmp_path / "empty"
        empty.write_bytes(b"")
        command = _without_host_libs(command, empty)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert "OK" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    # The zip is first on Lambda's sys.path, so the runtime's own boto3 imports the zip's urllib3:
    # botocore (here the installed one) must work with it.
    host = sorted({str(Path(m.__file__).parents[1]) for m in (boto3,)})
    check = (f"import sys; sys.path[:] = [{str(site)!r}] + {host!r} + sys.path\n"
             "import urllib3, boto3\n"
             f"assert urllib3.__file__.startswith({str(site)!r}), urllib3.__file__\n"
             "boto3.client('s3', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='y')\n"
             "print('BOTO OK', urllib3.__version__)\n")
    botocheck = subprocess.run([sys.executable, "-I", "-S", "-c", check], capture_output=True, text=True, timeout=120)
    assert "BOTO OK 1.26.20" in botocheck.stdout, botocheck.stderr[-2000:]
    if reason is not None:
        pytest.skip(f"MXNet ran from the zip, but the host's libraries were not hidden: {reason}")
    assert "HIDDEN libgomp.so.1,libquadmath.so.0" in done.stdout   # the host copies really were unusable


@pytest.mark.slow
@pytest.mark.skipif(bool(__import__("os").environ.get("WILDRYDES_OFFLINE_TESTS")),
                    reason="WILDRYDES_OFFLINE_TESTS is set: this test downloads ~70 MB of wheels from PyPI")
def test_real_mxnet_package_is_for_lambdas_python_whatever_python_builds_it(real_mxnet_package):
    """On 3.12/3.13 (no MXNet here) the package still carries MXNet and CPython 3.11 manylinux numpy.

    .ci/run runs this on the newest Python present as well as on 3.11.
    """
    package = real_mxnet_package
    assert package.runtime == "python3.11"
    names = set(package.files)
    assert "index.py" in names and "mxnet/libmxnet.so" in names
    assert any(n.startswith("numpy-1.23.") and n.endswith(".dist-info/WHEEL") for n in names)
    extensions = [n for n in names if n.startswith("numpy/") and n.endswith(".so")]
    assert extensions and all("cpython-311-x86_64-linux-gnu" in n for n in extensions), extensions[:3]
