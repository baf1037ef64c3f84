"""The people in a photo: finding each of them, and choosing the one to animate.

MediaPipe Holistic finds one person per look. To find the others, the photo is looked at again
with everyone found so far painted out (their masks grown by PAINT_OUT_GROW x their height, in
the photo's median colour), up to MAX_PEOPLE. A pose found in such a look is a new person only
when it has NEW_PERSON_JOINTS body joints and its mask keeps clear of everyone found so far
(less than SAME_PERSON of it lies within twice the paint-out margin of their masks): the segmentation mask often misses a person's loose hair, sleeves or hands, and what is left of
them after painting out is found again as a "person" standing where the first one stands.

When the first look finds nobody, the detector tries harder (LOOKS): the photo in grey (colourful
lights and drawings), smaller (a person filling a large photo), with its contrast evened out
(CLAHE on the lightness), and the middle half of its width (a busy background around them).

When the first look does find someone, a second opinion checks it (cross_checked): the photo
smaller. On drawings the detector at full size sometimes returns a confident but wrong skeleton
(arms folded across a chest where the sleeves hang at the sides), which the smaller look gets
right. When the two looks agree, the first is kept (it sees hands and face in more detail). When
they disagree, the photo mirrored is the referee: the look it agrees with is kept, pose and mask;
if it agrees with neither, the first.

With several people, the largest (most pixels in the photo) is animated, or the one --person
picks: people are numbered from the left, from 1, by the middle of their mask. The others stay
painted in the background.
"""
import dataclasses

import cv2
import numpy as np

from src.errors import UserError
from src.pose.keypoints import B, flip_horizontal
from src.still import photo as photo_mod

MAX_PEOPLE = 4
NEW_PERSON_JOINTS = 8
PAINT_OUT_GROW = 0.02
SAME_PERSON = 0.05          # share of a new mask next to an earlier person's: the same person
SMALL_SIDE = 384            # the "smaller" look: the photo at most this large
AGREE = 0.25                # two looks agree: no joint they share further apart than this x torso


@dataclasses.dataclass
class Person:
    keypoints: np.ndarray    # (137, 3) photo pixels
    mask: np.ndarray         # (H, W) uint8, 255 = this person
    note: str = ""           # a line for the user when a second look replaced the first

    @property
    def area(self):
        return int((self.mask > 0).sum())

    @property
    def centre_x(self):
        return float(np.nonzero(self.mask)[1].mean())

    def grow(self):
        """Pixels by which the mask is grown for painting out."""
        ys = np.flatnonzero(self.mask.any(axis=1))
        return max(3, int(round(PAINT_OUT_GROW * (ys.max() - ys.min() + 1))))

    def grown(self, pixels):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1,) * 2)
        return cv2.dilate(self.mask, kernel)


def grey(img):
    return np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def even_contrast(img):
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def middle(img, detect):
    """A look at the middle half of the photo's width, mapped back onto the whole photo."""
    h, w = img.shape[:2]
    x0, x1 = w // 4, w - w // 4
    kp, prob = detect(np.ascontiguousarray(img[:, x0:x1]))
    kp = kp.copy()
    kp[:, 0] += np.where(kp[:, 2] > 0, x0, 0)
    if prob is not None:
        full = np.zeros((h, w), np.float32)
        full[:, x0:x1] = prob
        prob = full
    return kp, prob


LOOKS = [
    ("as it is", lambda img, detect: detect(img)),
    ("in grey", lambda img, detect: detect(grey(img))),
    ("smaller", lambda img, detect: detect(img, max_side=SMALL_SIDE)),
    ("with even contrast", lambda img, detect: detect(even_contrast(img))),
    ("its middle", middle),
]


def found(kp, prob, joints=1):
    return prob is not None and (kp[:25, 2] > 0).sum() >= joints


def torso(kp):
    """Distance from the middle of the shoulders to the middle of the hips (0 if one is missing)."""
    ends = [kp[[B[side + part] for side in "RL"]] for part in ("Shoulder", "Hip")]
    if any((end[:, 2] == 0).any() for end in ends):
        return 0.0
    return float(np.hypot(*(ends[0][:, :2].mean(axis=0) - ends[1][:, :2].mean(axis=0))))


def disagreement(a, b):
    """The largest distance between a body joint of one pose and the same joint of the other, over
    the joints both have, in units of the longer torso of the two; None when they share fewer
    than 4 joints or either has no torso."""
    both = (a[:25, 2] > 0) & (b[:25, 2] > 0)
    lengths = torso(a), torso(b)
    if both.sum() < 4 or min(lengths) == 0:
        return None
    return float(np.hypot(*(a[:25, :2][both] - b[:25, :2][both]).T).max()) / max(lengths)


def cross_checked(img, detect, kp, prob):
    """The first look's (keypoints, probability), checked against the photo smaller and, when
    the two disagree, the photo mirrored (see the module docstring); with a line for the user
    when the second look replaced them ("" otherwise)."""
    small_kp, small_prob = detect(img, max_side=SMALL_SIDE)
    if not found(small_kp, small_prob):
        return kp, prob, ""
    apart = disagreement(kp, small_kp)
    if apart is None or apart <= AGREE:
        return kp, prob, ""
    mirror_kp, mirror_prob = detect(np.ascontiguousarray(img[:, ::-1]))
    if not found(mirror_kp, mirror_prob):
        return kp, prob, ""
    referee = flip_horizontal(mirror_kp, img.shape[1])
    to_first, to_small = disagreement(kp, referee), disagreement(small_kp, referee)
    if to_small is not None and to_small <= AGREE and (to_first is None or to_small < to_first):
        return small_kp, small_prob, ("the skeleton is a second look's (the photo smaller, "
                                      "confirmed by the photo mirrored): the first one disagreed")
    return kp, prob, ""


def paint_out(img, person):
    """The photo with the person replaced by its median colour (their mask grown)."""
    hole = person.grown(person.grow())
    out = img.copy()
    out[hole > 0] = np.median(img[hole == 0], axis=0) if (hole == 0).any() else 0
    return out


def is_new(mask, people):
    """True when a mask (uint8) keeps clear of everyone found so far (see the module docstring)."""
    area = max(1, int((mask > 0).sum()))
    return all(((mask > 0) & (p.grown(2 * p.grow()) > 0)).sum() < SAME_PERSON * area
               for p in people)


def find(img, detect=photo_mod.detect):
    """Everyone in the photo (RGB), in the order found; [] when nobody is."""
    for i, (_, look) in enumerate(LOOKS):
        kp, prob = look(img, detect)
        if found(kp, prob):
            break
    else:
        return []
    note = ""
    if i == 0:
        kp, prob, note = cross_checked(img, detect, kp, prob)
    mask = photo_mod.person_region(prob, kp)
    if not mask.any():
        return []
    people = [Person(kp, mask, note)]
    rest = img
    while len(people) < MAX_PEOPLE:
        rest = paint_out(rest, people[-1])
        kp, prob = detect(rest)
        if not found(kp, prob, NEW_PERSON_JOINTS):
            break
        mask = photo_mod.person_region(prob, kp)
        if not mask.any() or not is_new(mask, people):
            break
        people.append(Person(kp, mask))
    return people


def given(img, kp, segment=None):
    """The one person of a pose given by hand (--keypoints): [Person] with the region of the
    segmenter's mask (photo.segment) that holds its joints; [] when the mask is empty."""
    mask = photo_mod.person_region((segment or photo_mod.segment)(img), kp)
    return [Person(kp, mask)] if mask.any() else []


def choose(path, people, number=None):
    """(the Person to animate, lines for the user). number: --person (1 = leftmost) or None for
    the largest."""
    order = sorted(range(len(people)), key=lambda i: people[i].centre_x)
    if number is not None and not 1 <= number <= len(people):
        raise UserError(f"{path}: --person {number}, but the photo shows {len(people)} "
                        f"{'person' if len(people) == 1 else 'people'}; give --person 1 to "
                        f"{len(people)} (numbered from the left)")
    if len(people) == 1:
        return people[0], []
    if number is None:
        pick = max(range(len(people)), key=lambda i: people[i].area)
        which = f"the largest, number {order.index(pick) + 1} from the left"
    else:
        pick = order[number - 1]
        which = f"number {number} from the left"
    return people[pick], [f"{path}: {len(people)} people found; animating {which} (--person N "
                          "picks another); the others stay in the background"]
