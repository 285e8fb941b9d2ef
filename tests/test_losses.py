import math

import pytest
import torch

from salcheck.errors import InvalidArgument
from salcheck.training.losses import get_loss

LOGITS = torch.tensor([[2.0, 0.0], [0.5, 1.5]])
TARGET = torch.tensor([0, 1])  # one-hot: [[1, 0], [0, 1]]
P0 = 1 / (1 + math.exp(-2.0))  # softmax of [2, 0] -> [P0, 1 - P0]
P1 = 1 / (1 + math.exp(-1.0))  # softmax of [0.5, 1.5] -> [1 - P1, P1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CE", (-math.log(P0) - math.log(P1)) / 2),
        ("L1", (1.0 + 0.0 + 0.5 + 0.5) / 4),
        ("L1Norm", (2 * (1 - P0) + 2 * (1 - P1)) / 4),
        ("SmoothL1", (0.5 * 1.0**2 + 0.0 + 0.5 * 0.5**2 + 0.5 * 0.5**2) / 4),
        ("MSENorm", (2 * (1 - P0) ** 2 + 2 * (1 - P1) ** 2) / 4),
    ],
)
def test_golden_values_by_hand(name, expected):
    assert get_loss(name)(LOGITS, TARGET).item() == pytest.approx(expected, rel=1e-6)


def test_smooth_l1_linear_branch():
    # |x - y| = 3 >= 1 -> 3 - 0.5
    value = get_loss("SmoothL1")(torch.tensor([[4.0, 0.0]]), torch.tensor([0])).item()
    assert value == pytest.approx((2.5 + 0.0) / 2)


def test_unknown_loss_lists_names():
    with pytest.raises(InvalidArgument, match="unknown loss 'MSE'; accepted: CE, L1, L1Norm"):
        get_loss("MSE")
