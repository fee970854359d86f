"""Builds the package with message classes generated from wsbridge.proto.

The metadata is in pyproject.toml; this only adds the build step that runs
protoc. The .proto is ../../proto/wsbridge.proto in the source tree, or the
file named by $WSBRIDGE_PROTO.
"""

import os
import pathlib
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import ExecError, FileError

HERE = pathlib.Path(__file__).resolve().parent


def find_proto():
    env = os.environ.get("WSBRIDGE_PROTO")
    path = pathlib.Path(env) if env else HERE.parent.parent / "proto" / "wsbridge.proto"
    if not path.is_file():
        raise FileError(f"wsbridge.proto not found at {path} (build from the wsbridge source "
                        "tree, or set WSBRIDGE_PROTO to the file)")
    return path


class BuildPyWithProtoc(build_py):
    """build_py, then protoc: the message classes and their type stubs."""

    def run(self):
        super().run()
        proto = find_proto()
        protoc = shutil.which("protoc")
        if protoc is None:
            raise ExecError("protoc not found: it generates wsbridge's message classes from "
                            "wsbridge.proto at build time (Debian: apt install "
                            "protobuf-compiler)")
        out = pathlib.Path(self.build_lib) / "wsbridge"
        out.mkdir(parents=True, exist_ok=True)
        cmd = [protoc, f"--proto_path={proto.parent}", f"--python_out={out}",
               f"--pyi_out={out}", str(proto)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise ExecError(f"{' '.join(cmd)} failed ({result.returncode}): "
                            f"{result.stderr.strip()}")

    def get_outputs(self, include_bytecode=True):
        out = pathlib.Path(self.build_lib) / "wsbridge"
        return super().get_outputs(include_bytecode) + [
            str(out / "wsbridge_pb2.py"), str(out / "wsbridge_pb2.pyi")]


setup(cmdclass={"build_py": BuildPyWithProtoc})
