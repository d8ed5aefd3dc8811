"""Mutation fuzzing of the real Caffe descriptors: whatever the damage, the frontend
returns a LayerGraph or raises AugurError, never any other exception."""
import re

import fuzz_cases
from shared_data import PROTOTXT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augur_sim.counts import count_net
from augur_sim.errors import AugurError
from augur_sim.frontends.caffe import load_caffe_text
from augur_sim.graph import LayerGraph

SHARED = PROTOTXT  # ../shared/prototxt or $AUGUR_SHARED/prototxt (tests/shared_data.py)
FILES = sorted(SHARED.glob("*.prototxt")) if SHARED.is_dir() else []
# Without ../shared, the small descriptor the fuzz campaign also starts from (conv, ReLU,
# pool, slice, concat, fc, softmax), so the property still runs.
TEXTS = {p.name: p.read_text() for p in FILES} or {"tiny.prototxt": fuzz_cases.prototxt_seeds()[-1]}

NUMBERS = ["0", "-1", "1", "3", "1099511627776", "18446744073709551616", "1e308", "-0.5", "0x7fffffff",
           "nan", "inf", "2.5", "017"]
GARBAGE = ["{", "}", "<", ">", "::", '"', "'", "layer {", 'bottom: "zz"', "@", "-", 'top: "data"',
           'type: "Crop"', "[", "]", ";", "kernel_size: 0", "group: 7", "# c", 'name: "conv1"',
           "include { phase: TRAIN }", "\\x", "1.2.3"]
_NUM = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")

mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6)),
    st.tuples(st.just("number"), st.integers(0, 10**6), st.sampled_from(NUMBERS)),
    st.tuples(st.just("brace"), st.integers(0, 10**6)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(GARBAGE)),
)


def mutate(text: str, ops) -> str:
    lines = text.split("\n")
    for op in ops:
        i = op[1] % len(lines)
        if op[0] == "delete" and len(lines) > 1:
            del lines[i]
        elif op[0] == "duplicate":
            lines.insert(i, lines[i])
        elif op[0] == "number":
            # The first number at or after line i.
            for k in range(len(lines)):
                j = (i + k) % len(lines)
                m = _NUM.search(lines[j])
                if m:
                    lines[j] = lines[j][:m.start()] + op[2] + lines[j][m.end():]
                    break
        elif op[0] == "brace":
            for k in range(len(lines)):
                j = (i + k) % len(lines)
                if "{" in lines[j] or "}" in lines[j]:
                    lines[j] = lines[j].replace("{" if "{" in lines[j] else "}", "", 1)
                    break
        elif op[0] == "insert":
            lines.insert(i, op[2])
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(TEXTS)), ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_descriptors_never_crash(name, ops):
    text = mutate(TEXTS[name], ops)
    try:
        graph = load_caffe_text(text, name)
    except AugurError as e:
        s = str(e)
        assert "\n" not in s and s.startswith(name), s
        return
    assert isinstance(graph, LayerGraph)
    nc = count_net(graph)  # counting a graph that built must not crash either
    # ... and must give sane figures: every shape positive, no negative count, totals = sums
    for lc in nc.layers:
        assert all(d > 0 for shp in lc.output_shapes for d in shp), (lc.name, lc.output_shapes)
        c = lc.counts
        assert min(c.macs, c.flops, c.params, c.stat_params, c.out_elems) >= 0, lc.name
        assert c.flops >= 2 * c.macs, lc.name  # FLOPs = 2/MAC plus bias and elementwise work
    assert nc.total.macs == sum(lc.counts.macs for lc in nc.layers)
    assert nc.total.params == sum(lc.counts.params for lc in nc.layers)
