"""The fitted ncnn parameters on disk (measurements/ncnn/fit.yaml), with their provenance.

    name: ncnn
    fitted_on: {corpus: ..., rows: N, devices: [...], date: ...}
    residuals: {rms_log: ..., median_abs_pct: ..., within_25: ..., ...}
    default: {eff_gemm: ..., ...}          # the shared values (a class with no data)
    classes: {armv8.2-fp16-dot: {...}, ...}  # per ISA class
    families: {arm-inorder: {...}, ...}      # factors per pipeline family
    cores: {cortex_a55: {...}, ...}          # factors per core design

A run uses the class of the core its slowest thread runs on; an ISA class absent from the
file uses `default`. Values are checked on load (positive, finite): the file may have
been edited by hand.

This is the reader (and the record it returns), beside the engine that uses the values:
evaluation reads a fit, measure/ writes one (measure/ncnn_params.write_fit, fitted by
measure/ncnn_fit.py), and the stage order forbids evaluation importing measure/.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ..errors import AugurError
from .ncnn_cost import NP, PARAM_NAMES

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FIT = REPO / "measurements" / "ncnn" / "fit.yaml"

# Starting values: physically plausible, not fitted (the fit moves them).
INIT = {"eff_gemm": 0.5, "eff_winograd": 0.4, "eff_depthwise": 0.15, "eff_int8": 0.3,
        "stream_cycles_per_elem": 1.0, "dram_eff": 0.6, "cache_bytes_per_cycle": 16.0,
        "layer_overhead_kcycles": 5.0, "sync_per_thread": 0.05, "eff_innerproduct": 0.1,
        "fork_kcycles_per_thread": 1.0, "sync_per_thread_private_l2": 0.05,
        "eff_int8_reference": 0.2, "eff_int8_winograd": 0.3, "eff_int8_depthwise": 0.2,
        "group_op_kcycles": 5.0, "winograd_transform_cost": 1.0}
INIT_LOG = np.log(np.array([INIT[n] for n in PARAM_NAMES]))


@dataclass(frozen=True)
class FitResult:
    g: np.ndarray             # [NP] shared log-parameters
    d: np.ndarray             # [C, NP] class log-offsets
    classes: tuple
    rms_log: float
    iterations: int
    seconds: float
    n_rows: int
    dc: np.ndarray | None = None   # [K, NP] core-design log-offsets on top of class and family
    cores: tuple = ()
    df: np.ndarray | None = None   # [F, NP] pipeline-family log-offsets on top of the class's
    fams: tuple = ()

    def params(self, cls: str | None, core: str | None = None, fam: str | None = None) -> np.ndarray:
        """Parameter values of a class (the shared ones for an unknown class or None), with
        the pipeline family's and the core design's own offsets where the fit saw them."""
        lp = self.g.copy()
        if cls in self.classes:
            lp = lp + self.d[self.classes.index(cls)]
        if fam is not None and fam in self.fams and self.df is not None:
            lp = lp + self.df[self.fams.index(fam)]
        if core is not None and core in self.cores and self.dc is not None:
            lp = lp + self.dc[self.cores.index(core)]
        return np.exp(lp)


def log_param_values(node, path, where, names, hi: float = 1e6) -> np.ndarray:
    """The logs of a fit file's `{name: value}` mapping in `names` order; every value a positive
    finite number up to `hi` (the file may have been edited by hand). Shared by the CPU and the
    Vulkan (engine/ncnn_vulkan.py) fit readers."""
    if not isinstance(node, dict):
        raise AugurError("expected a mapping of parameter -> value", file=str(path), where=where)
    out = np.empty(len(names))
    for i, n in enumerate(names):
        v = node.get(n)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0 or v > hi:
            raise AugurError(f"{n}: expected a positive number, got {v!r}", file=str(path), where=where)
        out[i] = math.log(v)
    return out


# Parsed documents by (resolved path, sha256 of the bytes): parsing the fit file takes ~60 ms
# (pure-Python YAML) and every ncnn estimate reads it and its held-out companion, so a sweep
# would parse them once per row. Keyed by content, not modification time, so a file rewritten
# within one timestamp tick is still re-read. Callers only read the documents.
_DOCS: dict = {}
_DOCS_MAX = 16


def load_yaml_doc(path: Path):
    """A generated YAML file's document (fit files, engine/held_out.py's held-out errors); a
    file that does not parse or read is one AugurError naming it and the line. The document
    is shared with later calls on the same bytes: read it, do not change it."""
    try:
        data = path.read_bytes()
        key = (str(path.resolve()), hashlib.sha256(data).hexdigest())
        if key not in _DOCS:
            doc = yaml.safe_load(data.decode("utf-8"))
            if len(_DOCS) >= _DOCS_MAX:
                _DOCS.clear()
            _DOCS[key] = doc
        return _DOCS[key]
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise AugurError(f"not valid YAML: {getattr(e, 'problem', e)}", file=str(path),
                         line=None if line is None else line + 1)
    except (OSError, UnicodeDecodeError) as e:
        raise AugurError(f"cannot read: {e}", file=str(path))


def read_fit_doc(path: Path) -> dict:
    """A fit file's YAML mapping, with its `default` parameters present; shared by the CPU and
    the Vulkan (engine/ncnn_vulkan.py) fit readers."""
    doc = load_yaml_doc(path)
    if not isinstance(doc, dict) or "default" not in doc:
        raise AugurError("expected a mapping with 'default' and 'classes'", file=str(path))
    return doc


def named_log_values(doc: dict, path: Path, key: str, what: str, names, hi: float = 1e6):
    """([entries, len(names)] logs, entry names) of a fit file's optional section `key`, a
    mapping of name -> {parameter: value} (`what` says which names, in the error)."""
    node = doc.get(key) or {}
    if not isinstance(node, dict):
        raise AugurError(f"expected a mapping of {what}", file=str(path), where=key)
    keys = tuple(str(c) for c in node)
    vals = [log_param_values(node[c], path, f"{key}.{c}", names, hi) for c in node]
    return np.array(vals).reshape(len(keys), len(names)), keys


def _vals(node, path, where) -> np.ndarray:
    return log_param_values(node, path, where, PARAM_NAMES)


def load_fit(path=None) -> FitResult:
    """The fitted parameters; without a fit file, the unfitted starting values (flagged)."""
    path = Path(path) if path else DEFAULT_FIT
    if not path.is_file():
        if path == DEFAULT_FIT:
            return FitResult(INIT_LOG.copy(), np.zeros((0, NP)), (), float("nan"), 0, 0.0, 0)
        raise AugurError("fit file not found", file=str(path))
    doc = read_fit_doc(path)
    g = _vals(doc["default"], path, "default")
    d, names = named_log_values(doc, path, "classes", "ISA class -> parameters", PARAM_NAMES)
    dc, cnames = named_log_values(doc, path, "cores", "core type -> factors", PARAM_NAMES)
    df, fnames = named_log_values(doc, path, "families", "pipeline family -> factors", PARAM_NAMES)
    return FitResult(g, d - g, names, float("nan"), 0, 0.0, 0, dc, cnames, df, fnames)
