"""What the OS says about this machine: CPU model, cores, ISA flags, cache geometry, memory,
the library versions; and the FLOP/cycle the ISA implies. Read, never measured."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class CacheInfo:
    level: int
    size_bytes: int
    line_bytes: int
    assoc: int
    shared: bool


@dataclass(frozen=True)
class MachineInfo:
    cpu_model: str
    cores: int
    flags: frozenset
    nominal_mhz: float
    caches: tuple
    memory_bytes: int
    versions: dict


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _size_bytes(text: str) -> int:
    t = text.strip().upper()
    mult = 1
    for suf, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)):
        if t.endswith(suf):
            t, mult = t[:-1], m
            break
    try:
        return int(t) * mult
    except ValueError:
        return 0


def read_caches(root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> tuple:
    """Data and unified caches of cpu0, innermost first, from sysfs."""
    out = []
    for d in sorted(root.glob("index*")):
        if _read(d / "type") not in ("Data", "Unified"):
            continue
        try:
            level = int(_read(d / "level"))
        except ValueError:
            continue
        size = _size_bytes(_read(d / "size"))
        line = int(_read(d / "coherency_line_size") or 64)
        assoc = int(_read(d / "ways_of_associativity") or 8)
        shared_list = _read(d / "shared_cpu_list")
        shared = ("-" in shared_list or "," in shared_list)
        if size > 0:
            out.append(CacheInfo(level, size, line, max(assoc, 1), shared))
    out.sort(key=lambda c: c.level)
    return tuple(out)


def machine_info() -> MachineInfo:
    model, mhz, flags = platform.processor() or platform.machine(), 0.0, frozenset[str]()
    for line in _read(Path("/proc/cpuinfo")).splitlines():
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k == "model name" and model in ("", platform.machine(), platform.processor()):
            model = v
        elif k == "cpu MHz" and not mhz:
            try:
                mhz = float(v)
            except ValueError:
                pass
        elif k == "flags" and not flags:
            flags = frozenset(v.split())
    mem = 0
    for line in _read(Path("/proc/meminfo")).splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    import onnx
    import onnxruntime
    versions = {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__,
                "numpy": np.__version__, "python": platform.python_version()}
    return MachineInfo(cpu_model=model, cores=os.cpu_count() or 1, flags=flags, nominal_mhz=mhz,
                       caches=read_caches(), memory_bytes=mem or (8 << 30), versions=versions)


def isa_flop_per_cycle(flags) -> tuple[int, str]:
    """fp32 FLOP/cycle/core from the vector ISA: lanes x 2 FMA pipes x 2 FLOPs."""
    if "avx512f" in flags:
        return 64, "AVX-512F: 16 fp32 lanes x 2 FMA pipes x 2"
    if "avx2" in flags and "fma" in flags:
        return 32, "AVX2+FMA: 8 fp32 lanes x 2 FMA pipes x 2"
    if "asimd" in flags or "neon" in flags:
        return 16, "NEON: 4 fp32 lanes x 2 FMA pipes x 2"
    return 8, "SSE: 4 fp32 lanes x 2 (no FMA)"




def machine_label(m: MachineInfo) -> str:
    return f"{m.cpu_model}, {m.cores} cores"




def loadavg() -> float:
    """1-minute load average (the machine is shared: a busy one skews every timing)."""
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return float("nan")
