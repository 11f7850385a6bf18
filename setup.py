"""Build the pyvtm._core extension with CMake (see CMakeLists.txt).

All metadata lives in pyproject.toml; this file only adds the CMake-driven
build_ext. The extension is built against the torch importable at build
time (pinned in pyproject.toml's [build-system] requires).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str):
        super().__init__(name, sources=[])


def _cmake_exe() -> str:
    try:  # the cmake package from PyPI (a build requirement)
        import cmake

        exe = Path(cmake.CMAKE_BIN_DIR) / "cmake"
        if exe.exists():
            return str(exe)
    except ImportError:
        pass
    exe = shutil.which("cmake")
    if exe is None:
        raise RuntimeError("cmake not found: pip install cmake, or install it with your package manager")
    return exe


def _cached(cache: Path, key: str):
    if not cache.exists():
        return None
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith(key + ":"):
            return line.split("=", 1)[1]
    return None


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        import pybind11
        import torch

        extdir = Path(self.get_ext_fullpath(ext.name)).parent.resolve()
        build_temp = Path(self.build_temp).resolve() / "cmake"
        torch_prefix = torch.utils.cmake_prefix_path
        torch_dir = str(Path(torch_prefix) / "Torch")
        # A build tree configured against another torch/python (e.g. an earlier
        # isolated build environment) is stale: start afresh.
        cache = build_temp / "CMakeCache.txt"
        if cache.exists() and (_cached(cache, "Torch_DIR") != torch_dir
                               or _cached(cache, "Python_EXECUTABLE") != sys.executable):
            shutil.rmtree(build_temp)
        build_temp.mkdir(parents=True, exist_ok=True)

        cmake = _cmake_exe()
        cfg = "Debug" if self.debug else "Release"
        args = [
            f"-DCMAKE_BUILD_TYPE={cfg}",
            f"-DCMAKE_PREFIX_PATH={torch_prefix};{pybind11.get_cmake_dir()}",
            f"-DTorch_DIR={torch_dir}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={extdir}",
            "-DPYVTM_BUILD_TESTS=OFF",
        ]
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        subprocess.run([cmake, "-S", str(ROOT), "-B", str(build_temp), *args], check=True)
        subprocess.run([cmake, "--build", str(build_temp), "--target", "_core", "--config", cfg,
                        "-j", jobs], check=True)


setup(ext_modules=[CMakeExtension("pyvtm._core")], cmdclass={"build_ext": CMakeBuild})
