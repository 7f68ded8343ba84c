"""cpu_training: the cheap dropout has torch's distribution and follows torch's seed; the row-sparse embedding
gradient trains exactly like the dense one; the [CLS]-only last layer gives the same loss, gradients and
evaluation logits; a run with the speed-ups equals one without them when nothing is random (dropout 0), with
gradient accumulation too; `undo` leaves the model as it was."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from clue_runner import cpu_training
from clue_runner.runner import run_task


def _bert(model: Path, dropout: float = 0.1) -> nn.Module:
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        str(model), num_labels=3, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout
    )


def _batch(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 200, (4, 9), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[3, 4:] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([0, 1, 2, 1])}


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_mask_keeps_1_minus_p_and_scales_the_kept(p: float) -> None:
    torch.manual_seed(0)
    # An odd count: the second half of the last 64-bit word is not used.
    mask = cpu_training.dropout_mask(torch.Size([1000, 1001]), p)
    assert mask.shape == (1000, 1001) and mask.dtype == torch.float32
    assert mask.unique().tolist() == pytest.approx([0.0, 1 / (1 - p)])
    kept = float((mask > 0).float().mean())
    n = mask.numel()
    assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)  # within 5 standard errors
    assert float(mask.mean()) == pytest.approx(1.0, abs=5 * math.sqrt(p / (1 - p) / n))


def test_dropout_masks_follow_torch_seed_and_differ_between_calls() -> None:
    torch.manual_seed(7)
    a, b = (
        cpu_training.dropout_mask(torch.Size([64, 64]), 0.1),
        cpu_training.dropout_mask(torch.Size([64, 64]), 0.1),
    )
    torch.manual_seed(7)
    c = cpu_training.dropout_mask(torch.Size([64, 64]), 0.1)
    assert torch.equal(a, c) and not torch.equal(a, b)


def test_cpu_dropout_is_identity_in_eval_and_its_gradient_uses_the_same_mask() -> None:
    layer = cpu_training.CpuDropout(0.3)
    x = torch.randn(50, 40, requires_grad=True)
    layer.eval()
    assert layer(x) is x
    layer.train()
    y = layer(x)
    y.sum().backward()
    assert x.grad is not None
    kept = y.detach() != 0
    assert torch.allclose(x.grad, kept.float() / 0.7)  # d(x * mask)/dx = mask
    assert torch.allclose(y.detach()[kept], x.detach()[kept] / 0.7)


def test_attention_with_dropout_is_sdpa_when_nothing_is_dropped(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In training, the CPU attention path computes what SDPA computes; only the dropout mask is its own."""
    net = _bert(tiny_model, dropout=0.2)
    batch = _batch(1)
    with torch.no_grad():
        want = net.eval()(**batch).logits  # SDPA, no dropout
        cpu_training.speed_up(net)
        monkeypatch.setattr(cpu_training, "dropout_mask", lambda shape, p: torch.ones(shape))
        got = net.train()(**batch).logits  # the speed-up path, every mask all ones
    assert net.config._attn_implementation == cpu_training.ATTENTION
    assert torch.allclose(got, want, atol=1e-5)


def _train(
    net: nn.Module, steps: int, speedups: cpu_training.CpuSpeedups | None, micro_batches: int
) -> list[float]:
    """`steps` AdamW steps of `micro_batches` each, clipped at 0.5 (every step clips); returns the norms."""
    norms: list[float] = []
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01, fused=True)
    for step in range(steps):
        for micro in range(micro_batches):  # more than one: gradients accumulate into the buffer
            net(**_batch(10 * step + micro)).loss.backward()
        if speedups is None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)))
        else:
            norms.append(float(speedups.clip_grad_norm_(net.parameters(), 0.5)))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if speedups is not None:
            speedups.after_zero_grad()
    return norms


@pytest.mark.parametrize("micro_batches", [1, 2])
def test_row_sparse_embedding_gradient_and_its_clipping_train_like_the_dense_ones(
    tiny_model: Path, micro_batches: int
) -> None:
    dense, sparse = _bert(tiny_model, dropout=0.0).train(), _bert(tiny_model, dropout=0.0).train()
    sparse.load_state_dict(dense.state_dict())  # the same classifier head (it starts random)
    speedups = cpu_training.speed_up(sparse)
    assert len(speedups.embeddings) == 1
    # The same [CLS]-only last layer on both (tested on its own below): only the embedding gradient differs.
    assert cpu_training._last_layer_for_cls(dense) is not None
    dense_norms = _train(dense, 3, None, micro_batches)
    sparse_norms = _train(sparse, 3, speedups, micro_batches)
    assert sparse_norms == pytest.approx(dense_norms, rel=1e-5) and min(dense_norms) > 0.5  # clipping acted
    for (name, a), b in zip(dense.state_dict().items(), sparse.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name
    embedding = sparse.get_input_embeddings().weight
    assert embedding.grad is not None and not embedding.grad.is_sparse
    assert int(embedding.grad.count_nonzero()) == 0  # rows zeroed after the step, ready for the next backward


@pytest.mark.parametrize("kind", ["classify", "choice"])
def test_cls_only_last_layer_gives_the_same_loss_and_gradients(tiny_model: Path, kind: str) -> None:
    from transformers import AutoModelForMultipleChoice

    def build() -> nn.Module:
        if kind == "classify":
            return _bert(tiny_model, dropout=0.0)
        return AutoModelForMultipleChoice.from_pretrained(
            str(tiny_model), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
        )

    plain, fast = build(), build()
    fast.load_state_dict(plain.state_dict())
    speedups = cpu_training.speed_up(fast)
    assert speedups.cls_layer is fast.bert.encoder.layer[-1]
    batch = _batch(5)
    if kind == "choice":  # 2 questions x 2 choices
        batch = {"input_ids": batch["input_ids"].view(2, 2, 9), "attention_mask": batch["attention_mask"].view(2, 2, 9),
                 "labels": torch.tensor([1, 0])}  # fmt: skip
    losses = []
    for net in (plain, fast):
        loss = net.train()(**batch).loss
        loss.backward()
        losses.append(float(loss.detach()))
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)
    for (name, a), b in zip(plain.named_parameters(), fast.parameters(), strict=True):
        assert a.grad is not None and b.grad is not None, name
        assert torch.allclose(a.grad, b.grad, atol=1e-6), name
    with torch.no_grad():  # evaluation computes the [CLS] row alone too
        assert torch.allclose(plain.eval()(**batch).logits, fast.eval()(**batch).logits, atol=1e-6)


def test_cls_only_last_layer_for_evaluation_gives_the_same_logits_and_is_undone(tiny_model: Path) -> None:
    plain, fast = _bert(tiny_model).eval(), _bert(tiny_model).eval()
    fast.load_state_dict(plain.state_dict())
    last = fast.bert.encoder.layer[-1]
    batches = [_batch(seed) for seed in (1, 2)]
    batches.append(
        {"input_ids": batches[0]["input_ids"], "attention_mask": torch.ones(4, 9, dtype=torch.long)}
    )
    with torch.inference_mode(), cpu_training.cls_only_last_layer(fast):
        assert "forward" in vars(last)
        for batch in batches:  # padded and unpadded (where the attention mask may be None)
            want, got = plain(**batch).logits, fast(**batch).logits
            assert torch.allclose(want, got, atol=1e-6)
        hidden = fast.bert(batches[0]["input_ids"], batches[0]["attention_mask"]).last_hidden_state
        assert hidden.shape == (4, 1, 64)  # the work really is skipped
    assert "forward" not in vars(last)
    # Training's speed-ups patched it already: the block leaves their patch in place.
    speedups = cpu_training.speed_up(fast)
    with cpu_training.cls_only_last_layer(fast):
        pass
    assert "forward" in vars(last) and speedups.cls_layer is last


def test_span_models_keep_their_whole_last_layer(tiny_model: Path) -> None:
    from transformers import AutoModel

    assert cpu_training.speed_up(AutoModel.from_pretrained(str(tiny_model))).cls_layer is None


def test_undo_restores_the_model(tiny_model: Path) -> None:
    net = _bert(tiny_model).train()
    speedups = cpu_training.speed_up(net)
    assert net.config._attn_implementation == cpu_training.ATTENTION
    assert sum(isinstance(m, cpu_training.CpuDropout) for m in net.modules()) == len(speedups.dropouts) > 0
    assert "forward" in vars(net.bert.encoder.layer[-1])
    speedups.undo()
    assert "forward" not in vars(net.bert.encoder.layer[-1])
    assert net.config._attn_implementation == "sdpa"
    assert not any(isinstance(m, cpu_training.CpuDropout) for m in net.modules())
    embedding = net.get_input_embeddings()
    assert not embedding.sparse and embedding.weight.grad is None and not embedding._forward_pre_hooks


def _losses(run: Path) -> list[float]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [x["loss"] for x in lines if "loss" in x]


@pytest.mark.parametrize("accum", [1, 2])
def test_a_run_with_speedups_equals_one_without_when_dropout_is_off(
    tmp_path: Path, tiny_model: Path, task_data, accum: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = task_data("tnews")
    results = {}
    entered: list[str] = []
    real = cpu_training.cls_only_last_layer

    def spy(model: nn.Module):  # type: ignore[no-untyped-def]
        entered.append(flag)
        return real(model)

    monkeypatch.setattr(cpu_training, "cls_only_last_layer", spy)
    for flag in ("true", "false"):
        outcome = run_task(
            "tnews",
            model=str(tiny_model),
            data_dir=data,
            output_dir=tmp_path / flag,
            sets=[
                "train.max_steps=4",
                "train.dropout=0",
                f"train.grad_accum={accum}",
                "train.batch_size=4",
                "train.log_every=1",
                f"train.cpu_speedups={flag}",
            ],
            progress=False,
        )
        assert outcome.status == "completed"
        results[flag] = outcome.results
    assert _losses(tmp_path / "true") == pytest.approx(_losses(tmp_path / "false"), abs=1e-5)
    assert results["true"]["metrics"]["dev"] == pytest.approx(results["false"]["metrics"]["dev"], abs=1e-6)
    assert set(entered) == {"true"}  # dev evaluation took the [CLS]-only path with the speed-ups only
