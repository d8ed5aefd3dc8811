"""The same sweep on a dask.distributed cluster (real worker processes, loopback only)."""
import os
import threading
import time

import pytest
from explore_util import REPO

from augur_sim.explore import sweep as S

distributed = pytest.importorskip("distributed")

DEVS = ["jetson_nano", "nvidia_t4"]


@pytest.fixture(scope="module")
def cluster():
    # Worker processes import augur_sim: give them the repo on their path.
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(REPO) + (os.pathsep + old if old else "")
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                 dashboard_address=None)
    try:
        yield c
    finally:
        c.close()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def _nets():
    return S.expand_nets(["squeezenet1_1"]) + S.generated_specs([("resnet", 10), ("mobilenet", 10)], seed=3)


def test_dask_sweep_equals_local(cluster, tmp_path):
    devs = S.expand_hw(DEVS)
    local, remote = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    S.run_sweep(_nets(), devs, [1, 2], ["fp32"], local, jobs=1)
    summ = S.run_sweep(_nets(), devs, [1, 2], ["fp32"], remote, scheduler=cluster.scheduler_address)
    assert summ.backend.startswith("dask") and summ.rows_written == 21 * 2 * 2
    a, b = S.read_table(local), S.read_table(remote)
    assert len(a) == 84 and a.equals(b)


def test_lost_worker_loses_and_duplicates_nothing(cluster, tmp_path):
    devs = S.expand_hw(DEVS)
    nets = S.generated_specs([("resnet", 80)], seed=5)
    out = tmp_path / "dask.parquet"
    parts = tmp_path / "dask.parquet.parts"
    client = distributed.Client(cluster)
    result, failure = {}, {}

    def run():
        try:
            result["s"] = S.run_sweep(nets, devs, [1], ["fp32"], out, scheduler=client, flush_rows=4,
                                      flush_s=0.05)
        except BaseException as e:  # surfaced by the assertion below
            failure["e"] = e
    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 60
    while time.time() < deadline and not (parts.is_dir() and any(parts.iterdir())):
        time.sleep(0.02)
    victim = sorted(client.scheduler_info()["workers"])[0]
    mid_sweep = not out.exists()
    try:
        client.run(os._exit, 1, workers=[victim])
    except Exception:
        pass  # the worker dies before it can answer
    t.join(120)
    alive = set(client.scheduler_info()["workers"])
    client.close()
    assert not t.is_alive() and not failure, failure
    assert mid_sweep and victim not in alive  # the worker really died, mid-sweep
    assert result["s"].rows_in_file == 160
    table = S.read_table(out)
    keys = list(zip(*[table.column(k).to_pylist() for k in S.KEY]))
    assert len(keys) == len(set(keys)) == 160
    ref = tmp_path / "ref.parquet"
    S.run_sweep(nets, devs, [1], ["fp32"], ref, jobs=1)
    assert S.read_table(ref).equals(table)
