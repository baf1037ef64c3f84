"""Image and face-crop helpers shared by training, inference, transfer and evaluation.

Frames and labels are resized the same way everywhere (resize_frame), the face box is scaled
the same way (scale_face_box), and images cross between numpy (H, W, 3) uint8 and the model's
(3, H, W) float in [-1, 1] through one pair of functions (to_model, to_rgb). The face GAN's crop
is cut and pasted back, with a feathered edge, by crop and paste.
"""
import cv2
import numpy as np
import torch

from src.pose.keypoints import face_crop_side


def resize_frame(rgb, size):
    """Resize an RGB image (frame or label) to size (w, h).

    Shrinking uses area averaging: label limbs are a few pixels wide and nearest-neighbour sampling
    would break them into dashes at 1/4 scale; training and inference resize labels alike.
    """
    h, w = rgb.shape[:2]
    if (w, h) == tuple(size):
        return rgb
    shrink = size[0] < w or size[1] < h
    return cv2.resize(rgb, tuple(size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def scale_face_box(box, from_size, to_size):
    """A face box (x0, y0, x1, y1) in a frame of from_size (w, h) -> the square crop at to_size.

    The centre is scaled; the side is keypoints.face_crop_side(to_size); the box is kept inside
    the frame. Returns an int array of 4.
    """
    side = face_crop_side(to_size)
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    cx, cy = (box[0] + box[2]) / 2 * sx, (box[1] + box[3]) / 2 * sy
    x0 = int(np.clip(round(cx - side / 2), 0, max(0, to_size[0] - side)))
    y0 = int(np.clip(round(cy - side / 2), 0, max(0, to_size[1] - side)))
    return np.array([x0, y0, x0 + side, y0 + side], np.int64)


def face_box_around(centre, size):
    """The square face crop (x0, y0, x1, y1) around a head centre (x, y) in a frame of size (w, h),
    as training cut them (scale_face_box at the same size)."""
    cx, cy = centre
    return scale_face_box(np.array([cx, cy, cx, cy]), size, size)


def to_chw_uint8(rgb):
    """(H, W, 3) uint8 array -> (3, H, W) uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))


def to_model(images, device, memory_format=torch.contiguous_format):
    """uint8 (..., 3, H, W) tensor -> float32 in [-1, 1] on `device` (converted after the copy)."""
    images = images.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
    return images.contiguous(memory_format=memory_format) if images.dim() == 4 else images


def to_rgb(image):
    """A model image (3, H, W) in [-1, 1] -> (H, W, 3) uint8 array."""
    image = image.detach().float().clamp(-1, 1).add(1).mul(127.5).round().byte()
    return image.permute(1, 2, 0).cpu().numpy()


def crop(images, boxes):
    """Square crops (N, C, s, s) of images (N, C, H, W) at boxes (N, 4) x0, y0, x1, y1 (same side)."""
    return torch.stack([img[:, int(b[1]):int(b[3]), int(b[0]):int(b[2])] for img, b in zip(images, boxes)])


FACE_FEATHER = 0.125  # share of the face crop's side over which a refined face blends into the frame


def feather_mask(side, feather, device=None):
    """(side, side) weights: 1 inside, falling linearly to 0 across the outer `feather` of the side."""
    n = max(1, int(round(side * feather)))
    ramp = ((torch.arange(side, device=device) + 0.5) / n).clamp(max=1.0)
    ramp = torch.minimum(ramp, ramp.flip(0))
    return torch.minimum(ramp[:, None], ramp[None, :])


def paste(images, crops, boxes, feather=0.0):
    """Copy of images with crops (N, C, s, s) written back at boxes.

    With feather > 0 the crop's edge blends into the image, so a refined face shows no square seam.
    """
    out = images.clone()
    for img, patch, b in zip(out, crops, boxes):
        region = img[:, int(b[1]):int(b[3]), int(b[0]):int(b[2])]
        if feather > 0:
            patch = region + feather_mask(patch.shape[-1], feather, patch.device) * (patch - region)
        region.copy_(patch)
    return out
