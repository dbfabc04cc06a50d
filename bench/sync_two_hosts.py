"""The sync bench (bench/sync_load.py) against two real app hosts sharing MariaDB and an S3 bucket.

    scripts/mariadb-test-server.sh scripts/seaweedfs-test-server.sh .venv/bin/python bench/sync_two_hosts.py

The hosts are the multi-host test's (tests/support/hosts.Cluster: gunicorn with deploy/gunicorn.conf.py,
each with its own INSTANCE_DIR); the bench runs twice: every request to the next host (--alternate),
then each phone on one host.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
from tests.support.hosts import Cluster  # noqa: E402

folder = Path(tempfile.mkdtemp(prefix="ddt-twohost-"))
cluster = Cluster(folder, (5293, 5294), 5295)
try:
    cluster.start()
    env = cluster.env(folder / "bench")
    for mode in (["--alternate"], []):
        args = [".venv/bin/python", "bench/sync_load.py", "--database-url", cluster.database_url,
                "--base-url", cluster.hosts[0].url, "--base-url", cluster.hosts[1].url, *mode]
        print("$", " ".join(args), flush=True)
        subprocess.run(args, env=env, check=False)
finally:
    cluster.stop()
