"""The route to the paper's fine-tuned tasks (closed-book QA, summarisation, GLUE, Wizard of Wikipedia):
``eval.export_hf``, then a Hugging Face ``Seq2SeqTrainer`` on the export. Here: a tiny generated task (name
an entity's description from its title) fine-tunes for a few steps and its loss falls."""

from __future__ import annotations

import pytest
import torch

from eval.export_hf import export
from kilm import records
from tests.eval_fixtures import make_world, train_tiny_bart

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate")


def test_export_fine_tunes_with_seq2seq_trainer(tmp_path):
    world = make_world(tmp_path / "out")
    export(train_tiny_bart(world, tmp_path / "kilm.pt", steps=10), world.out, tmp_path / "hf")
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    model = transformers.BartForConditionalGeneration.from_pretrained(tmp_path / "hf")
    pairs = [(f"What is {e['title']}?", e["description"]) for e in records.read_entities(world.out) if e["description"]]
    data = [{**tokenizer(q), "labels": tokenizer(a)["input_ids"]} for q, a in pairs]
    torch.manual_seed(0)
    args = transformers.Seq2SeqTrainingArguments(
        output_dir=str(tmp_path / "ft"), per_device_train_batch_size=4, max_steps=24, learning_rate=3e-3,
        lr_scheduler_type="constant",
        logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0, disable_tqdm=True)
    trainer = transformers.Seq2SeqTrainer(
        model=model, args=args, train_dataset=data,
        data_collator=transformers.DataCollatorForSeq2Seq(tokenizer, model=model))
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 24
    assert sum(losses[-4:]) / 4 < 0.8 * sum(losses[:4]) / 4
