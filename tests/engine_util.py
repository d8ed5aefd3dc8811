"""Synthetic devices with round numbers, for hand-checkable engine tests."""
from augur_sim.hw import Cache, Device, Energy, Processor, Runtime


def runtime(fusion=(), gemm_peak=1.0, half=0.0, tile=1, dw=1.0, mem=1.0, dispatch_s=0.0):
    return Runtime(name="ideal", stack="test", source="test: round numbers", gemm_peak=gemm_peak,
                   gemm_half_m=half, gemm_half_n=half, gemm_half_k=half, tile_m=tile, tile_n=tile,
                   dw_conv=dw, mem=mem, eltwise=mem, fusion=tuple(fusion), dispatch_s=dispatch_s)


def processor(units=4, clock_ghz=1.0, fpc=250.0, bw_gbs=100.0, caches=((1 << 20, 1000.0),),
              kind="cpu", dispatch_s=0.0, rt=None, pj_per_flop=1.0, dram_pj=100.0, static_w=0.0):
    """Default: 4 units x 1 GHz x 250 FLOP/cycle = 1 TFLOP/s, 100 GB/s DRAM, one 1 MiB cache."""
    cs = tuple(Cache(level=i + 1, size_bytes=int(size), line_bytes=64, assoc=16, shared=True, bw_gbs=bw)
               for i, (size, bw) in enumerate(caches))
    return Processor(name=kind, kind=kind, units=units, clock_ghz=clock_ghz,
                     flop_per_cycle_per_unit={"fp32": fpc, "fp16": 2 * fpc}, caches=cs,
                     dram_bw_gbs=bw_gbs, dispatch_s=dispatch_s,
                     energy=Energy(pj_per_flop={"fp32": pj_per_flop}, dram_pj_per_byte=dram_pj,
                                   cache_pj_per_byte=tuple(1.0 for _ in cs), static_w=static_w),
                     runtimes={"ideal": rt or runtime()}, default_runtime="ideal")


def device(proc, memory_bytes=8 << 30):
    return Device(name="testdev", description="synthetic", memory_bytes=memory_bytes, sources=(),
                  processors={proc.name: proc}, file=None)
