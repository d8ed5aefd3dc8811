"""Op kinds of the layer graph, one module a family, collected in ``registry``."""
