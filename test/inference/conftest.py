"""One torch thread per inference test: the test machine's 2 cores are shared, and
oversubscribed threads make small convolutions many times slower."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
