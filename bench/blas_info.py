"""Which BLAS this Python process runs: the comparison scripts print it next to the anchor's
timings, because Debian's numpy and PyTorch call whatever libblas.so.3 the alternatives system
points to (the reference BLAS, or OpenBLAS with the kernels OPENBLAS_CORETYPE selects).

    from blas_info import lift_openblas_pins, describe_blas
    lift_openblas_pins()   # before numpy/torch are imported: OpenBLAS picks the machine's kernels
    ...
    print(describe_blas())  # after the first matrix product
"""
import ctypes
import os

PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def lift_openblas_pins():
    """Removes the environment's pins for old OpenBLAS builds from this process and returns the
    environment as it was (for the emofuse-bench child, which keeps it)."""
    original = dict(os.environ)
    for name in PINS:
        os.environ.pop(name, None)
    return original


def _loaded_blas_paths():
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                # Shared libraries only (not Python extension modules that wrap one).
                if name.startswith("lib") and ("blas" in name or "mkl" in name) and \
                        path not in paths:
                    paths.append(path)
    except OSError:
        pass
    return paths


def describe_blas():
    """One line: the BLAS libraries mapped into this process and, for OpenBLAS, its version and
    the kernel set (core) it chose."""
    paths = _loaded_blas_paths()
    if not paths:
        return "BLAS: none loaded yet"
    parts = []
    for path in paths:
        text = os.path.realpath(path)
        try:
            library = ctypes.CDLL(path)
            core = getattr(library, "openblas_get_corename", None)
            config = getattr(library, "openblas_get_config", None)
            if core is not None:
                core.restype = ctypes.c_char_p
                text += f" (OpenBLAS, core {core().decode()}"
                if config is not None:
                    config.restype = ctypes.c_char_p
                    text += f", {config().decode()}"
                text += ")"
        except OSError:
            pass
        parts.append(text)
    return "BLAS: " + "; ".join(parts)
