"""The moving average of the generator's weights: its arithmetic, and that it is what makes frames."""
import pytest
import torch

from conftest import make_target_dir, run_training, tiny_args
from src.gan import checkpoint
from src.gan.ema import WeightAverage, ramped_decay
from src.gan.inference import FramePredictor

torch.set_num_threads(1)


class One(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0]))
        self.register_buffer("count", torch.tensor([0.0]))


def test_the_decay_ramps_up_to_its_value():
    assert ramped_decay(0.999, 0) == pytest.approx(0.1)        # 1 / 10
    assert ramped_decay(0.999, 8) == pytest.approx(0.5)        # 9 / 18
    assert ramped_decay(0.999, 100_000) == pytest.approx(0.999)
    assert ramped_decay(0.5, 20) == pytest.approx(0.5)         # 21 / 30 = 0.7 is past 0.5


def test_the_average_follows_the_weights_by_hand():
    net = One()
    avg = WeightAverage(net, 0.5)
    with torch.no_grad():
        net.w.fill_(3.0)
        net.count.fill_(7.0)
    avg.update(net, 0)     # decay 0.1: 0.1 * 1 + 0.9 * 3
    assert avg.net.w.item() == pytest.approx(2.8)
    assert avg.net.count.item() == 7.0                       # buffers are copied, not averaged
    with torch.no_grad():
        net.w.fill_(5.0)
    avg.update(net, 1)     # decay 2 / 11: (2 * 2.8 + 9 * 5) / 11
    assert avg.net.w.item() == pytest.approx(4.6)
    assert net.w.item() == 5.0 and not avg.net.w.requires_grad


def test_frames_come_from_the_average(tmp_path):
    root = make_target_dir(tmp_path / "target", n=6)
    out = run_training(tiny_args(tmp_path, "--niter", "2", "--niter_decay", "0", "--face_epochs", "0",
                                 "--ema_decay", "0.9", dataroot=root))
    state = checkpoint.load(out["checkpoint"])
    assert set(state["G_ema"]) == set(state["G"])
    differ = [k for k in state["G"] if not torch.equal(state["G"][k], state["G_ema"][k])]
    assert differ, "after 6 steps the average lags behind the weights"
    made = FramePredictor(tmp_path / "ckpt" / "t").generator.state_dict()
    for key, value in state["G_ema"].items():
        assert torch.equal(made[key], value), key


def test_without_the_average_the_checkpoint_has_none(tmp_path):
    root = make_target_dir(tmp_path / "target", n=4)
    out = run_training(tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0",
                                 dataroot=root))
    state = checkpoint.load(out["checkpoint"])
    assert "G_ema" not in state
    assert checkpoint.frame_generator(state) is state["G"]
