"""The previous-frame feed at inference (src/gan/inference.py) is the one training uses (src/gan/stages.py)."""
import dataclasses

import numpy as np
import torch

from src.device import autocast
from src.gan import checkpoint, networks
from src.gan.images import to_model, to_rgb
from src.gan.inference import FramePredictor
from src.gan.options import make_options
from src.gan.stages import PairGenerator

torch.set_num_threads(1)
SIZE = (64, 32)


def tiny_model(folder):
    torch.manual_seed(3)
    opt = make_options(size=f"{SIZE[0]}x{SIZE[1]}", ngf=8, n_downsample=2, n_blocks=1,
                       device="cpu")
    generator = networks.build_generator(opt)
    checkpoint.save(folder / checkpoint.LATEST, {"options": dataclasses.asdict(opt), "step": 0,
                                                 "G": generator.state_dict()})
    return generator.eval()


def labels(n):
    """Distinct label-like images: white with a coloured bar that moves."""
    out = []
    for t in range(n):
        img = np.full((SIZE[1], SIZE[0], 3), 255, np.uint8)
        img[8:24, 10 + 8 * t:22 + 8 * t] = [(255, 0, 0), (0, 255, 85), (0, 0, 255)][t % 3]
        out.append(img)
    return out


def test_inference_feeds_the_previous_frame_as_training_does(tmp_path):
    generator = tiny_model(tmp_path)
    label_t, label_t1 = labels(2)
    batch = [to_model(torch.from_numpy(l.transpose(2, 0, 1).copy())[None], "cpu")
             for l in (label_t, label_t1)]
    predictor = FramePredictor(tmp_path, device="cpu")
    # At the predictor's precision: bf16 autocast where the CPU has bf16 instructions.
    with torch.no_grad(), autocast(predictor.device, predictor.bf16):
        fake_t, fake_t1, _, _ = PairGenerator(generator)(*batch)   # training: zeros, then G's output
    first = predictor.predict(label_t)
    np.testing.assert_array_equal(first, to_rgb(fake_t[0]))
    np.testing.assert_array_equal(predictor.previous_rgb(), to_rgb(fake_t[0]))
    second = predictor.predict(label_t1)
    np.testing.assert_array_equal(second, to_rgb(fake_t1[0]))

    # reset() starts again from zeros, as every training pair does.
    predictor.reset()
    np.testing.assert_array_equal(predictor.predict(label_t), first)
    # The feed matters: the second frame made from a blank previous frame differs.
    predictor.reset()
    assert not np.array_equal(predictor.predict(label_t1), second)
