"""Several real app hosts for the tests, as docs/DEPLOY.md deploys them.

``Cluster`` starts gunicorn hosts (``gunicorn "app:create_app()"`` subprocesses) on loopback ports,
all sharing one MariaDB database (TEST_DATABASE_URL, scripts/mariadb-test-server.sh) and one S3
bucket (TEST_S3_*, scripts/seaweedfs-test-server.sh), the same SECRET_KEY, and each its OWN
INSTANCE_DIR, so nothing is shared through a local disk. The database is migrated once
(``flask db upgrade``) and given the demo data (``flask demo load``) before any host starts.
In front, Debian's nginx balances them round-robin with no stickiness, configured with the
deployment's own deploy/nginx-app.conf (the upstream and the listening port are the test's).

Each host writes its own gunicorn access log (``Host.requests``), which tells which host served
what. Hosts are started in their own process group: ``Host.kill()`` is a SIGKILL of the master and
its workers at once, a machine that dies.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_APP_CONF = ROOT / "deploy" / "nginx-app.conf"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
# Who served a request, in each host's access log: client, request line, status, response bytes,
# and the offset a tus answer reported (what this host knew of the upload).
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s offset=%({upload-offset}o)s'


def unavailable_reason() -> str | None:
    """Why the hosts cannot run here (None when they can): they need the MariaDB and SeaweedFS of
    the MariaDB phase of ``make test``. A missing nginx is an error, not a reason to skip."""
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("mysql"):
        return "several app hosts share one MariaDB: run in the MariaDB phase (scripts/mariadb-test-server.sh)"
    if not os.environ.get("TEST_S3_ENDPOINT_URL"):
        return "several app hosts share one S3 bucket: run inside scripts/seaweedfs-test-server.sh"
    return None


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@dataclass
class Host:
    name: str
    port: int
    env: dict[str, str]
    folder: Path
    workers: int = 2
    proc: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def instance_dir(self) -> Path:
        return self.folder / "instance"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    @property
    def output(self) -> Path:
        return self.folder / "gunicorn.log"

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start gunicorn without waiting for it (``wait_ready``)."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        # Its workers add up their metrics in a folder of this host's own (deploy/gunicorn.conf.py).
        self.env["PROMETHEUS_MULTIPROC_DIR"] = str(self.instance_dir / "metrics")
        cmd = [str(BIN / "gunicorn")]
        if GUNICORN_CONF.exists():
            cmd += ["-c", str(GUNICORN_CONF)]
        cmd += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT,
                "--graceful-timeout", "2", "app:create_app()"]
        self.starts += 1
        with open(self.output, "a") as out:
            # Its own process group: kill() takes the master and its workers down together.
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until /readyz answers 200 (database, store and migrations checked), or, where the app
        has no /readyz, until the login page does."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"host {self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status = _get(f"{self.url}/readyz")
                if status == 404:
                    status = _get(f"{self.url}/login")
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"host {self.name} not ready after {timeout:g} s:\n{self.tail()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (a machine dying mid-request)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGTERM, timeout=15)
        self.proc = None

    def requests(self, fragment: str = "") -> list[str]:
        """This host's access log lines (``"METHOD path HTTP/1.0" status bytes``) holding ``fragment``."""
        if not self.access_log.exists():
            return []
        return [line for line in self.access_log.read_text().splitlines() if fragment in line]

    def tail(self, lines: int = 40) -> str:
        if not self.output.exists():
            return "(no output)"
        return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Balancer:
    """Debian's nginx in front of the hosts: round-robin, no stickiness, deploy/nginx-app.conf."""

    port: int
    upstreams: list[int]
    folder: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def config(self) -> str:
        f = self.folder
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in self.upstreams)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers may write the temp folders below
        return f"""{user}worker_processes 1;
daemon off;
pid {f}/nginx.pid;
error_log {f}/error.log warn;
events {{ worker_connections 256; }}
http {{
  include /etc/nginx/mime.types;
  access_log {f}/access.log;
  client_body_temp_path {f}/body;
  proxy_temp_path {f}/proxy;
  fastcgi_temp_path {f}/fastcgi;
  uwsgi_temp_path {f}/uwsgi;
  scgi_temp_path {f}/scgi;
  # The deployment's upstream (deploy/nginx.conf), on the test's ports.
  upstream daidaitong {{
{servers}
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{self.port};
    server_name _;
    include {NGINX_APP_CONF};
  }}
}}
"""

    def start(self) -> None:
        if not Path(NGINX).exists():
            raise RuntimeError("the load balancer is Debian's nginx: scripts/ensure-test-system-packages.sh installs it")
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "nginx.conf"
        conf.write_text(self.config())
        check = subprocess.run([NGINX, "-t", "-p", str(self.folder), "-c", str(conf), "-e", str(self.folder / "error.log")],
                               capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx refuses the configuration:\n{check.stderr}")
        with open(self.folder / "nginx.out", "a") as out:
            self.proc = subprocess.Popen([NGINX, "-p", str(self.folder), "-c", str(conf), "-e", str(self.folder / "error.log")],
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{self.url}/login") == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nginx did not start: " + (self.folder / "error.log").read_text(errors="replace"))
            time.sleep(0.1)

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGQUIT, timeout=10)  # nginx: SIGQUIT is its graceful stop
        self.proc = None


def _stop_group(proc: subprocess.Popen | None, sig: int, *, timeout: float) -> None:
    """Stop a server and its children (its own process group): ``sig``, then SIGKILL after ``timeout``."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@dataclass
class Cluster:
    """One database, one bucket prefix, ``len(ports)`` app hosts and nginx in front."""

    folder: Path
    ports: tuple[int, ...]
    balancer_port: int
    database_name: str = "ddt_multihost"
    hosts: list[Host] = field(default_factory=list)
    balancer: Balancer | None = None

    def __post_init__(self) -> None:
        from tests.conftest import fresh_mariadb_database

        self.database_url = fresh_mariadb_database(os.environ["TEST_DATABASE_URL"], self.database_name)
        self.bucket = os.environ.get("TEST_S3_BUCKET", "ddt-test")
        self.prefix = f"multihost-{secrets.token_hex(4)}"
        self.secret_key = secrets.token_hex(32)

    def env(self, instance_dir: Path) -> dict[str, str]:
        """What a host is given: everything shared comes from the network, nothing from a disk."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST", "FLASK_"))}
        env.update({
            "FLASK_APP": "app",
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": self.secret_key,
            "INSTANCE_DIR": str(instance_dir),
            "PHOTO_STORE": f"s3://{self.bucket}/{self.prefix}",
            "S3_ENDPOINT_URL": os.environ["TEST_S3_ENDPOINT_URL"],
            "AWS_ACCESS_KEY_ID": os.environ["TEST_S3_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["TEST_S3_SECRET_ACCESS_KEY"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "S3_ADDRESSING_STYLE": "path",
            # Behind one proxy (nginx): trust its X-Forwarded-* headers, as deploy/daidaitong.env.example says.
            "PROXY_FIX_HOPS": "1",
            # Hashing is deliberately slow in production; the tests log in many times.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # Several hosts: the daily job comes from cron (deploy/cron), not from a first request.
            "DAILY_JOB_ON_FIRST_REQUEST": "0",
            "OCR_ENGINE": "none",
            # Small chunks: every photo takes several requests, so they spread over the hosts.
            "UPLOAD_CHUNK_BYTES": str(48 * 1024),
        })
        return env

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """``flask ARGS`` as an operator runs it on a host (with that host's environment)."""
        folder = self.folder / "cli"
        (folder / "instance").mkdir(parents=True, exist_ok=True)
        return subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=self.env(folder / "instance"),
                              capture_output=True, text=True, timeout=300)

    def start(self) -> Cluster:
        for args in (("db", "upgrade"), ("demo", "load")):
            done = self.flask(*args)
            if done.returncode:
                raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        for i, port in enumerate(self.ports):
            folder = self.folder / f"host-{'ab'[i] if i < 2 else i}"
            self.hosts.append(Host(f"host-{'AB'[i] if i < 2 else i}", port, self.env(folder / "instance"), folder))
        for host in self.hosts:  # booting side by side
            host.spawn()
        for host in self.hosts:
            host.wait_ready()
        self.balancer = Balancer(self.balancer_port, list(self.ports), self.folder / "nginx")
        self.balancer.start()
        return self

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        for host in self.hosts:
            host.stop()

    def app(self):
        """A Flask app in the test process on the cluster's database and bucket (to prepare data
        and to count what the hosts stored)."""
        from app import create_app
        from app.config import TestConfig

        config = TestConfig(self.database_url, self.folder / "test-process" / "photos")
        env = self.env(self.folder / "test-process")
        config.PHOTO_STORE = env["PHOTO_STORE"]
        for key in ("S3_ENDPOINT_URL", "S3_ADDRESSING_STYLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            setattr(config, key, env[key])
        config.SECRET_KEY = self.secret_key
        return create_app(config)

    def s3_keys(self) -> list[str]:
        """Every object key under the cluster's prefix."""
        import boto3

        s3 = boto3.client("s3", endpoint_url=os.environ["TEST_S3_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=os.environ["TEST_S3_ACCESS_KEY_ID"],
                          aws_secret_access_key=os.environ["TEST_S3_SECRET_ACCESS_KEY"])
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + "/"):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys
