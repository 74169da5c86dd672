"""Subprocesses that file modes apply to: as root, without the capabilities that read through them."""

from __future__ import annotations

import os
import shutil

import pytest

#: Root without CAP_DAC_OVERRIDE nor CAP_DAC_READ_SEARCH: chmod 000 stops it as it stops anyone.
UNPRIVILEGED_ROOT = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


def obeying_modes() -> tuple[str, ...]:
    """The command prefix under which a directory with mode 000 cannot be read (none when not root)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): chmod 000 does not stop root")
    return UNPRIVILEGED_ROOT
