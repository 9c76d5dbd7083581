"""End-to-end helpers: run the real ``wildrydes`` executable (the venv's console
script next to sys.executable) in subprocesses with an empty HOME, a private
WILDRYDES_HOME, dummy credentials, blank AWS config files and a free port."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import emulated

BIN = Path(sys.executable).parent
WILDRYDES = BIN / "wildrydes"
AWS = BIN / "aws"


@dataclass
class Cli:
    home: Path
    env: dict
    port: int

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(WILDRYDES), *args], cwd=self.home, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"wildrydes {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def json(self, *args: str, **kw) -> dict:
        proc = self.run("--output", "json", *args, **kw)
        return json.loads(proc.stdout)

    def daemon_pid(self) -> int | None:
        from wildrydes_cli.local.daemon_files import read_state

        state = read_state(self.home / "state")
        return state.pid if state else None


def make_cli(tmp: Path) -> Cli:
    home = tmp / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "WILDRYDES_", "XDG_"))}
    env.update({
        "HOME": str(home), "WILDRYDES_HOME": str(home / "state"),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-creds"),
        "AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1",
    })
    port = emulated.free_port()
    env["WILDRYDES_LOCAL_PORT"] = str(port)
    return Cli(home, env, port)


def curl_post(url: str, body: str) -> tuple[int, dict]:
    """The workshop's own request: real curl when installed, else urllib."""
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-d", body, "-H", "Content-Type: application/json",
                              "-X", "POST", url], capture_output=True, text=True, timeout=60, check=True)
        text, code = out.stdout.rsplit("\n", 1)
        return int(code), json.loads(text)
    status, _, data = emulated.http("POST", url, body, {"Content-Type": "application/json"})
    return status, json.loads(data)
