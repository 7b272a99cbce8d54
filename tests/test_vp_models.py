"""VP tokenizer and models: shapes, padding invariance, the pretrained-checkpoint path, clear errors."""

import pytest
import torch

from leakage.vp.models import (ARCHITECTURES, CodeBERTClassifier, VPModelConfig, build_vp_model,
                               reverse_within_length)
from leakage.vp.tokenizer import CodeTokenizer, PretrainedTokenizer, TokenizerConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: torch and BLAS on one thread


CODE = ["void id0()\n{\n    int data = 5;\n    if (data > 0) { printIntLine(data); }\n}",
        "void id0()\n{\n    char buf[10];\n    strcpy(buf, \"hello\");\n}",
        "int f(int a, int b) { return a + b; }", "void g(struct s * p) { p->n += 1; }"] * 4


@pytest.fixture(scope="module")
def tokenizer():
    return CodeTokenizer.train(CODE, TokenizerConfig(vocab_size=120, max_len=24))


def test_tokenizer_encodes_cls_tokens_and_padding(tokenizer):
    ids = tokenizer.encode(CODE[:3])
    assert ids.shape == (3, 24) and ids.dtype == torch.int64
    assert (ids[:, 0] == tokenizer.tokenizer.token_to_id("<s>")).all()
    assert (ids[2] == tokenizer.pad_id).any() and not (ids[0] == tokenizer.pad_id).any()  # long one is truncated
    assert tokenizer.tokens("a->b += 1;")[1:-1] == ["a", "->", "b", "+=", "1", ";"]  # lexemes never merge
    again = CodeTokenizer.from_json(tokenizer.to_json(), 24)
    assert torch.equal(again.encode(CODE[:3]), ids)


def small(arch: str) -> VPModelConfig:
    return VPModelConfig(arch=arch, embed_dim=8, hidden=8, layers=2, heads=2, intermediate=16, dropout=0.0)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_forward_shapes_and_padding_invariance(arch, tokenizer):
    torch.manual_seed(0)
    model = build_vp_model(small(arch), tokenizer.vocab_size, tokenizer.pad_id, 24).eval()
    ids = tokenizer.encode(CODE[:3])
    logits, embedding = model.features(ids)
    assert logits.shape == (3, 2) and embedding.shape == (3, 16 if arch != "codebert" else 8)
    assert torch.equal(model(ids), logits)
    with torch.no_grad():  # a short function gives the same outputs alone as beside a long one
        alone = model.features(ids[2:3])
        assert torch.allclose(alone[0], logits[2:3], atol=1e-5) and torch.allclose(alone[1], embedding[2:3], atol=1e-5)


def test_reverse_within_length_keeps_padding_in_place():
    x = torch.tensor([[1, 2, 3, 0], [1, 2, 0, 0]])
    assert reverse_within_length(x, torch.tensor([3, 2])).tolist() == [[3, 2, 1, 0], [2, 1, 0, 0]]


def test_a_pretrained_checkpoint_loads_from_a_folder(tmp_path, tokenizer):
    from transformers import PreTrainedTokenizerFast

    torch.manual_seed(0)
    model = CodeBERTClassifier.from_config(tokenizer.vocab_size, tokenizer.pad_id, 24, small("codebert"))
    model.model.save_pretrained(tmp_path)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer.tokenizer, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", unk_token="<unk>", mask_token="<mask>")
    fast.save_pretrained(tmp_path)
    loaded_tokenizer = PretrainedTokenizer(str(tmp_path), 24)
    ids = loaded_tokenizer.encode(CODE[:2])
    assert ids.shape == (2, 24) and loaded_tokenizer.pad_id == tokenizer.pad_id
    config = VPModelConfig(arch="codebert", codebert_path=str(tmp_path))
    loaded = build_vp_model(config, loaded_tokenizer.vocab_size, loaded_tokenizer.pad_id, 24).eval()
    model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded.features(ids)[1], model.features(ids)[1], atol=1e-5)  # same encoder


def test_bad_model_configs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown VP architecture"):
        VPModelConfig(arch="cnn")
    with pytest.raises(ValueError, match="codebert_path applies"):
        VPModelConfig(arch="bilstm", codebert_path="x")
    with pytest.raises(ValueError, match="cannot load a RoBERTa"):
        CodeBERTClassifier.from_pretrained(str(tmp_path / "nothing"), 1)
    with pytest.raises(ValueError, match="multiple of heads"):
        build_vp_model(VPModelConfig(arch="codebert", hidden=10, heads=3), 50, 0, 16)
