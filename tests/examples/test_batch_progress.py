from __future__ import annotations

import pytest

from examples import batch_progress


def test_batch_example_answers_every_paragraph(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELSLAB_API_KEY", raising=False)
    monkeypatch.delenv("MODELSLAB_BASE_URL", raising=False)
    batch_progress.main()
    count = len(batch_progress.paragraphs())
    out = capsys.readouterr()
    assert f"{count} paragraphs; {count} LangChain and {count} LlamaIndex answers" in out.out
    assert f"{count}/{count}" in out.err  # both tqdm bars reached the end
