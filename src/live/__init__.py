"""Live mode (transfer.py --camera): a webcam, or a video played as one, drives the target.

    camera.py     frames in real time; the newest waits, older ones are dropped and counted
    one_euro.py   the causal jitter filter for live keypoints, with short dropouts held
    calibrate.py  the first second maps the person in front of the camera onto the target
    targets.py    what is drawn: a still target (photo) or a trained model
    show.py       the window, the recording and the virtual camera
    loop.py       detection of frame t+1 overlapping the drawing of frame t; the figures at the end
"""
