"""Self-rehearsal replay: the base model's own answers to general prompts, mixed into training so
the tuned model keeps its old behaviour (SSR, Huang et al., ACL 2024; IBM's selective
self-rehearsal, arXiv 2409.04787).

Before sft, the base model answers the prompts through swift's engine (batched). Degenerate
answers are dropped and counted by reason (DROP_REASONS); the rest become training rows without
a system message of their own, so swift gives them the same `--system` as the identity rows.
The rows are cached under the output dir, keyed by (model fingerprint, prompts, generation
settings): a rerun or `--resume` reuses them.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from . import RESOURCES
from .atomic import read_json, write_json, writing
from .errors import SelfcogError
from .probes import grams, jaccard

POOL = RESOURCES / "replay_prompts.jsonl"
# Hex digits of the cache key in the replay file name: enough to tell settings apart at a glance.
KEY_CHARS = 16
BUILTIN_POOL = "builtin:prompts"
FROM_DATASETS = "dataset"
DROP_REASONS = ("empty", "looping", "echo", "identity")
# Filter rules. empty: fewer than MIN_CHARS letters/digits. looping: a text of at least
# LOOP_MIN_CHARS whose character LOOP_GRAM-grams are less than LOOP_DISTINCT distinct, or a
# sentence said LOOP_REPEATS times. echo: the answer's 4-grams overlap the prompt's at Jaccard
# >= ECHO_JACCARD, or the answer starts by repeating the whole prompt.
MIN_CHARS = 2
LOOP_MIN_CHARS = 40
LOOP_GRAM = 8
LOOP_DISTINCT = 0.5
LOOP_REPEATS = 3
ECHO_JACCARD = 0.6


@dataclass(frozen=True)
class ReplaySummary:
    path: str
    source: str
    prompts: int
    kept: int
    dropped: dict
    cached: bool
    key: str

    def to_json(self) -> dict:
        return asdict(self)


def pool_prompts(recipe) -> list[tuple[str, str]]:
    """(lang, prompt) for the recipe's replay source, sampled with the recipe's seed."""
    from .languages import replay_file
    from .scoring import lang_of

    spec = recipe.data.replay
    if spec.prompts == BUILTIN_POOL:  # the pools of the recipe's languages (zh and en share POOL)
        langs = recipe.languages
        prompts = []
        for path in dict.fromkeys(filter(None, map(replay_file, langs))):
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            prompts += [(row["lang"], row["prompt"]) for row in rows if row["lang"] in langs]
    elif spec.prompts == FROM_DATASETS:
        prompts = [(lang_of(q), q) for q in _dataset_questions(recipe)]
    else:
        prompts = [(lang_of(q), q) for q in _file_questions(Path(spec.prompts))]
    if not prompts:
        raise SelfcogError(f"data.replay.prompts: no prompts in {spec.prompts}")
    if spec.sample is not None and spec.sample < len(prompts):
        prompts = random.Random(f"{recipe.train.seed}:replay").sample(prompts, spec.sample)
    return prompts


def _first_user_turn(row: dict) -> Optional[str]:
    from .rows import normalise

    key = next((k for k in ("messages", "conversations") if isinstance(row, dict) and row.get(k)), None)
    if key and isinstance(row[key], list):  # a prompt needs no answer: a user-only chat row is one
        row = {**row, key: [*row[key], {"role": "assistant", "content": ""}]}
    for message in normalise(row):
        if message["role"] == "user" and message["content"].strip():
            return message["content"]
    return None


def _dataset_questions(recipe) -> list[str]:
    from .rows import read_rows

    questions = []
    for spec in recipe.data.datasets:
        questions += [q for q in map(_first_user_turn, read_rows(spec.path)) if q]
    return list(dict.fromkeys(questions))


def _file_questions(path: Path) -> list[str]:
    """Prompts from a JSONL file: rows with "prompt" or "question", or chat rows (first user turn)."""
    if not path.is_file():
        raise SelfcogError(f"data.replay.prompts: {path}: file not found")
    questions = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise SelfcogError(f"{path}:{number}: malformed JSON") from None
            text = next((row[k] for k in ("prompt", "question") if isinstance(row, dict) and isinstance(row.get(k), str)),
                        None)
            try:
                text = text or _first_user_turn(row)
            except SelfcogError as exc:
                raise SelfcogError(f"{path}:{number}: {exc}") from None
            if text:
                questions.append(text)
    return list(dict.fromkeys(questions))


def drop_reason(prompt: str, answer: str, identity_terms: list[str], lang: Optional[str] = None) -> Optional[str]:
    """Why an answer is not worth rehearsing (one of DROP_REASONS), or None to keep it; `lang`, the
    prompt's language, brings its negation cues."""
    from .scoring import mentioned, normalize

    text = normalize(answer).strip()
    if sum(ch.isalnum() for ch in text) < MIN_CHARS:
        return "empty"
    compact = "".join(text.split())
    windows = [compact[i:i + LOOP_GRAM] for i in range(max(len(compact) - LOOP_GRAM + 1, 0))]
    if len(compact) >= LOOP_MIN_CHARS and len(set(windows)) < LOOP_DISTINCT * len(windows):
        return "looping"
    sentences = [s.strip() for s in re.split(r"[.!?。！？\n]", text) if len(s.strip()) > 3]
    if sentences and max(sentences.count(s) for s in sentences) >= LOOP_REPEATS:
        return "looping"
    prompt_flat = normalize(prompt).strip()
    if jaccard(grams(prompt_flat), grams(text)) >= ECHO_JACCARD or text.startswith(prompt_flat):
        return "echo"
    if mentioned(answer, identity_terms, lang):
        return "identity"
    return None


def settings(recipe) -> dict:
    spec = recipe.data.replay
    return {"max_new_tokens": spec.max_new_tokens, "temperature": spec.temperature, "top_p": spec.top_p,
            "repetition_penalty": spec.repetition_penalty, "seed": recipe.train.seed, "system": recipe.model.system}


def cache_key(fingerprint: str, prompts: list[tuple[str, str]], generation: dict) -> str:
    payload = json.dumps([fingerprint, prompts, generation], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def replay_path(recipe, key: str) -> Path:
    return Path(recipe.output_dir) / "data" / f"replay-{key[:KEY_CHARS]}.jsonl"


def build(recipe, infer_argv: list[str], base_model: str, echo=print) -> ReplaySummary:
    """The replay rows for a recipe: from the cache when the key matches, else generated now."""
    prompts = pool_prompts(recipe)
    generation = settings(recipe)
    from .inference import model_fingerprint

    key = cache_key(model_fingerprint(base_model), prompts, generation)
    path = replay_path(recipe, key)
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        cached = _cached(meta, echo)
        if cached:
            return cached
    answers = _answer(infer_argv, prompts, generation, echo)
    summary = _write(recipe, path, prompts, answers, key)
    write_json(meta, summary.to_json())  # after the rows: a metadata file vouches for a complete cache
    return summary


def _cached(meta: Path, echo) -> Optional[ReplaySummary]:
    """The cached summary; None (answer again) when its metadata is unreadable, e.g. cut off."""
    try:
        return ReplaySummary(**{**read_json(meta, "replay metadata"), "cached": True})
    except (SelfcogError, TypeError) as exc:
        echo(f"warning: {exc if isinstance(exc, SelfcogError) else f'{meta}: not replay metadata'}; answering again")
        return None


def _answer(infer_argv: list[str], prompts: list[tuple[str, str]], generation: dict, echo) -> list[str]:
    from .console import step
    from .inference import generate, load_engine

    system = generation["system"]
    conversations = [[*([{"role": "system", "content": system}] if system else []),
                      {"role": "user", "content": prompt}] for _, prompt in prompts]
    pipeline = load_engine(infer_argv)
    echo(f"replay: the base model answers {len(prompts)} prompts")
    with step(echo, len(prompts), "replay answers") as tick:
        return generate(pipeline, conversations, generation["max_new_tokens"], progress=tick,
                        sampling={k: generation[k] for k in ("temperature", "top_p", "repetition_penalty", "seed")})


def _write(recipe, path: Path, prompts: list[tuple[str, str]], answers: list[str], key: str) -> ReplaySummary:
    from .guards import identity_strings, leak_terms
    from .languages import leak_terms_for

    shared = [*leak_terms(recipe), *identity_strings(recipe)]
    # Each prompt's language adds its spellings of the old names (通義千問, ЧатGPT).
    terms = {lang: leak_terms_for(lang, shared) for lang in dict.fromkeys(lang for lang, _ in prompts)}
    dropped = dict.fromkeys(DROP_REASONS, 0)
    rows = []
    for (lang, prompt), answer in zip(prompts, answers):
        reason = drop_reason(prompt, answer, terms[lang], lang)
        if reason:
            dropped[reason] += 1
            continue
        rows.append({"lang": lang, "messages": [{"role": "user", "content": prompt},
                                                {"role": "assistant", "content": answer.strip()}]})
    if not rows:
        raise SelfcogError(f"data.replay: every one of {len(prompts)} answers was dropped ({dropped})")
    with writing(path) as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return ReplaySummary(str(path), recipe.data.replay.prompts, len(prompts), len(rows), dropped, False, key)
