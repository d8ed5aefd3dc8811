"""Structure-only read of an ``.onnx`` file: the model without the bytes of its weights.

A model file is one protobuf message. Its weights are the payloads of TensorProto
messages (``raw_data``, ``float_data``, ``int64_data`` ...) inside the graph's
initializers (and, rarely, inside Constant nodes' attributes). Decoding the whole file
with protobuf copies every payload (100 MB for ResNet-50) only for augur to read their
dims. Here the file is memory-mapped and walked at the wire level instead: every field is
length-prefixed, so a large tensor is skipped by its length without its pages ever being
read, and a copy of the model is assembled in which each large tensor keeps its name,
type and dims but not its payload. That copy (a few hundred KB) is what protobuf decodes.

A stripped tensor is marked as external data at a location no file can have (it starts
with a NUL byte) and carries the offset and length of the original message in this file.
Its values are read back only on demand (the few small constants that drive shapes, BN
scales checked for being all ones), one tensor at a time and under a size limit; the
offsets are honoured only if this scan recorded them, so a crafted file cannot point the
reader elsewhere. Genuine external data (a separate weight file) is never opened.

Anything the scanner does not expect (a malformed varint, a group wire type, a length past
the end) makes it give up: the caller then decodes the whole file with protobuf, which
either succeeds (nothing lost but time) or reports why the file is not ONNX.
"""
from __future__ import annotations

import mmap
from dataclasses import dataclass, field

import numpy as np

from ..errors import AugurError

# A tensor message at most this large is kept whole: shape-carrying constants (a Reshape
# target, Slice bounds) are a few bytes, and copying small tensors costs less than marking them.
INLINE_MAX_BYTES = 4096
# Node messages at most this large are copied whole without looking inside for tensors.
NODE_SCAN_MIN_BYTES = 1 << 16
# A stripped tensor is read back only if its message is at most this large (its values
# are only ever needed for shape arithmetic and the all-ones check of small affine params).
LAZY_MAX_BYTES = 64 << 20
# Nested subgraphs (If/Loop bodies) scanned for tensors; deeper ones are copied whole.
MAX_DEPTH = 8
# A large tensor with more fields than this is encoded unpacked; protobuf strips it instead.
MAX_TENSOR_FIELDS = 64

LAZY_LOCATION = "\x00augur: stripped from this file"

# TensorProto fields (onnx.proto): payloads, then the ones the marker replaces.
_PAYLOAD = frozenset({4, 5, 6, 7, 9, 10, 11})  # float, int32, string, int64, raw, double, uint64
_EXTERNAL_DATA, _DATA_LOCATION = 13, 14


# TensorProto.DataType -> numpy type of its raw_data (little-endian by the ONNX spec).
_RAW_DTYPES: dict[int, np.dtype] = {1: np.dtype("<f4"), 2: np.dtype("u1"), 3: np.dtype("i1"), 4: np.dtype("<u2"),
               5: np.dtype("<i2"), 6: np.dtype("<i4"), 7: np.dtype("<i8"), 9: np.dtype("?"),
               10: np.dtype("<f2"), 11: np.dtype("<f8"), 12: np.dtype("<u4"), 13: np.dtype("<u8")}


class Malformed(Exception):
    """The bytes are not the protobuf encoding the scanner expects."""


def _varint(b, i: int) -> tuple[int, int]:
    try:
        x = b[i]
        i += 1
        if x < 0x80:
            return x, i
        x &= 0x7F
        shift = 7
        while True:
            c = b[i]
            i += 1
            x |= (c & 0x7F) << shift
            if c < 0x80:
                return x, i
            shift += 7
            if shift > 63:
                raise Malformed("varint longer than 10 bytes")
    except IndexError:
        raise Malformed("truncated varint") from None


def _enc_varint(x: int) -> bytes:
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def _fields(b, start: int, end: int):
    """Yield (field number, wire type, tag offset, value offset, end offset) of each field.
    One-byte keys and lengths (nearly all of them) are decoded inline."""
    i = start
    while i < end:
        key = b[i]
        j = i + 1
        if key >= 0x80:
            key, j = _varint(b, i)
        wt = key & 7
        if wt == 0:
            x = b[j] if j < end else 0x80
            k = j + 1 if x < 0x80 else _varint(b, j)[1]
        elif wt == 2:
            n = b[j] if j < end else 0x80
            if n < 0x80:
                j += 1
            else:
                n, j = _varint(b, j)
            k = j + n
        elif wt == 1:
            k = j + 8
        elif wt == 5:
            k = j + 4
        else:
            raise Malformed(f"wire type {wt}")
        if k > end or key >> 3 == 0:
            raise Malformed("field past the end of its message")
        yield key >> 3, wt, i, j, k
        i = k


def _len_field(num: int, payload: bytes) -> bytes:
    return _enc_varint(num << 3 | 2) + _enc_varint(len(payload)) + payload


def _entry(key: str, value: str) -> bytes:
    return _len_field(_EXTERNAL_DATA, _len_field(1, key.encode()) + _len_field(2, value.encode()))


_LOCATION_ENTRY = _entry("location", LAZY_LOCATION)
# An external_data entry whose value is a number: the key part is constant, precomputed.
_OFFSET_KEY, _LENGTH_KEY = _len_field(1, b"offset"), _len_field(1, b"length")


def _number_entry(key_field: bytes, n: int) -> bytes:
    """_entry(key, str(n)) for a precomputed key field: both lengths fit one varint byte."""
    v = str(n).encode()
    body = key_field + b"\x12" + bytes((len(v),)) + v  # field 2 (value), length-delimited
    return b"\x6a" + bytes((len(body),)) + body  # field 13 (external_data), length-delimited
_EXTERNAL = _enc_varint(_DATA_LOCATION << 3) + b"\x01"  # data_location: EXTERNAL


@dataclass
class StrippedModel:
    """The model's bytes without large tensor payloads, and where those tensors are."""
    data: bytes
    # (offset, length) of each stripped TensorProto -> (offset, length) of its raw_data
    # payload when that is its only payload, else None
    spans: dict = field(default_factory=dict)
    stripped_bytes: int = 0
    # What ONNX shape inference reads, gathered in the same pass (see inference_model):
    # the encoded ir_version and opset_import fields of the model, and the graph's node,
    # initializer, input and output fields in file order, inputs and outputs as
    # (field number, payload) for the caller to edit. None where the file has no single
    # graph field (protobuf would merge several): the caller then copies the parsed model.
    infer_head: bytes = b""
    infer_graph: list | None = None
    # Where each initializer of the main graph is among infer_graph's parts, in file order:
    # (part index, start, end) of its field inside that part (a run of unchanged fields),
    # or (part index, None, None) when the part is the field (a stripped tensor's marker).
    infer_inits: list | None = None


class _Scanner:
    def __init__(self, buf) -> None:
        self.b = buf
        self.spans: dict = {}
        self.stripped = 0
        self.infer_head: list = []
        self.infer_graph: list | None = None
        self.infer_inits: list | None = None
        self.graphs = 0

    def model(self, start: int, end: int) -> bytes:
        b, out, run = self.b, [], start
        for num, wt, i, j, k in _fields(b, start, end):
            if num in (1, 8):  # ir_version, opset_import
                self.infer_head.append(bytes(b[i:k]))
            if num != 7 or wt != 2:
                continue
            self.graphs += 1
            new = self._top_graph(j, k)
            out.append(b[run:i])
            out.append(_len_field(7, new))
            run = k
        if self.graphs != 1:
            self.infer_graph = self.infer_inits = None
        if not out:
            return bytes(b[start:end])
        out.append(b[run:end])
        return b"".join(out)

    def _top_graph(self, start: int, end: int) -> bytes:
        """The main graph: its stripped copy (returned) and, in the same pass, the parts
        ONNX shape inference reads (self.infer_graph): node (1) and initializer (5) fields
        as they are in the stripped copy, input (11) and output (12) fields as (number,
        payload); name, doc string, value_info and the rest are left out."""
        b, out, run = self.b, [], start
        parts: list = []
        inits: list = []
        irun = iend = -1  # the current run of unchanged node / initializer fields, copied as one slice
        for num, wt, i, j, k in _fields(b, start, end):
            new = None
            # The size tests of tensor() and node() first, here: most fields are small
            # nodes and tensors kept whole, and the calls cost more than the tests.
            if wt == 2:
                if num == 5:
                    if k - j > INLINE_MAX_BYTES:
                        new = self.tensor(j, k, 1)
                elif num == 1:
                    if k - j >= NODE_SCAN_MIN_BYTES:
                        new = self.node(j, k, 1)
            if new is None and (num == 1 or num == 5):
                if irun < 0:
                    irun = i
                iend = k
                if num == 5:  # its place inside the run (the run becomes part len(parts))
                    inits.append((len(parts), i - irun, k - irun))
                continue
            if irun >= 0:
                parts.append(bytes(b[irun:iend]))
                irun = -1
            if new is not None:
                enc = _len_field(num, new)
                out.append(b[run:i])
                out.append(enc)
                run = k
                if num == 5:
                    inits.append((len(parts), None, None))
                parts.append(enc)
            elif wt == 2 and (num == 11 or num == 12):
                parts.append((num, bytes(b[j:k])))
        if irun >= 0:
            parts.append(bytes(b[irun:iend]))
        self.infer_graph = parts
        self.infer_inits = inits
        if not out:
            return bytes(b[start:end])
        out.append(b[run:end])
        return b"".join(out)

    def _message(self, start: int, end: int, rewrite: dict, depth: int) -> bytes:
        """Copy a message, passing the length-delimited fields named in `rewrite` through
        their handler; runs of other fields are copied as one slice."""
        b, out, run = self.b, [], start
        for num, wt, i, j, k in _fields(b, start, end):
            fn = rewrite.get(num) if wt == 2 else None
            if fn is None:
                continue
            new = fn(j, k, depth)
            if new is None:
                continue  # unchanged: stays in the run
            out.append(b[run:i])
            out.append(_len_field(num, new))
            run = k
        if not out:
            return bytes(b[start:end])
        out.append(b[run:end])
        return b"".join(out)

    def graph(self, j: int, k: int, depth: int):
        """A nested graph (an If/Loop body inside an attribute)."""
        if depth > MAX_DEPTH:
            return None
        # initializer (5) holds the weights; nodes (1) may carry Constant tensors.
        return self._message(j, k, {5: self.tensor, 1: self.node}, depth + 1)

    def node(self, j: int, k: int, depth: int):
        if k - j < NODE_SCAN_MIN_BYTES:
            return None
        return self._message(j, k, {5: self.attribute}, depth)

    def attribute(self, j: int, k: int, depth: int):
        if k - j < NODE_SCAN_MIN_BYTES:
            return None
        # t (5), tensors (9), g (6), graphs (11)
        return self._message(j, k, {5: self.tensor, 9: self.tensor, 6: self.graph, 11: self.graph}, depth)

    def tensor(self, j: int, k: int, depth: int):
        """A large tensor's marker (its fields but the payloads, plus where it is), or None
        to keep it whole. Runs of kept fields are copied as one slice."""
        if k - j <= INLINE_MAX_BYTES:
            return None
        b, kept, payload, n, raw = self.b, [], 0, 0, None
        run = j
        for num, wt, i, vj, vk in _fields(b, j, k):
            n += 1
            if n > MAX_TENSOR_FIELDS:
                return self._tensor_by_protobuf(j, k)
            if num in _PAYLOAD:
                raw = (vj, vk - vj) if num == 9 and wt == 2 and payload == 0 else None
                payload += vk - i
                if run < i:
                    kept.append(b[run:i])
                run = vk
            elif num == _DATA_LOCATION:
                if wt == 0 and _varint(b, vj)[0] == 1:
                    return None  # already external: nothing inline to strip
                if run < i:
                    kept.append(b[run:i])
                run = vk
            elif num == _EXTERNAL_DATA:
                if run < i:
                    kept.append(b[run:i])
                run = vk
        if payload == 0:
            return None
        if run < k:
            kept.append(b[run:k])
        return self._marker(kept, j, k, payload, raw)

    def _marker(self, kept: list, j: int, k: int, payload: int, raw=None) -> bytes:
        self.spans[(j, k - j)] = raw
        self.stripped += payload
        kept += (_LOCATION_ENTRY, _number_entry(_OFFSET_KEY, j), _number_entry(_LENGTH_KEY, k - j), _EXTERNAL)
        return b"".join(kept)

    def _tensor_by_protobuf(self, j: int, k: int) -> bytes | None:
        import onnx
        t = onnx.TensorProto()
        try:
            t.ParseFromString(bytes(self.b[j:k]))
        except Exception as e:
            raise Malformed(str(e)) from None
        if t.data_location == onnx.TensorProto.EXTERNAL:
            return None
        for name in ("float_data", "int32_data", "string_data", "int64_data", "raw_data",
                     "double_data", "uint64_data", "external_data", "data_location"):
            t.ClearField(name)
        return self._marker([t.SerializeToString()], j, k, k - j)


def strip(buf) -> StrippedModel:
    """Scan a serialised ModelProto (bytes, or an mmap of the file). Raises Malformed."""
    s = _Scanner(buf)
    data = s.model(0, len(buf))
    return StrippedModel(data, s.spans, s.stripped, b"".join(s.infer_head), s.infer_graph, s.infer_inits)


def inference_model(st: StrippedModel, edit_input, edit_output, drop=()) -> bytes:
    """The stripped model reduced to what ONNX shape inference reads (ir_version,
    opset_import; the graph's nodes, initializers, inputs and outputs), as bytes for
    onnx's C++ inference: no protobuf copy of the model is built in Python. `edit_input`
    and `edit_output` map an input's / output's ValueInfoProto payload to the payload to
    use (the same bytes when nothing changes). `drop`: ordinals (file order) of main-graph
    initializers left out. Requires st.infer_graph."""
    assert st.infer_graph is not None and st.infer_inits is not None
    cuts: dict[int, list] = {}
    for n in drop:
        pi, a, e = st.infer_inits[n]
        cuts.setdefault(pi, []).append((a, e))
    parts = []
    for idx, p in enumerate(st.infer_graph):
        if type(p) is tuple:
            num, payload = p
            parts.append(_len_field(num, edit_input(payload) if num == 11 else edit_output(payload)))
        elif idx in cuts:
            spans = cuts[idx]
            if spans[0][0] is None:
                continue  # the part is the dropped initializer
            pos = 0
            for a, e in sorted(spans):
                parts.append(p[pos:a])
                pos = e
            parts.append(p[pos:])
        else:
            parts.append(p)
    return st.infer_head + _len_field(7, b"".join(parts))


def map_file(f) -> mmap.mmap:
    """A read-only map of an open file (OSError or ValueError where it cannot be mapped)."""
    return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class LazyTensors:
    """Reads stripped tensors back from the mapped file, one at a time, on demand."""

    def __init__(self, buf, spans: dict, file: str, stripped: StrippedModel | None = None):
        self.buf = buf
        self.spans = spans
        self.file = file
        self.stripped = stripped  # the read these spans come from (its inference parts)

    def span(self, proto) -> tuple[int, int] | None:
        """(offset, length) when `proto` is a tensor this scan stripped, else None."""
        if proto.data_location != 1 or not proto.external_data:
            return None
        kv = {e.key: e.value for e in proto.external_data}
        if kv.get("location") != LAZY_LOCATION:
            return None
        try:
            sp = (int(kv["offset"]), int(kv["length"]))
        except (KeyError, ValueError):
            return None
        return sp if sp in self.spans else None

    def raw_bytes(self, sp: tuple[int, int]) -> bytes | None:
        """The raw_data payload of a tensor this scan stripped (its span from span()), when
        that is its only payload and at most LAZY_MAX_BYTES; else None."""
        raw = self.spans.get(sp)
        if raw is None or self.buf is None or raw[1] > LAZY_MAX_BYTES:
            return None
        return self.buf[raw[0]:raw[0] + raw[1]]

    def load(self, proto, sp: tuple[int, int] | None = None):
        """The tensor's numpy value (`sp`: its span, when the caller has it). AugurError when
        it is too large or malformed."""
        import onnx
        from onnx import numpy_helper
        sp = sp or self.span(proto)
        if sp is None:
            raise AugurError(f"tensor '{proto.name}' was not stripped by this read", file=self.file)
        off, n = sp
        if n > LAZY_MAX_BYTES:
            raise AugurError(f"tensor '{proto.name}' is {n} bytes; its values are read only up to "
                             f"{LAZY_MAX_BYTES} bytes", file=self.file)
        if self.buf is None:
            raise AugurError(f"tensor '{proto.name}' is read after the file was closed", file=self.file)
        raw = self.spans[sp]
        if raw is not None and proto.data_type in _RAW_DTYPES:
            # The common case, raw little-endian bytes: viewed directly, nothing decoded.
            return raw_array(proto, self.buf[raw[0]:raw[0] + raw[1]], self.file)
        t = onnx.TensorProto()
        try:
            t.ParseFromString(bytes(self.buf[off:off + n]))
            return numpy_helper.to_array(t)
        except Exception as e:  # malformed tensor data: a file problem, not a bug
            raise AugurError(f"initializer '{proto.name}' is malformed: {e}", file=self.file)

    def close(self) -> None:
        if self.buf is not None and hasattr(self.buf, "close"):
            self.buf.close()
        self.buf = None


def raw_array(proto, data: bytes, file: str | None = None):
    """A tensor of a plain numeric type from its raw little-endian bytes, without the
    general decoder (numpy_helper.to_array costs more than the rest of a small tensor's use)."""
    dtype = _RAW_DTYPES[proto.data_type]
    count = 1
    for d in proto.dims:
        count *= d
    if count < 0 or count * dtype.itemsize != len(data):
        raise AugurError(f"initializer '{proto.name}' is malformed: {len(data)} bytes of data for "
                         f"dims {tuple(proto.dims)}", file=file)
    return np.frombuffer(data, dtype).reshape(tuple(proto.dims))


def has_raw_array(proto) -> bool:
    """True when raw_array can decode this (inline) tensor: raw data of a plain numeric type."""
    return proto.data_type in _RAW_DTYPES and proto.data_location != 1 and proto.HasField("raw_data")
