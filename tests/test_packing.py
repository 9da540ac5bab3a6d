"""Packed micro-batches: several conversations in one row, none seeing another, and the same
loss and gradients as the padded batch they replace."""

import pytest

from chatclone.training.dataset import Example
from chatclone.training.packing import (
    IGNORE,
    MicroBatches,
    collate_packed,
    pack_rows,
    packing_works,
)

torch = pytest.importorskip("torch")


def test_rows_hold_every_example_once_within_capacity():
    lengths = [5, 50, 6, 49, 7, 48, 8, 47, 9, 64]
    rows = pack_rows(lengths, 64)
    assert sorted(i for r in rows for i in r) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in r) <= 64 for r in rows)
    assert len(rows) == 5  # 293 tokens: the fewest rows of 64 that can hold them
    assert min(sum(lengths[i] for i in r) for r in rows) >= 56  # balanced, little padding
    assert pack_rows([30, 32, 34, 35], 256) == [[3, 2, 1, 0]]  # one row when all fit


def test_targets_stay_inside_each_conversation_and_respect_the_persona_mask():
    a = Example([11, 12, 13], [0, 1, 1])
    b = Example([21, 22], [0, 1])
    batch = collate_packed([a, b], pad_id=0, mask_other=False, capacity=8)
    assert batch["input_ids"].tolist() == [[11, 12, 13, 21, 22]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    # 13 (the end of a) does not predict 21 (the start of b); each last token predicts nothing.
    assert batch["targets"].tolist() == [[12, 13, IGNORE, 22, IGNORE]]
    assert batch["index"].tolist() == [0, 1, 3] and batch["tokens"] == 5
    masked = collate_packed([Example([1, 2, 3], [0, 0, 1])], 0, mask_other=True, capacity=8)
    assert masked["targets"].tolist() == [[IGNORE, 3, IGNORE]]


def model_of(path):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(str(path)).eval()


@pytest.mark.parametrize("arch", ["tiny_model", "tiny_gpt2"])
def test_a_conversation_packed_next_to_another_has_its_logits_alone(arch, request):
    model = model_of(request.getfixturevalue(arch))
    gen = torch.Generator().manual_seed(1)
    first, second = (
        torch.randint(3, 200, (1, 9), generator=gen),
        torch.randint(3, 200, (1, 6), generator=gen),
    )
    with torch.no_grad():
        alone = model(input_ids=second).logits[0]
        row = torch.cat([first, second], dim=1)
        positions = torch.cat([torch.arange(9), torch.arange(6)]).unsqueeze(0)
        packed = model(input_ids=row, position_ids=positions, use_cache=False).logits[0, 9:]
        leaked = model(input_ids=row).logits[0, 9:]  # plain concatenation: it sees `first`
    torch.testing.assert_close(packed, alone, rtol=1e-5, atol=1e-5)
    assert (leaked - alone).abs().max() > 1e-3  # the check above can tell a leak apart
    assert packing_works(model)


@pytest.mark.parametrize("persona_only", [False, True])
def test_packed_loss_and_gradients_equal_the_padded_ones(tiny_model, persona_only):
    gen = torch.Generator().manual_seed(2)
    examples = []
    for n in (12, 3, 7, 20, 5):
        ids = torch.randint(3, 200, (n,), generator=gen).tolist()
        examples.append(Example(ids, [(i // 2) % 2 for i in range(n)]))
    results = []
    for packed in (False, True):
        model = model_of(tiny_model)
        batches = MicroBatches(model, 0, persona_only, capacity=24, packed=packed)
        assert batches.packed is packed
        batch = batches.collate(examples)
        loss, tokens = batches.loss(model, batch, "cpu"), batch["tokens"]
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters()])
        results.append((loss.detach(), tokens, grads))
        batches.close()
    (loss_p, tok_p, grad_p), (loss_k, tok_k, grad_k) = results
    assert tok_k == tok_p == 47
    torch.testing.assert_close(loss_k, loss_p, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad_k, grad_p, rtol=1e-4, atol=1e-6)


def test_output_rows_hook_is_inactive_outside_a_step(tiny_model):
    model = model_of(tiny_model)
    batches = MicroBatches(model, 0, False, capacity=16)
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert model(input_ids=ids).logits.shape[:2] == (1, 4)  # e.g. validation, generation
        with batches.rows.select(torch.tensor([1, 2])):
            assert model(input_ids=ids).logits.shape[:2] == (1, 2)
    batches.close()
