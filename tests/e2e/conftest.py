"""The whole system as processes, started once per test module the way `make run` starts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cadrekit.testing.plugin import free_port
from deploy.launcher import SERVICES, Layout, System


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    var = tmp_path_factory.mktemp("var")
    layout = Layout(var=var, ports={n: free_port() for n in ("gateway", *SERVICES)}, broker_port=free_port())
    sys_ = System(layout)
    sys_.start()
    yield sys_
    sys_.stop()
