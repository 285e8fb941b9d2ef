"""The engine: the one module that wires the stages (``experiment``), and the workers that
make the store hold what is asked (``runner``)."""
