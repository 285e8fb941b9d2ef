"""Studies beyond the poster's findings, each computed through the store: the method
benchmark (``method_benchmark``), the network benchmark (``network_benchmark``), the protocol
study (``protocol``) and the dose-response study (``dose``; its points in ``dose_grid``, the
verdicts the property suite gates on in ``dose_record``)."""
