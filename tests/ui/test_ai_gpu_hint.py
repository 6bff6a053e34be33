"""A writer whose NVIDIA card the AI does not use is told, in the AI status label's tooltip and a
brief status-bar message, what to install. Real tiny model and onnxruntime; only the NVIDIA driver
is faked (there is no GPU here), as in tests/installer/test_installed_gpu_hint.py."""

from __future__ import annotations

from typing import Any

import pytest

from desktop.library import Library
from inference.runtime import providers
from tests.installer.test_installed_gpu_hint import nvidia_card  # noqa: F401 - fixture
from tests.ui.test_ai_editor import open_doc, ready_feature

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]


def test_unused_nvidia_card_says_what_to_install(
    qtbot: Any,
    make_window: Any,
    library: Library,
    tiny_model_dir: Any,
    nvidia_card: None,  # noqa: F811
) -> None:
    window, _document, _editor = open_doc(make_window, library)
    # In this process, where the driver is faked (the model's own process has none).
    feature = ready_feature(qtbot, window, tiny_model_dir, model_process=False)
    assert feature.status.text().startswith("AI: CPU")
    tip = feature.status.toolTip()
    assert "Your NVIDIA graphics card is not used" in tip and "install" in tip
    assert "cuda" in tip.lower()
    assert "nothing leaves it" in tip
    message = window.statusBar().currentMessage()
    assert "NVIDIA" in message and "what to install" in message
    feature.shutdown()


def test_no_hint_without_an_nvidia_card(
    qtbot: Any,
    make_window: Any,
    library: Library,
    tiny_model_dir: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(providers, "_cuda_driver", lambda: None)
    window, _document, _editor = open_doc(make_window, library)
    feature = ready_feature(qtbot, window, tiny_model_dir)
    assert "NVIDIA" not in feature.status.toolTip()
    assert "NVIDIA" not in window.statusBar().currentMessage()
    feature.shutdown()
