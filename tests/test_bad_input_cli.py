"""Bad input a user could plausibly give, per subcommand: exit code 2, exactly one stderr line
`augur: error: ...` naming the culprit (file, layer, option or path), nothing on stdout, no
traceback, and no file left behind (not even a temporary)."""
import os
from pathlib import Path

import pytest

from augur_sim.cli import main

# A small valid YAML net, and variants of it that a user could get wrong.
GOOD_NET = """\
name: tiny
input: {shape: [1, 3, 32, 32]}
layers:
  - conv1: {conv: {out: 8, k: 3, p: 1}, bn: true, act: relu}
  - pool: {maxpool: 2}
  - gap: {gap: true}
  - fc: {fc: 10}
"""


REPO = Path(__file__).resolve().parents[1]


def _spec_with(tmp_path, text_from, text_to, name="jetson_tx2"):
    """A copy of a shipped spec with one textual edit, saved under its own stem."""
    src = (REPO / "hwspecs" / "jetson_tx2.yaml").read_text()
    assert text_from in src
    (tmp_path / "spec").mkdir(exist_ok=True)
    p = tmp_path / "spec" / f"{name}.yaml"
    p.write_text(src.replace(text_from, text_to, 1))
    return p


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A folder of bad inputs; the tests run inside it so paths stay short and relative."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.yaml").write_text(GOOD_NET)
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "empty.prototxt").write_text("")
    (tmp_path / "empty.onnx").write_bytes(b"")
    noise = bytes(range(256)) * 8
    (tmp_path / "binary.yaml").write_bytes(noise)
    (tmp_path / "binary.onnx").write_bytes(noise)
    (tmp_path / "binary.prototxt").write_bytes(noise)
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "outdir").mkdir()
    (tmp_path / "typo.yaml").write_text(GOOD_NET.replace("maxpool: 2", "maxpol: 2"))
    (tmp_path / "broken.yaml").write_text("name: [\n")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "net.txt").write_text(GOOD_NET)
    (tmp_path / "unknown_type.prototxt").write_text(
        'name: "x"\nlayer { name: "data" type: "Input" top: "data" '
        'input_param { shape: { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n'
        'layer { name: "c" type: "Frobnicate" bottom: "data" top: "c" }\n')
    (tmp_path / "notresults.csv").write_text("a,b\n1,2\n")
    # An ncnn .param whose num_output (param 0) is out of range: the bound named is int32's.
    (tmp_path / "zero.param").write_text("7767517\n2 2\nInput data 0 1 data 0=8 1=8 2=3\n"
                                         "Convolution conv 1 1 data out 0=0 1=3 6=81\n")
    (tmp_path / "notresults.parquet").write_text(GOOD_NET)
    _spec_with(tmp_path, "dram_bw_gbs: 59.7", 'dram_bw_gbs: "fast"')
    _spec_with(tmp_path, "name: jetson_tx2", "name: jetson_tx2", name="misnamed")
    (tmp_path / "spec" / "orphan.yaml").write_text("name: orphan\ndescription: x\nextends: nothere.yaml\n")
    return tmp_path


def _listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


HW = ["--hw", "jetson_tx2"]
SWEEP = ["sweep", "--nets", "good.yaml", "--hw", "jetson_tx2"]
WHATIF = ["whatif", "resnet50", "--hw", "jetson_tx2"]

# (argv, text the error line must contain: what is wrong and where)
CASES = [
    # ---- descriptor files (analyze; every net-taking command shares the loader)
    (["analyze", "missing.yaml"], "missing.yaml: no such file"),
    (["analyze", "folder.yaml"], "folder.yaml: is a directory; expected a descriptor file"),
    (["estimate", "outdir", *HW], "outdir: is a directory; expected a descriptor file (.prototxt, .yaml, "
                                  ".yml, .onnx, .param) or a network name from `augur nets`"),
    (["analyze", "empty.yaml"], "empty.yaml: the file is empty"),
    (["analyze", "empty.prototxt"], "empty.prototxt"),
    (["analyze", "empty.onnx"], "empty.onnx"),
    (["analyze", "binary.yaml"], "binary.yaml"),
    (["analyze", "binary.onnx"], "binary.onnx: not a valid ONNX model"),
    (["analyze", "binary.prototxt"], "binary.prototxt"),
    (["analyze", "typo.yaml"], "typo.yaml:5: layers[1].pool.maxpol"),
    (["analyze", "broken.yaml"], "broken.yaml:2: YAML syntax"),
    (["analyze", "list.yaml"], "list.yaml:1"),
    (["analyze", "net.txt"], "unknown descriptor type '.txt'"),
    (["analyze", "unknown_type.prototxt"], "unsupported Caffe layer type 'Frobnicate'"),
    (["analyze", "nosuchnet"], "'nosuchnet' is neither a file nor a network"),
    # a misspelled network name: the close names, and where the rest are listed
    (["estimate", "mobilenetv2", *HW], "'mobilenetv2' is neither a file nor a network in nets/ (did you mean "
                                       "mobilenet_v2, mobilenet_v1?); `augur nets` lists all"),
    (["analyze", "ResNet50"], "(did you mean resnet50"),
    (["analyze", "zero.param"], "zero.param:4: layer 'conv': param 0 (num_output) is 0; expected 1 to 2147483647"),
    # ---- --batch, --input-shape, --dtype
    (["analyze", "resnet50", "--batch", "0"], "--batch must be a positive integer"),
    (["analyze", "resnet50", "--batch", "-4"], "--batch must be a positive integer"),
    (["analyze", "resnet50", "--batch", "x"], "--batch must be a positive integer"),
    (["analyze", "resnet50", "--batch", "99999999999999999999"], "batch must be a positive integer up to"),
    (["analyze", "resnet50", "--input-shape", "3x224x224"], "layer 'conv1'"),
    (["analyze", "resnet50", "--input-shape", "1x3x224"], "needs an input of rank 4"),
    (["analyze", "resnet50", "--input-shape", "1x3x224x224x2"], "needs an input of rank 4"),
    (["analyze", "resnet50", "--input-shape", "1x3x0x224"], "--input-shape dims must be positive"),
    (["analyze", "resnet50", "--input-shape", "foo"], "--input-shape must look like"),
    (["analyze", "resnet50", "--input-shape", ""], "--input-shape must look like"),
    (["analyze", "resnet50", "--input-shape", "1x3x99999999999x99999999999"], "absurdly large"),
    # --batch and the shape's first dimension (the batch) disagree: refused, whichever command
    (["analyze", "resnet50", "--batch", "2", "--input-shape", "1x3x224x224"],
     "--batch 2 contradicts --input-shape 1x3x224x224, whose first dimension is the batch (1)"),
    (["estimate", "good.yaml", *HW, "--batch", "4", "--input-shape", "2x3x32x32"], "--batch 4 contradicts"),
    ([*WHATIF, "--set", "gpu.clock_ghz=1", "--batch", "2", "--input-shape", "1x3x224x224"], "--batch 2 contradicts"),
    (["export", "good.yaml", "--out", "m.onnx", "--batch", "2", "--input-shape", "1x3x32x32"], "--batch 2 contradicts"),
    # --top with --group-by, and either with --format summary: conflicts, not one silently ignored
    (["analyze", "good.yaml", "--top", "3", "--group-by", "op"],
     "--top and --group-by conflict: --top N lists the N heaviest layers, --group-by totals per op; give one"),
    (["estimate", "good.yaml", *HW, "--top", "3", "--group-by", "stage"],
     "--top and --group-by conflict: --top N lists the N heaviest kernels"),
    (["estimate", "good.yaml", *HW, "--top", "3", "--group-by", "op", "--format", "csv"], "--top and --group-by"),
    (["estimate", "good.yaml", *HW, "--top", "3", "--format", "summary"], "--top conflicts with --format summary"),
    (["estimate", "good.yaml", *HW, "--group-by", "op", "--format", "summary"],
     "--group-by conflicts with --format summary"),
    # resnet50 still runs at 8x8 (padding keeps every map >= 1x1, as in PyTorch); these do not
    (["analyze", "vgg16", "--input-shape", "1x3x8x8"], "layer 'pool4'"),
    (["analyze", "alexnet", "--input-shape", "1x3x8x8"], "layer 'pool1'"),
    (["analyze", "good.yaml", "--dtype", "fp64"], "--dtype: invalid choice"),
    (["analyze", "good.yaml", "--out", "outdir"], "outdir: cannot write: this is a folder"),
    (["analyze", "good.yaml", "--out", "nodir/a.json"], "folder 'nodir' does not exist"),
    # ---- estimate: hardware specs and options
    (["estimate", "good.yaml", "--hw", "nothere"], "unknown hardware 'nothere'"),
    (["estimate", "good.yaml", "--hw", "nothere.yaml"], "nothere.yaml: cannot read file"),
    (["estimate", "good.yaml", "--hw", "folder.yaml"], "folder.yaml: not a regular file"),
    (["estimate", "good.yaml", "--hw", "empty.yaml"], "empty.yaml:1: empty document"),
    (["estimate", "good.yaml", "--hw", "binary.yaml"], "binary.yaml: not UTF-8"),
    (["estimate", "good.yaml", "--hw", "broken.yaml"], "broken.yaml:2: YAML syntax"),
    (["estimate", "good.yaml", "--hw", "spec/jetson_tx2.yaml"],
     "spec/jetson_tx2.yaml:22: processors.cpu.dram_bw_gbs: expected a number"),
    (["estimate", "good.yaml", "--hw", "spec/misnamed.yaml"], "must equal the file stem"),
    (["estimate", "good.yaml", "--hw", "spec/orphan.yaml"], "spec/orphan.yaml:3: extends"),
    (["estimate", "good.yaml", *HW, "--precision", "int4"], "--precision: invalid choice"),
    (["estimate", "good.yaml", *HW, "--processor", "tpu"], "no processor 'tpu'"),
    (["estimate", "good.yaml", *HW, "--runtime", "nope"], "no runtime 'nope'"),
    (["estimate", "good.yaml", *HW, "--processor", "cpu", "--threads", "0"], "--threads must be a positive"),
    (["estimate", "good.yaml", *HW, "--processor", "cpu", "--threads", "-2"], "--threads must be a positive"),
    (["estimate", "good.yaml", *HW, "--processor", "cpu", "--threads", "100000"],
     "--threads 100000 exceeds the 4 cores of processor 'cpu'"),
    (["estimate", "good.yaml", *HW, "--processor", "gpu", "--threads", "2"], "CPU processors only"),
    (["estimate", "good.yaml", *HW, "--batch", "0"], "--batch must be a positive integer"),
    (["estimate", "good.yaml", *HW, "--runtime-mib", "-5"], "runtime memory must be"),
    (["estimate", "good.yaml", *HW, "--runtime-mib", "nan"], "runtime memory must be"),
    (["estimate", "good.yaml", *HW, "--runtime-mib", "1e30"], "runtime memory must be"),
    (["estimate", "good.yaml", *HW, "--plot", "r.txt"], "plot file must end in .png, .pdf or .svg"),
    (["estimate", "good.yaml", *HW, "--plot", "nodir/r.png"], "folder 'nodir' does not exist"),
    (["estimate", "good.yaml", *HW, "--out", "outdir"], "outdir: cannot write: this is a folder"),
    # ---- whatif: --set / --vary
    ([*WHATIF], "give at least one --set"),
    ([*WHATIF, "--set", "gpu.dram_bw_gbs"], "--set must look like KEY=VALUE"),
    ([*WHATIF, "--set", "=5"], "--set must look like KEY=VALUE"),
    ([*WHATIF, "--set", "gpu.dram_bw_gbs="], "--set must look like KEY=VALUE"),
    ([*WHATIF, "--set", "gpu.dram_bw_gbs=fast"], "processors.gpu.dram_bw_gbs: expected a number"),
    ([*WHATIF, "--set", "gpu.dram_bw_gbs=-1"], "processors.gpu.dram_bw_gbs: must be > 0"),
    ([*WHATIF, "--set", "gpu.nope=1"], "unknown override key 'gpu.nope'"),
    ([*WHATIF, "--set", "gpu.caches[9].size_kib=1"], "unknown override key 'gpu.caches[9].size_kib'"),
    ([*WHATIF, "--set", "gpu..clock_ghz=1"], "override key must be a dotted path"),
    ([*WHATIF, "--set", "memory_gib=true"], "memory_gib: expected a number"),
    ([*WHATIF, "--vary", "garbage"], "--vary must look like"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=a:b:c"], "'a' is not a number"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=1:2"], "expected START:STOP:STEPS"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=1:2:1"], "STEPS must be between 2 and"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=1:2:2.5"], "STEPS must be an integer"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=1:1:5"], "START and STOP are equal"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=0:2:5:log"], "a log range needs positive START and STOP"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=inf:2:3"], "not a finite number"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=1,1"], "repeated values"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=1:2:1000", "--vary", "gpu.dram_bw_gbs=1:100:1001"], "at most 1000000"),
    ([*WHATIF, "--vary", "gpu.units=1:2.5:3"], "processors.gpu.units: expected an integer"),
    ([*WHATIF, "--set", "gpu.clock_ghz=1", "--plot", "t.png"], "--plot draws a --vary grid"),
    ([*WHATIF, "--vary", "gpu.clock_ghz=1:2:3", "--plot", "nodir/t.png"], "folder 'nodir' does not exist"),
    ([*WHATIF, "--set", "gpu.clock_ghz=1", "--input-shape", "1x3x224"], "needs an input of rank 4"),
    (["whatif", "resnet50", "--hw", "raspberry_pi_4", "--set", "gpu.clock_ghz=2"],
     "unknown override key 'gpu.clock_ghz'"),
    # ---- sweep
    ([*SWEEP, "--out", "nodir/r.parquet"], "folder 'nodir' does not exist"),
    ([*SWEEP, "--out", "r.txt"], "--out must end in .parquet or .csv"),
    ([*SWEEP, "--out", "outdir"], "--out must end in .parquet or .csv"),
    ([*SWEEP, "--out", "r.parquet", "--batch", "0"], "--batch values must be between 1 and"),
    ([*SWEEP, "--out", "r.parquet", "--batch", "1,x"], "--batch: 'x' is not a valid value"),
    ([*SWEEP, "--out", "r.parquet", "--precision", "fp64"], "--precision: unknown 'fp64'"),
    ([*SWEEP, "--out", "r.parquet", "--processor", "tpu"], "--processor tpu"),
    ([*SWEEP, "--out", "r.parquet", "--jobs", "0"], "--jobs must be a positive integer"),
    ([*SWEEP, "--out", "r.parquet", "--scheduler", "garbage"], "cannot reach the dask scheduler at garbage"),
    ([*SWEEP, "--out", "notresults.csv"], "notresults.csv: not a sweep results file"),
    ([*SWEEP, "--out", "notresults.parquet"], "notresults.parquet: cannot read results"),
    (["sweep", "--nets", "typo.yaml", "--hw", "jetson_tx2", "--out", "r.parquet"], "typo.yaml:5"),
    (["sweep", "--nets", "nothere/*.yaml", "--hw", "jetson_tx2", "--out", "r.parquet"],
     "--nets pattern 'nothere/*.yaml' matches no descriptor file"),
    (["sweep", "--nets", "good.yaml", "--hw", "zz_*", "--out", "r.parquet"],
     "--hw pattern 'zz_*' matches no device name"),
    (["sweep", "--nets", "good.yaml", "--hw", "spec/*.yaml", "--out", "r.parquet"], "spec/"),
    (["sweep", "--nets", "good.yaml", "--out", "r.parquet"], "--hw is required"),
    (["sweep", "--hw", "jetson_tx2", "--out", "r.parquet"], "the sweep has no networks"),
    (["sweep", "--generate", "vgg:3", "--hw", "jetson_tx2", "--out", "r.parquet"], "--generate must look like"),
    (["sweep", "--generate", "resnet:0", "--hw", "jetson_tx2", "--out", "r.parquet"], "--generate count"),
    (["sweep", "--generate", "resnet:2", "--seed", "-1", "--hw", "jetson_tx2", "--out", "r.parquet"],
     "--seed must be a non-negative integer"),
    # ---- plot
    (["plot", "missing.parquet"], "missing.parquet: no such file"),
    (["plot", "good.yaml"], "a sweep results file must end in .parquet or .csv, got 'good.yaml'"),
    (["plot", "notresults.csv"], "notresults.csv: not a sweep results file"),
    (["plot", "notresults.parquet"], "notresults.parquet: cannot read results"),
    # ---- hw
    (["hw", "show", "nothere"], "unknown hardware 'nothere'"),
    (["hw", "list", "--runtime", "NCNN"], "no listed device runs 'NCNN' (did you mean ncnn"),
    (["hw", "list", "--runtime", "tensort"], "(did you mean tensorrt?)"),
    (["hw", "check", "folder.yaml"], "folder.yaml: not a regular file"),
    (["hw", "check", "good.yaml"], "good.yaml:2: input: unknown key"),  # a network, not a spec
    (["hw", "check", "spec/jetson_tx2.yaml"], "spec/jetson_tx2.yaml:22"),
    (["hw", "frobnicate"], "invalid choice: 'frobnicate'"),
    # ---- export
    (["export", "good.yaml"], "required: --out"),
    (["export", "good.yaml", "--out", "outdir"], "outdir: cannot write: this is a folder"),
    (["export", "good.yaml", "--out", "nodir/m.onnx"], "nodir/m.onnx: cannot write"),
    (["export", "empty.yaml", "--out", "m.onnx"], "empty.yaml: the file is empty"),
    (["export", "good.yaml", "--out", "m.onnx", "--opset", "3"], "opset must be an integer from"),
    (["export", "good.yaml", "--out", "m.onnx", "--input-shape", "1x3x32"], "needs an input of rank 4"),
    # ---- cachesim
    (["cachesim", "good.yaml", "nolayer", *HW], "no layer 'nolayer' in tiny"),
    (["cachesim", "good.yaml", "pool", *HW], "layer 'pool' (pool) is a stream kernel"),
    (["cachesim", "good.yaml", "conv1.relu", *HW], "layer 'conv1.relu' (act) is a stream kernel"),
    (["cachesim", "good.yaml", "data", *HW], "layer 'data'"),
    (["cachesim", "good.yaml", "conv1", "--hw", "nothere"], "unknown hardware 'nothere'"),
    (["cachesim", "good.yaml", "conv1", *HW, "--processor", "tpu"], "no processor 'tpu'"),
    (["cachesim", "missing.yaml", "conv1", *HW], "missing.yaml: no such file"),
    (["cachesim", "resnet50", "layer1.0.conv2", *HW],
     "layer 'layer1.0.conv2' needs 2.37e+08 simulated memory accesses, more than the 2e+08 a trace simulation "
     "takes (a few seconds); `augur estimate` prices its traffic with the analytical model, or a smaller "
     "--input-shape makes it small enough to simulate"),
    # ---- calibrate / validate: refused before any benchmark or run starts
    (["calibrate", "--quick", "--out", "nodir/h.yaml"], "folder 'nodir' does not exist"),
    (["calibrate", "--quick", "--out", "h.txt"], "h.txt: the spec must be written to a .yaml file"),
    (["calibrate", "--quick", "--out", "outdir"], "the spec must be written to a .yaml file"),
    (["calibrate", "--threads", "0", "--out", "h.yaml"], "--threads must be a positive integer"),
    (["calibrate", "--threads", "100000", "--out", "h.yaml"], "--threads 100000 exceeds the"),
    (["validate", "good.yaml", *HW, "--runs", "0"], "--runs must be a positive integer"),
    (["validate", "good.yaml", *HW, "--runs", "99999999999999"], "--runs must be a positive integer up to"),
    (["validate", "good.yaml", *HW, "--threads", "100000"], "--threads 100000 exceeds the"),
    (["validate", "good.yaml", *HW, "--processor", "gpu"], "validate --processor gpu"),
    (["validate", "good.yaml", *HW, "--out", "nodir/v.txt"], "folder 'nodir' does not exist"),
    (["validate", "binary.onnx", *HW], "binary.onnx: not a valid ONNX model"),
    # ---- the command line itself
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["nets", "--bogus"], "unrecognized arguments: --bogus"),
]


def _id(case):
    return " ".join(case[0])[:70] or "(no args)"


@pytest.mark.parametrize("argv,expect", CASES, ids=[_id(c) for c in CASES])
def test_bad_input_one_line_exit_2(files, capsys, argv, expect):
    before = _listing(files)
    try:
        rc = main(list(argv))
    except SystemExit as e:  # argparse usage errors leave through SystemExit(2)
        rc = e.code
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("augur: error: "), err
    assert expect in lines[0], lines[0]
    assert "Traceback" not in err
    assert out == ""
    assert _listing(files) == before  # no output file, no temporary, no OUT.parts/


def test_output_files_get_the_umask_mode(files, capsys):
    """Atomic writes go through mkstemp (0600); the final file must get a normal file's mode."""
    umask = os.umask(0o022)
    try:
        assert main(["analyze", "good.yaml", "--out", "a.json", "--format", "json"]) == 0
        assert main(["export", "good.yaml", "--out", "m.onnx"]) == 0
    finally:
        os.umask(umask)
    capsys.readouterr()
    assert (files / "a.json").stat().st_mode & 0o777 == 0o644
    assert (files / "m.onnx").stat().st_mode & 0o777 == 0o644
