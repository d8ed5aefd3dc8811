"""Is a calibrated spec about this machine? The facts `augur calibrate` records in a spec's
`host:` section, and the comparison `augur validate` makes before trusting its figures.

A spec calibrated on another CPU, with other ISA extensions (MLAS picks its kernels by
them) or for another thread count describes another machine: comparing its predictions
with measurements here says nothing about the model, so validate warns loudly.
"""
from __future__ import annotations

# ISA flags that change which kernels ORT/MLAS (or ncnn) run; the rest of /proc/cpuinfo's
# flags do not matter to a time model.
ISA_KEYS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
            "avx512_bf16", "amx_tile", "asimd", "asimdhp", "asimddp", "sve", "neon")


def isa_subset(flags) -> list[str]:
    fl = set(flags or ())
    return [k for k in ISA_KEYS if k in fl]


def host_facts(machine, threads: int, onnxruntime: str | None = None, load_avg=None) -> dict:
    """The `host:` section for a spec calibrated on `machine` with `threads` threads."""
    out = {"cpu_model": machine.cpu_model, "cores": int(machine.cores), "threads": int(threads),
           "isa": isa_subset(machine.flags)}
    if onnxruntime:
        out["onnxruntime"] = onnxruntime
    if load_avg is not None:
        out["load_avg"] = [round(float(x), 2) for x in load_avg]
    return out


def host_mismatches(host: dict | None, machine, threads: int | None) -> list[str]:
    """Why the spec's calibration host is not this machine run this way ([] when it is)."""
    if not host:
        return ["the spec records no calibration host (no `host:` section): cannot tell whether "
                "it describes this machine; re-run `augur calibrate` here to get one"]
    out = []
    if host.get("cpu_model") != machine.cpu_model:
        out.append(f"CPU model: spec calibrated on {host.get('cpu_model')!r}, this machine is "
                   f"{machine.cpu_model!r}")
    want, have = set(host.get("isa", ())), set(isa_subset(machine.flags))
    if want != have:
        miss = ", ".join(sorted(want - have)) or "-"
        extra = ", ".join(sorted(have - want)) or "-"
        out.append(f"ISA flags differ: the spec's host had [{miss}] that this machine lacks; "
                   f"this machine has [{extra}] the spec's host lacked")
    if threads is not None and host.get("threads") is not None and int(host["threads"]) != int(threads):
        out.append(f"threads: spec calibrated with {host['threads']} thread(s), this run uses {threads}")
    if host.get("cores") is not None and int(host["cores"]) != int(machine.cores):
        out.append(f"cores: spec's host had {host['cores']}, this machine has {machine.cores}")
    return out
