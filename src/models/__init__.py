"""Networks (pix2pixHD generators and discriminators) and the frozen VGG16/AlexNet feature extractors."""
from src.models.networks import (FaceGenerator, GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator,
                                 init_weights)

__all__ = ["GlobalGenerator", "LocalEnhancer", "FaceGenerator", "MultiscaleDiscriminator", "init_weights"]
