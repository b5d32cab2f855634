"""The operator guide's Spark cluster how-to, tried on a standalone cluster of two workers that
the test starts itself (a master and two workers, one core each, all on this machine).

A place is linked on DuckDB; the same store is then linked again on the cluster with the
stored model, as ``joinedup link --backend spark --spark-master spark://host:7077`` would
after a re-link, and the persons must be the ones DuckDB gives with that model.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from tests.support.persons import partition


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:  # noqa: S310
            return int(json.load(response).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[str]:
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_HOME": str(spark_class.parent.parent)}  # fmt: skip
    port, ui = _free_port(), _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    commands = [[str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", str(ui)]]  # fmt: skip
    for n in (1, 2):
        work = str(tmp_path / f"worker{n}")
        commands.append([str(spark_class), "org.apache.spark.deploy.worker.Worker", master_url,
                         "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                         "--webui-port", str(_free_port()), "--work-dir", work])  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for n, command in enumerate(commands):
            with (logs / f"{n}.log").open("wb") as log:
                processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
            if n == 0:  # the workers need the master listening
                deadline = time.monotonic() + 60
                while _alive_workers(ui) == 0 and not _listening(port):
                    assert time.monotonic() < deadline, (logs / "0.log").read_text()[-2000:]
                    time.sleep(0.5)
        deadline = time.monotonic() + 90
        while _alive_workers(ui) < 2:
            assert time.monotonic() < deadline, "the two workers did not register with the master"
            time.sleep(0.5)
        yield master_url
    finally:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()  # so that later tests make their own local session
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.spark
def test_links_on_a_two_worker_standalone_cluster(tmp_path: Path, cluster: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from pyspark.sql import SparkSession

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()  # a local session of an earlier test would otherwise be re-used
    generate_place(200, tmp_path / "extracts", seed=3)
    base = tmp_path / "base.duckdb"
    con = connect(base, memory_limit="1GB", threads=2)
    ingest_directory(con, tmp_path / "extracts")
    link_place(con, work_dir=tmp_path / "work", seed=42, mode="full")
    con.execute("CHECKPOINT")
    con.close()

    stores = {}
    for backend in ("duckdb", "spark"):
        stores[backend] = tmp_path / f"{backend}.duckdb"
        shutil.copy(base, stores[backend])
    con = connect(stores["duckdb"], memory_limit="1GB", threads=2)
    on_duckdb = link_place(con, work_dir=tmp_path / "work-duckdb", mode="full", retrain=False)
    duckdb_persons = partition(con)
    con.close()
    con = connect(stores["spark"], memory_limit="1GB", threads=2)
    on_cluster = link_place(con, backend="spark", spark_master=cluster, work_dir=tmp_path / "work-spark",
                            mode="full", retrain=False)  # fmt: skip
    cluster_persons = partition(con)
    con.close()

    session = SparkSession.getActiveSession()
    assert session is not None and session.sparkContext.master == cluster
    # The driver and both workers' executors took part.
    assert session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() == 3  # noqa: SLF001
    assert on_cluster.backend == "spark" and on_cluster.comparisons == on_duckdb.comparisons > 0
    assert cluster_persons == duckdb_persons
