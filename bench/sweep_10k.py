"""Time one sweep of 10,000 generated networks (half ResNet-like, half MobileNetV2-like) on
4 devices, batch 1, fp32, with the default local backend; prints the wall time and rate.

    PYTHONPATH=. python bench/sweep_10k.py [N_NETS] [--jobs N]
"""
import argparse
import tempfile
import time
from pathlib import Path

from augur_sim.explore import sweep as S

DEVS = ["jetson_nano", "nvidia_t4", "raspberry_pi_4", "nvidia_a100"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=None)
    a = ap.parse_args()
    devs = S.expand_hw(DEVS)
    t0 = time.perf_counter()
    nets = S.generated_specs([("resnet", a.n // 2), ("mobilenet", a.n - a.n // 2)], seed=0)
    t_gen = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "sweep.parquet"
        summ = S.run_sweep(nets, devs, [1], ["fp32"], out, jobs=a.jobs, progress=True)
        t = time.perf_counter() - t0
    print(f"{a.n} nets x {len(devs)} devices = {summ.rows_in_file} rows in {t:.1f} s "
          f"(parameter sampling {t_gen:.2f} s; {a.n / t:.1f} nets/s; backend {summ.backend})")


if __name__ == "__main__":
    main()
