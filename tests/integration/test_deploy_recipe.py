"""The deployment recipe's files (deploy/, docs/DEPLOY.md) are real: nginx accepts the whole TLS site
as written, and the hosts' settings file names every setting the multi-host test gives its hosts.
(The multi-host test itself serves deploy/nginx-app.conf and runs deploy/cron's daily line.)"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_nginx_accepts_the_tls_site_as_written(tmp_path):
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: scripts/ensure-test-system-packages.sh installs it")
    # A self-signed certificate where the site expects the real one.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=daidaitong.example.cn", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    site = (DEPLOY / "nginx.conf").read_text()
    for path in ("/etc/ssl/daidaitong/fullchain.pem", "/etc/ssl/daidaitong/privkey.pem",
                 "/etc/nginx/daidaitong-app.conf", "/var/log/nginx/daidaitong.access.log",
                 "/var/log/nginx/daidaitong.error.log"):
        assert path in site, f"deploy/nginx.conf no longer names {path}; docs/DEPLOY.md says it does"
    site = (site.replace("/etc/ssl/daidaitong", str(tmp_path))
                .replace("/etc/nginx/daidaitong-app.conf", str(DEPLOY / "nginx-app.conf"))
                .replace("/var/log/nginx", str(tmp_path)))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"""pid {tmp_path}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  include /etc/nginx/mime.types;
  include {tmp_path}/site.conf;
}}
""")
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                            "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "test is successful" in check.stderr


def test_the_hosts_settings_file_names_every_setting_a_host_needs():
    example = (DEPLOY / "daidaitong.env.example").read_text()
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    # What tests/support/hosts.py gives each host that a deployment sets too (the rest is the test's).
    hosts_py = (PROJECT_ROOT / "tests" / "support" / "hosts.py").read_text()
    given = set(re.findall(r'"([A-Z][A-Z0-9_]+)": ', hosts_py)) | {"PROMETHEUS_MULTIPROC_DIR"}
    test_only = {"PASSWORD_HASH_METHOD", "OCR_ENGINE", "UPLOAD_CHUNK_BYTES"}
    assert given - test_only <= named, sorted(given - test_only - named)
