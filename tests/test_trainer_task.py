"""The ``kilm`` task, its noise and its criterion, on a tiny binarized corpus with real CLI flags."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from fairseq import options, tasks
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

from kilm import sequence as seq
from kilm.dictionary import read_dict_symbols, write_dict
from kilm.indexed import read_indexed
from tests.trainer_fixtures import build_corpus, pass_rows

TRAINER_DIR = Path(__file__).resolve().parents[1] / "trainer"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def shards(corpus: Path) -> str:
    return f"{corpus}/bin/shard0:{corpus}/bin/shard1"


def setup(data: str, *flags: str):
    """A task, model config and criterion config from fairseq-train's own parser."""
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [data, "--user-dir", str(TRAINER_DIR), "--task", "kilm",
                                                "--arch", "bart_tiny", "--criterion", "kilm_cross_entropy",
                                                "--seed", "7", *flags])
    cfg = convert_namespace_to_omegaconf(args)
    return tasks.setup_task(cfg.task), cfg


def batches(task, split: str = "train", epoch: int = 1):
    task.load_dataset(split, epoch=epoch)
    dataset = task.dataset(split)
    iterator = task.get_batch_iterator(dataset, max_sentences=8, seed=7, epoch=epoch)
    return list(iterator.next_epoch_itr(shuffle=False))


def examples(batch, pad: int = seq.PAD):
    """(id, source, target, span mask) per row of a batch, padding removed."""
    for row, index in enumerate(batch["id"].tolist()):
        source = batch["net_input"]["src_tokens"][row]
        target = batch["target"][row]
        keep = target.ne(pad)
        yield index, source[source.ne(pad)], target[keep], batch["target_span"][row][keep]


def is_subsequence(short: list[int], long: list[int]) -> bool:
    it = iter(long)
    return all(token in it for token in short)


def test_every_batch_keeps_targets_and_the_knowledge_span(corpus: Path) -> None:
    task, _ = setup(shards(corpus), "--plain-share", "0")
    special = task.special
    kilm_tokens = set(special.kilm)
    for epoch, shard in ((1, "shard0"), (2, "shard1")):
        raw_sources = read_indexed(corpus / "bin" / shard / "train.source")
        raw_targets = read_indexed(corpus / "bin" / shard / "train.target")
        seen = 0
        for batch in batches(task, epoch=epoch):
            assert batch["ntokens"] == int(batch["target"].ne(seq.PAD).sum())
            prev = batch["net_input"]["prev_output_tokens"]
            for row, (index, source, target, span) in enumerate(examples(batch)):
                assert prev[row][: len(target)].tolist() == [seq.EOS, *target[:-1].tolist()]
                seen += 1
                raw_source = [seq.BOS, *raw_sources[index].tolist()]
                raw_target = [seq.BOS, *raw_targets[index].tolist()]
                assert target.tolist() == raw_target  # the target is never noised
                assert source[0] == seq.BOS and source[-1] == seq.EOS
                # KILM tokens survive in order; the rest is a masked subsequence of the original
                assert [t for t in source.tolist() if t in kilm_tokens] == [t for t in raw_source if t in kilm_tokens]
                unmasked = [t for t in source.tolist() if t != special.mask]
                assert is_subsequence(unmasked, raw_source)
                maskable = sum(1 for t in raw_source if t >= 4 and t != special.mask and t not in kilm_tokens)
                assert len(raw_source) - len(unmasked) - raw_source.count(special.mask) <= math.ceil(0.3 * maskable)
                if special.desc in raw_target:
                    d = source.tolist().index(special.desc)
                    assert source[d + 1 : d + 3].tolist() == [special.mask, special.desc_end]
                    start = raw_target.index(special.desc) + 1
                    end = raw_target.index(special.desc_end)
                    assert span.nonzero().squeeze(1).tolist() == list(range(start, end))
                else:
                    assert not span.any()
        assert seen == pass_rows(corpus / "bin" / shard) <= len(raw_targets)


def test_masks_are_fresh_each_epoch_and_reproducible(corpus: Path) -> None:
    first, _ = setup(shards(corpus))
    second, _ = setup(shards(corpus))
    for task in (first, second):
        task.load_dataset("valid")
    a, b = first.dataset("valid"), second.dataset("valid")
    assert all(torch.equal(a[i]["source"], b[i]["source"]) for i in range(len(a)))
    before = [a[i]["source"] for i in range(len(a))]
    a.set_epoch(2)
    assert sum(not torch.equal(before[i], a[i]["source"]) for i in range(len(a))) > len(a) // 2


def test_text_before_noise_is_the_binarized_rows(corpus: Path) -> None:
    task, _ = setup(shards(corpus))
    task.load_dataset("valid")
    pairs = task.dataset("valid").dataset
    rows = read_indexed(corpus / "bin" / "shard0" / "valid.source")
    assert [pairs[i]["source"].tolist() for i in range(len(pairs))] == [[seq.BOS, *r.tolist()] for r in rows]


@pytest.mark.parametrize("form", ["keep", "remove"])
def test_plain_share_turns_knowledge_rows_into_text_infilling(corpus: Path, form: str) -> None:
    task, _ = setup(shards(corpus), "--plain-share", "1", "--plain-form", form, "--mask", "0")
    raw_targets = read_indexed(corpus / "bin" / "shard0" / "train.target")
    for batch in batches(task):
        assert not batch["target_span"].any()
        for index, source, target, _ in examples(batch):
            raw = [seq.BOS, *raw_targets[index].tolist()]
            assert source.tolist() == target.tolist()
            if form == "keep":
                assert target.tolist() == raw
            else:
                assert not set(target.tolist()) & set(task.special.kilm)
                assert is_subsequence(target.tolist(), raw)


def test_criterion_logs_span_and_text_losses(corpus: Path) -> None:
    task, cfg = setup(shards(corpus), "--span-weight", "2.0")
    model = task.build_model(cfg.model)
    criterion = task.build_criterion(cfg.criterion)
    batch = next(b for b in batches(task, "valid") if b["target_span"].any())
    loss, sample_size, log = criterion(model, batch)
    assert sample_size == batch["ntokens"]
    assert log["ntokens_span"] == int(batch["target_span"].sum()) > 0
    assert torch.allclose(log["loss_span"] + log["loss_text"], log["nll_loss"])
    assert torch.allclose(loss, log["loss_text"] + 2.0 * log["loss_span"])


def test_missing_split_and_dictionary_tokens_name_the_path(corpus: Path, tmp_path: Path) -> None:
    task, _ = setup(shards(corpus))
    with pytest.raises(FileNotFoundError, match=r"shard0/nope\.source"):
        task.load_dataset("nope")
    bare = tmp_path / "bare"
    bare.mkdir()
    symbols = read_dict_symbols(corpus / "bin" / "shard0" / "dict.txt")
    write_dict(bare / "dict.txt", symbols[: symbols.index(seq.MASK)])
    with pytest.raises(ValueError, match=r"bare/dict.txt: dictionary lacks \['<mask>'"):
        setup(str(bare))


def test_mbart_language_token_ends_both_sides_and_starts_the_decoder(tmp_path: Path) -> None:
    """mBART's convention: ``<s> ... </s> [uk_UA]`` on both sides, decoder input ``[uk_UA] <s> ...``; the
    noise never touches the language token and the knowledge span is still found."""
    corpus = build_corpus(tmp_path / "mbart", num_shards=1, language_tokens=("[en_XX]", "[uk_UA]"))
    task, _ = setup(f"{corpus}/bin/shard0", "--plain-share", "0", "--lang-token", "[uk_UA]")
    language = task.dictionary.index("[uk_UA]")
    assert language < task.special.mask
    spans = 0
    for batch in batches(task):
        prev = batch["net_input"]["prev_output_tokens"]
        for row, (_, source, target, span) in enumerate(examples(batch)):
            assert source[-2:].tolist() == [seq.EOS, language] and source[0] == seq.BOS
            assert target[-2:].tolist() == [seq.EOS, language] and target[0] == seq.BOS
            assert prev[row][: len(target)].tolist() == [language, *target[:-1].tolist()]
            spans += bool(span.any())
    assert spans > 0
    noise = task.build_noise()
    assert noise.random_range[1] == task.dictionary.index("[en_XX]")  # random replacements: regular tokens only
    assert noise.is_special[language]
    with pytest.raises(ValueError, match=r"--lang-token \[xx_XX\]: not one of the dictionary's language tokens"):
        setup(f"{corpus}/bin/shard0", "--lang-token", "[xx_XX]")


def test_adamw_decays_matrices_but_no_bias_or_layernorm_weight(corpus: Path) -> None:
    """``kilm_adamw`` as fairseq-train builds it: the reference's (Hugging Face Trainer's) decay groups."""
    from fairseq import optim

    from trainer.optim import decay_groups

    task, cfg = setup(shards(corpus), "--optimizer", "kilm_adamw", "--weight-decay", "0.01", "--lr", "5e-5")
    model = task.build_model(cfg.model)
    optimizer = optim.build_optimizer(cfg.optimizer, list(model.parameters()))
    decay = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    assert len(decay) == len(list(model.parameters()))
    for name, p in model.named_parameters():
        assert decay[id(p)] == (0.01 if p.ndim >= 2 else 0.0), name
    layer_norms = [name for name, p in model.named_parameters() if "layer_norm" in name and name.endswith("weight")]
    assert layer_norms and all(decay[id(dict(model.named_parameters())[n])] == 0.0 for n in layer_norms)
    with pytest.raises(ValueError, match="--fp16-no-flatten-grads"):
        decay_groups([torch.nn.Parameter(torch.zeros(100))])  # what --fp16 without it would hand over
