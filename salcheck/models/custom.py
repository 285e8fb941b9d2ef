"""Bring your own network: any ``torch.nn.Module`` factory, judged like the study's networks.

A network is named ``NAME`` (the study's ``convnet`` or ``conv5_fc3``), ``monai:NAME`` (a
MONAI classifier, :mod:`salcheck.models.monai_nets`) or ``MODULE:OBJECT[@LAYER]``: a callable
``OBJECT(image_size, n_classes)`` in an importable ``MODULE`` that returns a module mapping
images ``[B, 1, N, N]`` to logits ``[B, 2]`` (output 0 the controls node, 1 the atrophied one).

The features seam (what criterion a clusters): the module's own ``features(x)`` method, or,
with ``@LAYER``, the output of the submodule called ``LAYER`` (read by a forward hook during an
ordinary forward pass). The network is wrapped in :class:`FeatureSeam`, which exposes both as
``forward`` and ``features``, as the study's networks do.

Seeds: the factory runs on the meta device (it draws nothing), then every parameter is drawn
from salcheck's generator (:func:`salcheck.models.networks.reinitialise`: PyTorch's default
rules for Conv2d, Linear and BatchNorm2d). A module holding parameters or buffers of any other
type is refused, naming it, as are modules that draw from torch's global generator in training
(``nn.Dropout`` is swapped for :class:`~salcheck.models.networks.GeneratorDropout`, same p).
In-place activations are made out-of-place (the same numbers), so that saliency methods can
hook them.

Identity: :func:`network_fingerprint` hashes the name, the features layer, the factory's
source and the code of every class in the built network (a version for MONAI's, the source
for the user's; torch's layers, which the study's networks share, are left out). It enters
the model's key (``ModelSpec.network``), so a model trained for one network, or for an edited
one, is never served for another.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from salcheck.cohort.dims import check_dims
from salcheck.cohort.geometry import check_image_size
from salcheck.errors import InvalidArgument
from salcheck.fingerprint import Unstable, code_id, import_here, qualname, stable
from salcheck.models.monai_nets import monai_network
from salcheck.models.networks import (
    MODEL_NAMES,
    GeneratorDropout,
    build_model,
    load_state,
    reinitialise,
)
from salcheck.models.networks3d import build_model3d

#: Outputs every network must give: the controls node and the atrophied node.
N_CLASSES = 2
#: Bump when what the features seam returns changes (it enters every custom network's key).
SEAM_VERSION = 1
#: The layer types :func:`~salcheck.models.networks.reinitialise` draws (and cascading
#: randomisation re-draws); a module with parameters or buffers of another type is refused.
DRAWN_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Conv2d,
    nn.Conv3d,
    nn.Linear,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
)
#: Modules that draw from torch's global generator in training (nn.Dropout is swapped instead).
GLOBAL_RANDOM: tuple[type[nn.Module], ...] = (
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.RReLU,
)
_NAME = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(@[\w.]+)?$")


def is_builtin(name: str) -> bool:
    """Whether ``name`` is one of the study's networks (their keys carry no fingerprint)."""
    return name in MODEL_NAMES


def check_network_name(name: Any) -> str:
    """``name`` if it is a network name by its form (nothing imported), else InvalidArgument.

    Examples:
        >>> check_network_name("monai:DenseNet121")
        'monai:DenseNet121'
    """
    if isinstance(name, str) and (is_builtin(name) or _NAME.match(name)):
        return name
    msg = (
        f"unknown network {name!r}; accepted: {', '.join(MODEL_NAMES)}, monai:NAME or "
        "MODULE:OBJECT[@LAYER] (a factory OBJECT(image_size, n_classes) -> torch.nn.Module)"
    )
    raise InvalidArgument(msg)


def network_factory(name: str) -> tuple[Callable[..., Any], str | None]:
    """(factory, features layer) of a network that is not built in: ``monai:NAME`` from
    MONAI's catalogue, ``MODULE:OBJECT`` imported; ``@LAYER`` overrides the layer."""
    check_network_name(name)
    if is_builtin(name):
        msg = f"{name!r} is one of the study's networks; build it with build_network"
        raise InvalidArgument(msg)
    target, _, layer = name.partition("@")
    module, _, attr = target.partition(":")
    if module == "monai":
        factory, default_layer = monai_network(attr)
        return factory, layer or default_layer
    try:
        factory = getattr(import_here(module), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot import network {target!r}: {exc}"
        raise InvalidArgument(msg) from exc
    if not callable(factory):
        msg = f"network {target!r} is a {type(factory).__name__}, not a callable factory"
        raise InvalidArgument(msg)
    return factory, layer or None


class FeatureSeam(nn.Module):
    """A network with the study's two entry points: ``forward`` (logits) and ``features``
    (what criterion a clusters: the output of ``layer``, else the network's own ``features``)."""

    n_outputs = N_CLASSES

    def __init__(self, net: nn.Module, layer: str | None) -> None:
        super().__init__()
        self.net, self.layer = net, layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of ``net.<layer>`` in a forward pass of ``x`` (its last call), or
        ``net.features(x)`` when no layer is named."""
        if self.layer is None:
            return self.net.features(x)  # type: ignore[operator]
        seen: list[torch.Tensor] = []
        hook = self.net.get_submodule(self.layer).register_forward_hook(lambda m, i, o: seen.append(o))
        try:
            self.net(x)
        finally:
            hook.remove()
        return seen[-1]


def _call_factory(name: str, factory: Callable[..., Any], image_size: int, dims: int = 2) -> nn.Module:
    """``factory(image_size, 2)`` (volumes: ``factory(image_size, 2, dims=3)``) on the meta
    device; InvalidArgument naming what went wrong."""
    extra = {} if dims == 2 else {"dims": dims}
    try:
        with torch.device("meta"):
            net = factory(image_size, N_CLASSES, **extra)
    except Exception as exc:
        call = f"(image_size={image_size}, n_classes={N_CLASSES}{', dims=3' if extra else ''})"
        msg = f"network {name!r}: calling its factory {call} failed: {exc}"
        raise InvalidArgument(msg) from exc
    if not isinstance(net, nn.Module):
        msg = f"network {name!r}: its factory returned a {type(net).__name__}, not a torch.nn.Module"
        raise InvalidArgument(msg)
    return net


def _refuse_undrawable(name: str, net: nn.Module) -> None:
    """InvalidArgument naming the first module salcheck cannot re-draw or that draws globally."""
    accepted = ", ".join(c.__name__ for c in DRAWN_LAYERS)
    for layer, m in net.named_modules():
        own = list(m.parameters(recurse=False)) + list(m.buffers(recurse=False))
        if isinstance(m, GLOBAL_RANDOM):
            why = "draws from torch's global generator in training"
        elif own and not isinstance(m, DRAWN_LAYERS):
            why = "holds parameters or buffers salcheck cannot draw from its generator"
        else:
            continue
        msg = (
            f"network {name!r}: layer {layer or '(top)'!r} of type {type(m).__name__} {why}; "
            f"accepted layers with parameters: {accepted}; nn.Dropout is swapped for a seeded one"
        )
        raise InvalidArgument(msg)


def _prepare(net: nn.Module) -> None:
    """Swap ``nn.Dropout`` for :class:`GeneratorDropout` (same p); make activations out-of-place."""
    for parent in list(net.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.Dropout):
                setattr(parent, child_name, GeneratorDropout(child.p))
    for m in net.modules():
        if getattr(m, "inplace", False) is True:
            m.inplace = False  # type: ignore[assignment]


def _check_layer(name: str, net: nn.Module, layer: str | None) -> None:
    """The features seam exists: a named submodule, or a ``features`` method."""
    names = [n for n, _ in net.named_modules() if n]
    if layer is not None and layer not in names:
        shown = ", ".join(names[-8:])
        msg = f"network {name!r} has no layer {layer!r} for criterion a; its last layers: {shown}"
        raise InvalidArgument(msg)
    if layer is None and not callable(getattr(net, "features", None)):
        msg = (
            f"network {name!r} has no features method for criterion a; name the layer it reads "
            f"as {name.partition('@')[0]}@LAYER, e.g. one of {', '.join(names[-4:])}"
        )
        raise InvalidArgument(msg)


def _seamed(name: str, image_size: int, dims: int = 2) -> FeatureSeam:
    """The network ``name`` on the meta device, prepared and wrapped (nothing drawn yet)."""
    factory, layer = network_factory(name)
    net = _call_factory(name, factory, check_image_size(image_size), dims)
    _prepare(net)
    _refuse_undrawable(name, net)
    _check_layer(name, net, layer)
    return FeatureSeam(net, layer)


#: The networks that take volumes (``dims=3``): the study's ConvNet in 3-D, and MONAI's by name.
NETWORKS_3D = ("convnet", "monai:NAME")


def build_network(
    name: str, image_size: int, *, dims: int = 2, dropout: float = 0.0, generator: torch.Generator
) -> nn.Module:
    """Network ``name`` with every parameter drawn from ``generator`` (the study's networks
    through :func:`~salcheck.models.networks.build_model`; others as this module says). With
    ``dims=3`` it takes volumes: ``convnet`` is :class:`~salcheck.models.networks3d.ConvNet3D`.

    Examples:
        >>> m = build_network("convnet", 32, generator=torch.Generator().manual_seed(0))
        >>> tuple(m(torch.zeros(1, 1, 32, 32)).shape)
        (1, 2)
        >>> v = build_network("convnet", 32, dims=3, generator=torch.Generator().manual_seed(0))
        >>> tuple(v(torch.zeros(1, 1, 32, 32, 32)).shape)
        (1, 2)
    """
    if check_dims(dims) == 3 and check_network_name(name) == "convnet":
        return build_model3d(image_size, dropout=dropout, generator=generator)
    if dims == 3 and not name.startswith("monai:"):
        accepted = ", ".join(NETWORKS_3D)
        msg = f"network {name!r} takes images only; accepted for volumes (dims=3): {accepted}"
        raise InvalidArgument(msg)
    if is_builtin(check_network_name(name)):
        return build_model(name, image_size, dropout=dropout, generator=generator)
    if dropout != 0.0:
        msg = f"dropout applies to the study's networks; network {name!r} sets its own, got {dropout!r}"
        raise InvalidArgument(msg)
    model = _seamed(name, image_size, dims).to_empty(device="cpu")
    reinitialise(model, generator)
    layout = torch.channels_last if dims == 2 else torch.channels_last_3d
    # torch's stubs list no memory_format for Module.to, which accepts it.
    return model.to(memory_format=layout)  # type: ignore[call-overload]


def load_network(
    name: str, image_size: int, data: bytes, device: str = "cpu", *, dims: int = 2
) -> nn.Module:
    """Network ``name`` of ``image_size`` (images, or volumes with ``dims=3``) with the weights
    ``data`` (safetensors, :func:`~salcheck.models.networks.state_bytes`), on ``device``, in
    eval mode."""
    model = build_network(name, image_size, dims=dims, generator=torch.Generator())
    return load_state(model, data).to(device).eval()


def _probe(name: str, model: nn.Module, image_size: int, dims: int = 2) -> None:
    """Run two images (or volumes) through the network: InvalidArgument unless logits are
    [2, 2] and the features seam gives one row per image (a network too deep for the size
    fails here)."""
    x = torch.rand(2, 1, *(image_size,) * dims, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            out, features = model.eval()(x), model.features(x)  # type: ignore[operator]
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        inputs = f"{'images' if dims == 2 else 'volumes'} of {' x '.join([str(image_size)] * dims)}"
        msg = (
            f"network {name!r} fails on 2 {inputs} (too deep for this "
            f"image size? take a larger image size or a shallower network): {first}"
        )
        raise InvalidArgument(msg) from exc
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, N_CLASSES):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        msg = f"network {name!r} returns {shape} for 2 images; it must return logits of shape (batch, 2)"
        raise InvalidArgument(msg)
    if not isinstance(features, torch.Tensor) or features.shape[0] != 2:
        msg = f"network {name!r}: its features seam must give one row per image, got {type(features)}"
        raise InvalidArgument(msg)


def _class_id(cls: type) -> str | None:
    """The code that defines a layer class (None for torch's own, which carry no identity)."""
    if cls.__module__.partition(".")[0] == "torch":
        return None
    try:
        return f"{qualname(cls)} {code_id(cls)}"
    except Unstable as exc:
        msg = f"the source of {qualname(cls)} cannot be read, so its models could not be named"
        raise InvalidArgument(msg) from exc


@functools.cache
def network_fingerprint(name: str, image_size: int, dims: int = 2) -> str:
    """sha256 of what a network is (module docstring); checks it first: the factory, its
    output and features at ``image_size`` (InvalidArgument naming what is wrong). A network for
    volumes (``dims=3``) is another network: its dimension is part of what is hashed."""
    model = build_network(name, image_size, dims=dims, generator=torch.Generator().manual_seed(0))
    _probe(name, model, image_size, dims)
    factory, layer = network_factory(name)
    try:
        code = stable(factory)
    except Unstable as exc:
        msg = f"network {name!r}: the source of its factory cannot be read (defined in __main__?)"
        raise InvalidArgument(msg) from exc
    classes = {_class_id(type(m)) for m in model.modules() if not isinstance(m, FeatureSeam)}
    parts = {
        "network": name.partition("@")[0],
        "layer": layer,
        "factory": code,
        "classes": sorted(c for c in classes if c is not None),
        "seam": SEAM_VERSION,
        **({"dims": dims} if dims != 2 else {}),  # images: the fingerprints they always had
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
