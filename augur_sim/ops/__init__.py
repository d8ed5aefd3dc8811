"""Op kinds of the layer graph, one module a family, collected in ``registry``.

Importing this package registers every family (each module calls ``registry.register``
at import), so ``registry.get`` sees all kinds whoever imports it first."""
from . import (  # noqa: F401  (importing registers the ops)
    activation,
    constant,
    conv,
    dense,
    detect,
    eltwise,
    norm,
    onnx_extra,
    pool,
    shuffle,
    tensor,
)
