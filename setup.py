"""Only here for one thing pyproject.toml cannot say: matrices/ is a top-level folder of pure
data in the repository, and it ships inside the package as rknn_envcheck/matrices so that an
installed tool finds it next to its code."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["rknn_envcheck", "rknn_envcheck.*"]) + ["rknn_envcheck.matrices"],
    package_dir={"rknn_envcheck.matrices": "matrices"},
)
