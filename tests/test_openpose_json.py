"""OpenPose JSON import/export (src/pose/openpose_json.py)."""
import json
import os

import numpy as np
import pytest

from src.errors import UserError
from src.pose.keypoints import B, BODY, FACE, LHAND, RHAND
from src.pose.openpose_json import (_main_people, json_name, read_json_dir, read_people,
                                    write_json_dir)


def random_track(n, seed=0):
    rng = np.random.default_rng(seed)
    kps = np.zeros((n, 137, 3), np.float32)
    kps[..., :2] = rng.uniform(0, 500, (n, 137, 2)).round(2)
    kps[..., 2] = rng.uniform(0.1, 1, (n, 137)).round(3)
    kps[rng.random((n, 137)) < 0.2] = 0        # some missing points
    return kps


def write(path, data):
    with open(path, "w") as f:
        f.write(data if isinstance(data, str) else json.dumps(data))


def test_round_trip_body25_face_hands(tmp_path):
    kps = random_track(6)
    kps[3] = 0                                   # a frame without anybody
    write_json_dir(tmp_path, kps, "clip")
    names = sorted(os.listdir(tmp_path))
    assert names == [json_name("clip", i) for i in range(6)]
    assert names[0] == "clip_000000000000_keypoints.json"
    with open(tmp_path / names[0]) as f:
        person = json.load(f)["people"][0]
    assert len(person["pose_keypoints_2d"]) == 75 and len(person["face_keypoints_2d"]) == 210
    assert len(person["hand_left_keypoints_2d"]) == len(person["hand_right_keypoints_2d"]) == 63
    with open(tmp_path / names[3]) as f:
        assert json.load(f)["people"] == []
    back = read_json_dir(tmp_path)
    np.testing.assert_allclose(back, kps, atol=1e-3)


def test_export_replaces_a_longer_earlier_export(tmp_path):
    write_json_dir(tmp_path, random_track(5), "clip")
    write(tmp_path / "other_000000000009_keypoints.json", {"people": []})
    write_json_dir(tmp_path, random_track(2, seed=1), "clip")
    assert sorted(os.listdir(tmp_path)) == sorted(
        [json_name("clip", 0), json_name("clip", 1), "other_000000000009_keypoints.json"])


def coco_person():
    coco = np.zeros((18, 3))
    coco[:, 0] = np.arange(18) * 10 + 5
    coco[:, 1] = np.arange(18) * 3 + 100
    coco[:, 2] = 0.8
    return coco


def test_coco18_without_face_and_hands(tmp_path):
    coco = coco_person()
    write(tmp_path / "v_000000000000_keypoints.json",
          {"version": 1.1, "people": [{"pose_keypoints_2d": coco.ravel().tolist(),
                                       "face_keypoints_2d": [], "hand_left_keypoints_2d": [],
                                       "hand_right_keypoints_2d": []}]})
    kp = read_json_dir(tmp_path)[0]
    names = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
             "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar"]
    for i, name in enumerate(names):
        np.testing.assert_allclose(kp[B[name]], coco[i], atol=1e-4, err_msg=name)
    np.testing.assert_allclose(kp[B["MidHip"], :2], (coco[8, :2] + coco[11, :2]) / 2)
    for name in ("LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"):
        assert (kp[B[name]] == 0).all()
    assert (kp[25:] == 0).all()


def test_files_are_ordered_by_frame_number(tmp_path):
    for frame in (0, 2, 10):   # unpadded numbers: "10" sorts before "2" by name
        person = np.zeros((25, 3))
        person[0] = (frame, frame, 1)
        write(tmp_path / f"run_{frame}_keypoints.json",
              {"people": [{"pose_keypoints_2d": person.ravel().tolist()}]})
    kps = read_json_dir(tmp_path)
    assert kps[:, B["Nose"], 0].tolist() == [0, 2, 10]


def test_the_main_person_is_the_largest(tmp_path):
    small, large = coco_person(), coco_person()
    small[:, :2] = small[:, :2] * 0.3 + 400
    write(tmp_path / "v_000000000000_keypoints.json",
          {"people": [{"pose_keypoints_2d": small.ravel().tolist()},
                      {"pose_keypoints_2d": large.ravel().tolist()}]})
    kp = read_json_dir(tmp_path, size=(640, 360))[0]
    np.testing.assert_allclose(kp[B["Nose"]], large[0], atol=1e-4)


def test_malformed_files_are_skipped_with_a_warning_naming_them(tmp_path, capsys):
    kps = random_track(6, seed=2)
    write_json_dir(tmp_path, kps, "clip")
    write(tmp_path / json_name("clip", 1), "{not json")
    write(tmp_path / json_name("clip", 2), {"version": 1.3})                        # no people
    write(tmp_path / json_name("clip", 4), {"people": [{"pose_keypoints_2d": [1, 2, 3, 4]}]})
    back = read_json_dir(tmp_path)
    err = capsys.readouterr().err
    for i in (1, 2, 4):
        assert json_name("clip", i) in err
    assert json_name("clip", 0) not in err
    assert len(back) == 6 and not back[[1, 2, 4]].any()
    np.testing.assert_allclose(back[[0, 3, 5]], kps[[0, 3, 5]], atol=1e-3)


def test_no_usable_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no \\*_keypoints.json"):
        read_json_dir(tmp_path)
    with pytest.raises(UserError, match="no such folder"):
        read_json_dir(tmp_path / "missing")
    write(tmp_path / "a_0_keypoints.json", "[]")
    write(tmp_path / "a_1_keypoints.json", {"people": [{"face_keypoints_2d": [0] * 12}]})
    with pytest.raises(UserError, match=str(tmp_path)):
        read_json_dir(tmp_path)


def test_people_without_any_point_are_nobody(tmp_path):
    path = tmp_path / "x_0_keypoints.json"
    write(path, {"people": [{"pose_keypoints_2d": [0] * 75, "face_keypoints_2d": [0] * 210}]})
    assert read_people(path) == []


def test_parts_land_in_their_places(tmp_path):
    path = tmp_path / "x_0_keypoints.json"
    person = {"pose_keypoints_2d": [1, 1, 1] * 25, "face_keypoints_2d": [2, 2, 1] * 70,
              "hand_left_keypoints_2d": [3, 3, 1] * 21, "hand_right_keypoints_2d": [4, 4, 1] * 21}
    write(path, {"people": [person]})
    kp = read_people(path)[0]
    for part, value in ((BODY, 1), (FACE, 2), (LHAND, 3), (RHAND, 4)):
        assert (kp[part, 0] == value).all()


def body25_person(x0, y0, height):
    """A BODY_25 person: 25 points in a column from (x0, y0), `height` pixels tall."""
    body = np.zeros((25, 3))
    body[:, 0] = x0 + np.arange(25) % 3
    body[:, 1] = y0 + np.linspace(0, height, 25)
    body[:, 2] = 0.9
    return body


def test_a_person_with_face_points_but_no_body_is_not_the_main_person(tmp_path):
    body = body25_person(300, 50, 200)
    face_only = np.zeros((70, 3))
    face_only[:, 0], face_only[:, 1], face_only[:, 2] = 100 + np.arange(70), 60, 0.7
    for i in range(3):
        people = [{"face_keypoints_2d": face_only.ravel().tolist()},
                  {"pose_keypoints_2d": body.ravel().tolist()}]
        write(tmp_path / json_name("clip", i), {"people": people[::-1] if i == 1 else people})
    kps = read_json_dir(tmp_path, size=(640, 360))
    assert kps.shape == (3, 137, 3)
    np.testing.assert_allclose(kps[:, BODY, :2], np.broadcast_to(body[:, :2], (3, 25, 2)), atol=1e-4)
    assert not kps[:, FACE].any()       # the face belongs to the other person


def test_main_people_skips_people_without_body_points():
    def person(body=None, face_x=None):
        kp = np.zeros((137, 3), np.float32)
        if body is not None:
            kp[BODY] = body
        if face_x is not None:
            kp[FACE, 0], kp[FACE, 1], kp[FACE, 2] = face_x, 40, 0.8
        return kp

    walker = [body25_person(100 + 5 * t, 40, 150) for t in range(4)]
    per_frame = [
        [person(face_x=500), person(walker[0])],
        [person(walker[1]), person(face_x=500)],
        [person(face_x=20)],                        # only a face: nobody to follow
        [person(face_x=500), person(walker[3]), person(face_x=30)],
    ]
    out = _main_people(per_frame, (640, 360))
    for t in (0, 1, 3):
        np.testing.assert_allclose(out[t, BODY], walker[t], atol=1e-5)
        assert not out[t, FACE].any()
    assert not out[2, BODY].any()
