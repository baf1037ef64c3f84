"""Still-image mode: make the person in one photo dance, with no training.

    stage.py     make_target.py --image: pose, mask, mesh and background of one photo
    people.py    finding the people in the photo (several looks), choosing the one to animate
    photo.py     reading the photo, one look of the detector, the person's mask, the arm check
    joints.py    completing the skeleton: joints out of view, under clothing, the feet's tips
    framing.py   room around the person, the window cut to --size
    layout.py    the still target's files
    mesh.py      triangulating the person mask
    limbs.py     arms against the body: their own layers, the body behind them painted in
    skirt.py     cloth between the legs: stretched, not torn, as the legs part
    rig.py       binding the mesh to the skeleton, retargeting a driving pose, deforming
    render.py    drawing the photo through the deformed mesh over the background
    transfer.py  transfer.py on a still target: one frame per normalized source pose

The way of Igarashi et al.'s shape manipulation and of AnimatedDrawings, for photos: the person's
silhouette is meshed, the mesh hangs on the skeleton found in the photo, and every source pose
moves the bones, which move the mesh, which carries the photo's pixels.
"""
