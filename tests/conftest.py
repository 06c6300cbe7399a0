import os

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


def pytest_report_header(config):
    import unitrack_ext

    return [
        f"unitrack_ext from {os.path.dirname(unitrack_ext.__file__)}; compiled _C: {unitrack_ext.HAS_EXT}",
        f"torch {torch.__version__}, threads {torch.get_num_threads()}",
    ]
