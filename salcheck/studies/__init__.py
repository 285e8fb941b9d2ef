"""Studies beyond the poster's findings, each computed through the store: the method
benchmark (``method_benchmark``) and the protocol study (``protocol``)."""
