"""The CMU OpenPose body network (COCO-18 model) in PyTorch, and its weight loader.

The network is written as a table of layers. Every convolution has a name from the
pytorch-openpose port (`conv1_1`, `Mconv3_stage4_L2`, ...); these names are also the parameter
names of `OpenPoseNet`. The table gives, per convolution, the index it has in the other common
file layout (the rtpose port, whose sequential blocks interleave ReLU and pooling layers), so one
table serves both files:

    front end  VGG-19 conv1_1 .. conv4_2, conv4_3_CPM 512->256, conv4_4_CPM 256->128 (stride 8)
    stage 1    per branch: three 3x3 conv-128, 1x1 conv-512, 1x1 conv to the branch's output
    stage 2-6  per branch: input 185 = 38 + 19 + 128, five 7x7 conv-128, 1x1 conv-128, 1x1 out
    branch L1  part affinity fields, 38 channels (19 limbs x (x, y))
    branch L2  part heatmaps, 19 channels (COCO-18 joints + background)

ReLU follows every convolution except the last one of each branch.
"""
import collections
import os

import torch
from torch import nn

from src.errors import UserError

STRIDE = 8
N_PAF = 38
N_HEATMAP = 19
N_STAGES = 6
_BRANCH_OUT = {1: N_PAF, 2: N_HEATMAP}

Conv = collections.namedtuple("Conv", "name in_ch out_ch kernel rtpose")

# Front end: (name, in, out) for 3x3 convolutions; "pool" is a 2x2 max-pool of stride 2.
_FRONT = [("conv1_1", 3, 64), ("conv1_2", 64, 64), "pool",
          ("conv2_1", 64, 128), ("conv2_2", 128, 128), "pool",
          ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256),
          ("conv3_4", 256, 256), "pool",
          ("conv4_1", 256, 512), ("conv4_2", 512, 512),
          ("conv4_3_CPM", 512, 256), ("conv4_4_CPM", 256, 128)]


def _front_table():
    """The front end's convolutions and pools; rtpose indexes model0 counting ReLUs and pools."""
    layers, index = [], 0
    for entry in _FRONT:
        if entry == "pool":
            layers.append("pool")
            index += 1
        else:
            name, cin, cout = entry
            layers.append(Conv(name, cin, cout, 3, f"model0.{index}"))
            index += 2          # the conv, then its ReLU
    return layers


def _branch_table(stage, branch):
    """The convolutions of one branch (1 = PAF, 2 = heatmap) of one stage, in order."""
    out = _BRANCH_OUT[branch]
    if stage == 1:
        shapes = [(128, 128, 3), (128, 128, 3), (128, 128, 3), (128, 512, 1), (512, out, 1)]
        names = [f"conv5_{i}_CPM_L{branch}" for i in range(1, 6)]
    else:
        feed = N_PAF + N_HEATMAP + 128
        shapes = ([(feed, 128, 7)] + [(128, 128, 7)] * 4 + [(128, 128, 1), (128, out, 1)])
        names = [f"Mconv{i}_stage{stage}_L{branch}" for i in range(1, 8)]
    # rtpose: a sequential block per branch, a ReLU after each conv but the last.
    return [Conv(name, cin, cout, k, f"model{stage}_{branch}.{2 * i}")
            for i, (name, (cin, cout, k)) in enumerate(zip(names, shapes))]


FRONT = _front_table()
BRANCHES = {(s, b): _branch_table(s, b) for s in range(1, N_STAGES + 1) for b in (1, 2)}
CONVS = [c for c in FRONT if c != "pool"] + [c for key in sorted(BRANCHES) for c in BRANCHES[key]]


def expected_shapes(layout):
    """{parameter name: shape} of a weight file in `layout` ("pytorch-openpose" or "rtpose")."""
    shapes = {}
    for c in CONVS:
        prefix = c.name if layout == "pytorch-openpose" else c.rtpose
        shapes[f"{prefix}.weight"] = (c.out_ch, c.in_ch, c.kernel, c.kernel)
        shapes[f"{prefix}.bias"] = (c.out_ch,)
    return shapes


class OpenPoseNet(nn.Module):
    """Image (N, 3, H, W), H and W multiples of 8 -> (pafs (N, 38, H/8, W/8), heatmaps (N, 19, ...))."""

    def __init__(self):
        super().__init__()
        for c in CONVS:
            self.add_module(c.name, nn.Conv2d(c.in_ch, c.out_ch, c.kernel, padding=c.kernel // 2))

    def _run(self, layers, x, relu_last):
        for i, layer in enumerate(layers):
            if layer == "pool":
                x = nn.functional.max_pool2d(x, 2, 2)
                continue
            x = getattr(self, layer.name)(x)
            if relu_last or i < len(layers) - 1:
                x = torch.relu(x)
        return x

    def forward(self, image):
        features = self._run(FRONT, image, relu_last=True)
        x = features
        for stage in range(1, N_STAGES + 1):
            paf = self._run(BRANCHES[stage, 1], x, relu_last=False)
            heat = self._run(BRANCHES[stage, 2], x, relu_last=False)
            x = torch.cat([paf, heat, features], 1)
        return paf, heat


# ---------------------------------------------------------------------------------------------
# Weight files

# Beside this module, ignored by git: src/pose/pose_model.pth (or body_pose_model.pth).
DEFAULT_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pose_model.pth")
WEIGHTS_HINT = ("put the OpenPose body model there (pose_model.pth or body_pose_model.pth, "
                "see docs/pose.md) or pass --weights FILE; "
                "the default detector, --pose mediapipe, needs no weight file")


def _show(keys, limit=4):
    keys = list(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _read_state_dict(path):
    if not os.path.isfile(path):
        raise UserError(f"{path}: OpenPose weights not found; {WEIGHTS_HINT}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file; all mean the same here
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise UserError(f"{path}: not a readable PyTorch weight file ({reason}); "
                        "give pose_model.pth or body_pose_model.pth") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]        # a training checkpoint that wraps the weights
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise UserError(f"{path}: not a state dict of tensors; "
                        "give pose_model.pth or body_pose_model.pth")
    # Files saved from nn.DataParallel prefix every name with "module.".
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def load_state_dict(path):
    """Read a weight file in either layout; return it under OpenPoseNet's parameter names.

    The layout is detected from the names. Raises UserError naming the file and the missing
    or wrongly shaped tensors when the file matches neither layout.
    """
    state = _read_state_dict(path)
    problems = {}
    for layout in ("rtpose", "pytorch-openpose"):
        want = expected_shapes(layout)
        missing = [k for k in want if k not in state]
        wrong = [f"{k} {tuple(state[k].shape)} (expected {want[k]})"
                 for k in want if k in state and tuple(state[k].shape) != want[k]]
        if not missing and not wrong:
            return _to_net_names(state, layout)
        problems[layout] = (len(want) - len(missing), missing, wrong)
    # Report against the layout the file resembles more.
    layout = max(problems, key=lambda name: problems[name][0])
    _, missing, wrong = problems[layout]
    if problems[layout][0] == 0:
        raise UserError(f"{path}: not an OpenPose body model (none of the {len(CONVS) * 2} "
                        "expected tensors, e.g. model0.0.weight or conv1_1.weight, is there); "
                        "give pose_model.pth or body_pose_model.pth")
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing: {_show(missing)}")
    if wrong:
        parts.append(f"{len(wrong)} with the wrong shape: {_show(wrong)}")
    raise UserError(f"{path}: looks like a {layout} OpenPose weight file but "
                    f"{'; '.join(parts)}; give an intact pose_model.pth or body_pose_model.pth")


def _to_net_names(state, layout):
    out = {}
    for c in CONVS:
        prefix = c.name if layout == "pytorch-openpose" else c.rtpose
        for kind in ("weight", "bias"):
            out[f"{c.name}.{kind}"] = state[f"{prefix}.{kind}"].float().contiguous()
    return out


def load_network(path, device="cpu"):
    """OpenPoseNet with the weights of `path` (either layout), on `device`, in eval mode."""
    state = load_state_dict(path)
    # Build on the meta device: no time is spent initialising 52M parameters that the file
    # replaces at once.
    with torch.device("meta"):
        net = OpenPoseNet()
    net.load_state_dict(state, strict=True, assign=True)
    return net.to(device).eval()
