"""Frontends: descriptor files -> LayerGraph. ``load_net`` picks one by file suffix (or builds
a generated network from its name, generated.py).

Each reader is imported when a file of its type is read (the READERS table): a YAML net
does not import the ONNX, Caffe and ncnn readers (start-up compiles and runs less code).
tests/test_layout.py adds the table's imports to the package's import graph."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from ..errors import AugurError, name_hint
from ..graph import LayerGraph, check_batch, check_shape, rebatch
from .generated import parse_name

# Descriptor suffix -> (module under augur_sim.frontends, its reader).
READERS: dict[str, tuple[str, str]] = {
    ".prototxt": ("caffe", "load_caffe"),
    ".yaml": ("yamlnet", "load_yamlnet"),
    ".yml": ("yamlnet", "load_yamlnet"),
    ".onnx": ("onnx", "load_onnx"),
    ".param": ("ncnn", "load_ncnn"),
}


def reader(suffix: str):
    """The function that reads a descriptor with this suffix (its module imported now)."""
    mod, fn = READERS[suffix]
    return getattr(importlib.import_module(f"augur_sim.frontends.{mod}"), fn)

REPO_NETS = Path(__file__).resolve().parents[2] / "nets"
SUFFIXES = tuple(READERS)


def nets_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("AUGUR_NETS", "").split(os.pathsep) if p]
    return extra + [REPO_NETS]


def list_nets() -> list[tuple[str, Path]]:
    seen, out = set(), []
    for d in nets_dirs():
        if d.is_dir():
            for p in sorted(d.iterdir()):
                if p.suffix in SUFFIXES and p.stem not in seen:
                    seen.add(p.stem)
                    out.append((p.stem, p))
    return out


# What a network argument may be, for the errors that say it was neither.
EXPECTED_NET = f"a descriptor file ({', '.join(SUFFIXES)}) or a network name from `augur nets`"


def resolve_net(spec: str) -> Path:
    if not spec.strip():
        raise AugurError(f"a network is needed: {EXPECTED_NET}, got an empty name")
    p = Path(spec)
    if p.suffix in SUFFIXES or os.sep in spec or p.exists():
        if p.is_dir():
            raise AugurError(f"is a directory; expected {EXPECTED_NET}", file=spec)
        if not p.is_file():
            raise AugurError("no such file", file=spec)
        return p
    nets = list_nets()
    for name, path in nets:
        if name == spec:
            return path
    hint = name_hint(spec, [n for n, _ in nets], "augur nets", known="known networks")
    raise AugurError(f"'{spec}' is neither a file nor a network in nets/{hint}")


def _dims(shape) -> str:
    """A shape as the CLI spells it: 1x3x224x224."""
    return "x".join(str(d) for d in shape)


def check_batch_shape(batch: int | None, input_shape: tuple | None) -> None:
    """A batch and an input shape whose first dimension (the batch) disagree are a contradiction:
    refused, rather than one silently overriding the other."""
    if batch is not None and input_shape is not None and len(input_shape) and input_shape[0] != batch:
        raise AugurError(f"--batch {batch} contradicts --input-shape {_dims(input_shape)}, whose first dimension "
                         f"is the batch ({input_shape[0]}); give one of them, or make them agree")


def _checked_input_shape(shape) -> tuple:
    """An input shape from an API caller: a sequence of positive ints (a string such as
    '1x3x224x224' is the CLI's spelling; read character by character it would fail inside the
    descriptor's reader and name the descriptor, not the argument)."""
    if isinstance(shape, (str, bytes)):
        raise AugurError(f"input_shape must be a sequence of integers such as (1, 3, 224, 224), got the string "
                         f"{shape!r}")
    try:
        dims = tuple(shape)
    except TypeError:
        raise AugurError(f"input_shape must be a sequence of integers such as (1, 3, 224, 224), got "
                         f"{type(shape).__name__}") from None
    return check_shape(dims, "input_shape")


def _loaded_with_shape(graph: LayerGraph, shape: tuple) -> LayerGraph:
    """An input shape asked of a network already loaded: its shapes were inferred when it was
    built, so only the batch can still change (rebatch); another resolution needs the file read
    again with that shape. Refused rather than dropped: an estimate of the old resolution under
    the new one's name would be a wrong number with nothing to show for it."""
    ins = [graph.layer(n).attrs["shape"] for n in graph.order if graph.layer(n).op == "input"]
    if len(ins) == 1 and tuple(ins[0][1:]) == shape[1:] and len(ins[0]) == len(shape):
        return graph if shape[0] == graph.batch else rebatch(graph, int(shape[0]))
    got = _dims(ins[0]) if len(ins) == 1 else f"{len(ins)} inputs"
    raise AugurError(f"input_shape {_dims(shape)} asked of a network already loaded at "
                     f"{got}: a loaded network's shapes are fixed; load it again with the shape "
                     f"(load_net(path, input_shape=...)) or pass its name or path", where=graph.name)


def load_net(spec, batch: int | None = None, input_shape: tuple | None = None,
             lenient: bool = False) -> LayerGraph:
    """Load a network by path or zoo name; optionally override batch or the input shape."""
    if batch is not None:
        check_batch(batch)
    if input_shape is not None:
        input_shape = _checked_input_shape(input_shape)
    check_batch_shape(batch, input_shape)
    gen = parse_name(str(spec)) if not isinstance(spec, LayerGraph) else None
    if isinstance(spec, LayerGraph):
        graph = spec
        if input_shape is not None:
            graph = _loaded_with_shape(graph, tuple(input_shape))
    elif gen is not None and not Path(str(spec)).exists():
        # A generated network by the name `sweep --generate` gives it (FAMILY-sSEED-INDEX):
        # the same seed and index rebuild the same network anywhere (frontends/generated.py).
        graph = gen.graph(batch or 1)
        if input_shape is not None:
            raise AugurError("--input-shape does not apply to a generated network (its resolution is "
                             "part of the design)", where=str(spec))
    else:
        path = resolve_net(str(spec))
        if path.suffix not in READERS:
            raise AugurError(f"unknown descriptor type '{path.suffix}'; expected one of "
                             f"{', '.join(SUFFIXES)}", file=str(path))
        if path.suffix == ".onnx":
            graph = reader(".onnx")(path, batch=batch, input_shape=input_shape, lenient=lenient)
        else:
            graph = reader(path.suffix)(path, input_shape=input_shape)
    if batch is not None and batch != graph.batch:
        graph = rebatch(graph, batch)
    return graph
