"""The pix2pixHD model: networks, losses, options, the training data and loop, checkpoints,
inference and transfer."""
