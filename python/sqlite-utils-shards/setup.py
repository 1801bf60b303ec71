"""The dependency on sqlite-shards points at its folder in this repository, so one
`pip install ./python/sqlite-utils-shards` builds and installs both."""
from pathlib import Path

from setuptools import setup

SQLITE_SHARDS = (Path(__file__).resolve().parent.parent / "sqlite-shards").as_uri()

setup(install_requires=["sqlite-utils>=3.30", "click", f"sqlite-shards @ {SQLITE_SHARDS}"])
