"""One token per column: fitted on training rows, saved as JSON + safetensors, checked on new data."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

import metaframe
from metaframe_tabular.tokenizer import ColumnMismatchError, UnknownCategoryWarning

TRAIN = [
    {"age": 20, "job": "clerk", "zip": 1010, "hours": 40.0},
    {"age": 40, "job": "nurse", "zip": 2020, "hours": None},
    {"age": 60, "job": "clerk", "zip": 1010, "hours": 20.0},
    {"age": None, "job": None, "zip": 3030, "hours": 30.0},
]


@pytest.fixture(scope="module")
def tabular():
    return metaframe.get_modality("tabular")


def fitted(tabular, **options):
    torch.manual_seed(0)
    return tabular.build_tokenizer(embed_dim=16, **options).fit(TRAIN)


def test_fit_infers_kinds_and_statistics_in_column_order(tabular):
    tok = fitted(tabular, categorical=["zip"])
    state = tok.fitted_state()
    assert json.loads(json.dumps(state)) == state
    assert [(c["name"], c["type"]) for c in state["columns"]] == [
        ("age", "numeric"), ("job", "categorical"), ("zip", "categorical"), ("hours", "numeric"),
    ]
    age, job, zip_, hours = state["columns"]
    assert age["mean"] == pytest.approx(40.0) and age["std"] == pytest.approx((800 / 3) ** 0.5)  # missing ignored
    assert job["categories"] == ["clerk", "nurse"] and zip_["categories"] == ["1010", "2020", "3030"]
    assert hours["mean"] == pytest.approx(30.0)
    assert state["rows_seen"] == 4
    assert fitted(tabular).fitted_state()["columns"][2]["type"] == "numeric"  # zip is a number unless told


def test_numeric_tokens_are_standardised_value_times_vector_plus_bias(tabular):
    tok = fitted(tabular)
    out = tok(tabular.collate([{"age": 60, "job": "clerk", "zip": 1010, "hours": 40.0}]))
    std = (800 / 3) ** 0.5
    z = (60 - 40) / std
    expected = z * tok.num_weight[0] + tok.num_bias[0]
    torch.testing.assert_close(out.tokens[0, 0], expected)
    assert out.tokens.shape == (1, 4, 16) and bool(out.mask.all())


def test_missing_values_get_their_columns_learned_token(tabular):
    tok = fitted(tabular)
    out = tok(tabular.collate([{"age": None, "job": None, "zip": float("nan"), "hours": None}]))
    torch.testing.assert_close(out.tokens[0], tok.missing)
    assert out.extras["missing"].tolist() == [[True, True, True, True]]
    assert tok.missing_counts == {"age": 1, "job": 1, "zip": 1, "hours": 1}


def test_unseen_category_maps_to_unknown_and_is_counted(tabular):
    tok = fitted(tabular)
    rows = [{"age": 30, "job": "pilot", "zip": 1, "hours": 1.0}, {"age": 30, "job": "astronaut", "zip": 1, "hours": 1.0},
            {"age": 30, "job": "nurse", "zip": 1, "hours": 1.0}]
    out = tok(tabular.collate(rows))
    assert tok.unknown_counts == {"job": 2}
    assert out.extras["unknown"][:, 1].tolist() == [True, True, False]
    torch.testing.assert_close(out.tokens[0, 1], out.tokens[1, 1])  # both are the unknown token
    torch.testing.assert_close(out.tokens[0, 1], tok.cat_embed.weight[0])
    tok.reset_counts()
    assert tok.unknown_counts == {"job": 0}
    strict = fitted(tabular, on_unknown="error")
    with pytest.raises(ValueError, match=r"not seen in fit.*'job': 1"):
        strict(tabular.collate(rows[:1]))
    loud = fitted(tabular, on_unknown="warn")
    with pytest.warns(UnknownCategoryWarning, match="'job': 2"):
        loud(tabular.collate(rows))


def test_tensor_batch_then_forward_gives_the_tokens_of_the_raw_batch(tabular):
    """``tensor_batch`` is the Python step an exported graph needs before it; the tensor part alone gives the same tokens."""
    from metaframe_tabular.collate import TableTensors

    tok = fitted(tabular)
    rows = [{"age": 30, "job": "pilot", "zip": 1, "hours": None}, {"age": None, "job": "nurse", "zip": 2, "hours": 9.0}]
    want = tok(tabular.collate(rows))
    tok.reset_counts()
    tensors = tok.tensor_batch(tabular.collate(rows))
    assert tok.unknown_counts == {"job": 1} and tok.missing_counts == {"age": 1, "job": 0, "zip": 0, "hours": 1}
    assert isinstance(tensors, TableTensors) and len(tensors) == 2
    assert tensors.numeric.dtype == torch.float32 and tensors.categories.dtype == torch.int64
    got = tok(tensors)
    torch.testing.assert_close(got.tokens, want.tokens)
    assert got.extras["missing"].tolist() == want.extras["missing"].tolist()
    assert got.extras["unknown"].tolist() == want.extras["unknown"].tolist()
    assert tok.missing_counts["age"] == 1  # the tensor part counts nothing twice
    wrong = TableTensors(tensors.numeric[:, :1], tensors.categories, tensors.missing)
    with pytest.raises(ValueError, match=r"numeric / categories / missing have \(1,\).*expects \(3,\) / \(1,\) / \(4,\)"):
        tok(wrong)


def test_min_frequency_sends_rare_categories_to_unknown(tabular):
    tok = fitted(tabular, min_frequency=2)
    assert tok.fitted_state()["columns"][1]["categories"] == ["clerk"]


def test_missing_renamed_or_mistyped_columns_are_errors_naming_them(tabular):
    tok = fitted(tabular)
    with pytest.raises(ColumnMismatchError, match=r"missing column\(s\) 'hours'"):
        tok(tabular.collate([{"age": 1, "job": "clerk", "zip": 1}]))
    with pytest.raises(ColumnMismatchError, match=r"missing column\(s\) 'job'.*unexpected column\(s\) 'occupation'"):
        tok(tabular.collate([{"age": 1, "occupation": "clerk", "zip": 1, "hours": 1.0}]))
    with pytest.raises(ValueError, match="column 'age' is numeric \\(fitted\\) but holds 'old'"):
        tok(tabular.collate([{"age": "old", "job": "clerk", "zip": 1, "hours": 1.0}]))
    with pytest.raises(ValueError, match="column 'hours' holds an infinite value"):
        tok(tabular.collate([{"age": 1, "job": "clerk", "zip": 1, "hours": float("inf")}]))


def test_unfitted_tokenizer_says_what_to_do(tabular):
    tok = tabular.build_tokenizer(embed_dim=16)
    with pytest.raises(RuntimeError, match="not fitted: call tokenizer.fit"):
        tok(tabular.collate(TRAIN))
    with pytest.raises(ValueError, match="both categorical and numeric"):
        tabular.build_tokenizer(embed_dim=16, categorical=["age"], numeric=["age"]).fit(TRAIN)
    with pytest.raises(ValueError, match="column 'job' is numeric but holds 'clerk'"):
        tabular.build_tokenizer(embed_dim=16, numeric=["job"]).fit(TRAIN)


def test_save_then_rebuild_from_fitted_state_and_load_state_dict(tabular, tmp_path):
    tok = fitted(tabular, categorical=["zip"])
    with torch.no_grad():
        for p in tok.parameters():
            p.add_(torch.randn_like(p))  # "trained"
    save_file({k: v.contiguous() for k, v in tok.state_dict().items()}, tmp_path / "tok.safetensors")
    (tmp_path / "fitted.json").write_text(json.dumps(tok.fitted_state()))
    assert sorted(tok.state_dict()) == ["cat_embed.weight", "missing", "num_bias", "num_weight"]

    rebuilt = tabular.build_tokenizer(embed_dim=16, fitted_state=json.loads((tmp_path / "fitted.json").read_text()))
    rebuilt.load_state_dict(load_file(tmp_path / "tok.safetensors"))
    from_path = tabular.build_tokenizer(embed_dim=16, fitted_state=str(tmp_path / "fitted.json"))
    from_path.load_state_dict(load_file(tmp_path / "tok.safetensors"))
    later = tabular.build_tokenizer(embed_dim=16)
    later.load_fitted_state(tok.fitted_state())
    later.load_state_dict(load_file(tmp_path / "tok.safetensors"))
    rows = TRAIN + [{"age": 33, "job": "pilot", "zip": 9, "hours": 35.0}]
    expected = tok(tabular.collate(rows)).tokens
    for other in (rebuilt, from_path, later):
        torch.testing.assert_close(other(tabular.collate(rows)).tokens, expected)
    with pytest.raises(RuntimeError, match="size mismatch|Unexpected key|Missing key"):
        fitted(tabular).load_state_dict(load_file(tmp_path / "tok.safetensors"))  # zip numeric: other shapes


def test_bad_fitted_state_is_named(tabular):
    with pytest.raises(ValueError, match="expected format 'metaframe-tabular/1'"):
        tabular.build_tokenizer(embed_dim=8, fitted_state={"columns": []})
    bad = {"format": "metaframe-tabular/1", "columns": [{"name": "a", "type": "numeric", "mean": 0, "std": 0}]}
    with pytest.raises(ValueError, match="column 'a' needs a numeric 'mean' and a positive 'std'"):
        tabular.build_tokenizer(embed_dim=8, fitted_state=bad)


def test_gradient_reaches_every_kind_of_token_through_the_frozen_encoder(tabular):
    tok = fitted(tabular)
    torch.manual_seed(0)
    encoder = metaframe.FrozenEncoder(embed_dim=16, depth=2, num_heads=2)
    head = metaframe.build_head("classification", embed_dim=16, num_classes=2)
    model = metaframe.MetaModel(encoder, {"tabular": tok}, {"label": head}).train()
    rows = [row for row, _ in tabular.dataset(__import__("pandas").DataFrame(TRAIN))]
    logits = model({"tabular": tabular.collate(rows)})["label"]
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 0, 1])).backward()
    for name in ("num_weight", "num_bias", "missing", "cat_embed.weight"):
        grad = dict(tok.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert tok.cat_embed.weight.grad[0].abs().sum() == 0  # unknown token: not used by these rows
    assert all(p.grad is None for p in encoder.parameters())


def test_a_row_does_not_depend_on_its_batch(tabular):
    tok = fitted(tabular).eval()
    alone = tok(tabular.collate([TRAIN[1]])).tokens[0]
    torch.testing.assert_close(tok(tabular.collate(TRAIN)).tokens[1], alone)


def test_joint_sequence_with_text_in_one_model(tabular):
    pytest.importorskip("metaframe_text")
    text = metaframe.get_modality("text")
    tok = fitted(tabular)
    torch.manual_seed(0)
    encoder = metaframe.FrozenEncoder(embed_dim=16, depth=1, num_heads=2)
    model = metaframe.MetaModel(
        encoder,
        {"tabular": tok, "text": text.build_tokenizer(embed_dim=16, context_length=16)},
        {"label": metaframe.build_head("classification", embed_dim=16, num_classes=2, pooling="cls+max+mean")},
    ).eval()
    rows = tabular.collate(TRAIN[:2])
    notes = text.collate(text.read(["a clerk", "a nurse on nights"], context_length=16))
    encoded = model.encode({"tabular": rows, "text": notes})
    assert encoded.segments["tabular"] == slice(1, 5)  # [CLS], then one token per column, then the text
    assert encoded.mask[0].sum() == 1 + 4 + 4 and encoded.mask[1].sum() == 1 + 4 + 6
    assert model({"tabular": rows, "text": notes})["label"].shape == (2, 2)
