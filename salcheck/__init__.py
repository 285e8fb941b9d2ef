"""salcheck: property checks for saliency methods on simulated brain phantoms."""

__version__ = "0.1.0"
