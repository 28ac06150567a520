"""Fill the identity rows and mix them with the recipe's datasets and replay rows into one JSONL
file: exact counts, shuffled (or in batches of similar length), reproducible byte for byte from
the seed.

No torch, no swift: the CLI imports this for `selfcog-swift data`. Memory stays bounded whatever
the input size: each input is a `rows.RowFile` (8 bytes of offset a row), the draw keeps row
indices only, and rows are written by seeking to them one at a time. Output rows are
`{"messages": [...]}` (plus the source's `channel` with tuning.hold_base), UTF-8, one per line.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

from . import RESOURCES
from .atomic import writing
from .errors import SelfcogError
from .languages import builtin_identity
from .rows import RowError, RowFile, normalise, resolve_path
from .scoring import HAN_RANGES, RATE_DIGITS, lang_of

BUILTIN_IDENTITY = "self-cognition (builtin)"
# Token estimate: Han characters plus CJK and full-width punctuation are about one token each in
# common tokenizers; any other character about a quarter of one.
_ONE_TOKEN_CHARS = re.compile(f"[{HAN_RANGES}\u3000-\u303f\uff00-\uffef]")
CHARS_PER_TOKEN = 4
# Hex digits of the mix's sha256 shown in the summary table: enough to tell two mixes apart.
SHORT_SHA = 12
# Leftover template syntax: swift would train the model to say "{{NAME}}" literally (issue #2534).
_PLACEHOLDER = re.compile(r"\{\{|\}\}|<(?:MODEL_|BOT_)?(?:NAME|AUTHOR)>|\{(?:MODEL_)?(?:NAME|AUTHOR)\}")
# In other rows `{{` is ordinary text (Jinja, Vue, Go templates); only the identity placeholders are leftovers.
_NAMED_PLACEHOLDER = re.compile(r"\{\{\s*(?:MODEL_|BOT_)?(?:NAME|AUTHOR)\s*\}\}|<(?:MODEL_|BOT_)?(?:NAME|AUTHOR)>")


# --------------------------------------------------------------------------- sampling


def _choose(total: int, k: int, rng: random.Random) -> array:
    """`k` distinct indices of range(total), uniformly, ascending.

    Knuth's selection sampling keeps O(1) memory beyond the result: `random.sample(range(n), k)`
    builds a list of all n ints once k is a sizeable share of n (hundreds of MB for 5M rows).
    """
    chosen = array("q")
    for index in range(total):
        if len(chosen) == k:
            break
        if rng.random() * (total - index) < k - len(chosen):
            chosen.append(index)
    return chosen


def draw(total: int, requested: Optional[int], rng: random.Random) -> Iterator[int]:
    """Row indices for an exact count, as swift's `path#N`: all rows for None; N <= total: N
    distinct rows; N > total: N // total whole copies, then the remainder sampled."""
    copies, rest = (1, 0) if requested is None else divmod(requested, total)
    for _ in range(copies):
        yield from range(total)
    yield from _choose(total, rest, rng)


# --------------------------------------------------------------------------- identity


def fill_identity(text: str, lang: str, identity) -> str:
    """Replace `{{NAME}}`/`{{AUTHOR}}` with the identity's forms in the row's language.

    Args:
        text: A message with placeholders.
        lang: The row's language code: which form of the name and author to use.
        identity: The recipe's `identity` section (`name` and `author`, one form per language).
    """
    if not isinstance(lang, str):
        raise RowError(f"lang must be a language code, got {lang!r}")
    name, author = identity.name.forms().get(lang), identity.author.forms().get(lang)
    if name is None or author is None:
        raise RowError(f"a {lang} row, but identity.name has no {lang}; add identity.name.{lang} and "
                       f"identity.author.{lang}, or drop the row")
    return text.replace("{{NAME}}", name).replace("{{AUTHOR}}", author)


def _row_lang(row: dict, messages: list[dict]) -> str:
    if "lang" in row:
        return row["lang"]
    # No lang given: a Chinese question gets the Chinese name.
    user = next((m["content"] for m in messages if m["role"] == "user"), "")
    return lang_of(user)


def uses_hub_identity(recipe) -> bool:
    """True when identity rows come from swift's hub dataset `swift/self-cognition#N` at train time
    (filled by swift's --model_name/--model_author), so `mix` writes none itself."""
    return recipe.data.source == "swift" and recipe.data.self_cognition > 0


# --------------------------------------------------------------------------- mixing


@dataclass(frozen=True)
class SourceCount:
    name: str
    requested: int
    written: int
    rows_available: int


@dataclass(frozen=True)
class MixSummary:
    path: str
    sources: tuple[SourceCount, ...]
    total: int
    identity_rows: int
    identity_ratio: float
    est_tokens: int
    sha256: str
    hub_identity: int = 0  # rows swift adds at train time from swift/self-cognition, not in the file
    identity_languages: dict = field(default_factory=dict)  # identity rows written per language

    def to_json(self) -> dict:
        """The summary as plain JSON (kept in the run manifest)."""
        return {"sources": [{"name": s.name, "requested": s.requested, "written": s.written} for s in self.sources],
                "total": self.total, "identity_ratio": self.identity_ratio, "path": self.path,
                "sha256": self.sha256, "est_tokens": self.est_tokens, "identity_languages": self.identity_languages}

    def table(self) -> str:
        """A human summary: requested vs written per source, identity share and estimated tokens."""
        width = max([len("source")] + [len(s.name) for s in self.sources])
        lines = [f"data -> {self.path}  ({self.total} rows, sha256 {self.sha256[:SHORT_SHA]})",
                 f"  {'source':<{width}}  {'requested':>9}  {'written':>8}  {'available':>9}"]
        lines += [f"  {s.name:<{width}}  {s.requested:>9}  {s.written:>8}  {s.rows_available:>9}" for s in self.sources]
        lines.append(f"  identity share {self.identity_ratio:.1%} ({self.identity_rows} of {self.total} rows); "
                     f"~{self.est_tokens:,} tokens (estimate: CJK char = 1, other chars / {CHARS_PER_TOKEN})")
        if self.identity_languages:
            lines.append("  identity rows per language: " + ", ".join(f"{lang} {count}" for lang, count in
                                                                     self.identity_languages.items()))
        if self.hub_identity:
            lines.append(f"  + swift/self-cognition#{self.hub_identity} from the hub, filled and loaded by swift")
        return "\n".join(lines)


class _Source(RowFile):
    """One input of the mix: its rows, the count the recipe asks for, and how many were written."""

    def __init__(self, name: str, path: Path, requested: Optional[int], is_identity: bool):
        super().__init__(path)
        self.name, self.requested, self.is_identity, self.written = name, requested, is_identity, 0
        self.channel: Optional[str] = None  # written on each row when tuning.hold_base is on


def _plans(recipe, replay_file: Optional[Path] = None,
           folder: Optional[Path] = None) -> list[tuple[str, Path, Optional[int], bool]]:
    """(name, path, requested, is_identity) per source, with counts checked; `folder` takes the
    built-in identity rows of languages beyond zh and en."""
    d, plans = recipe.data, []
    if d.self_cognition < 0:
        raise SelfcogError(f"data.self_cognition: must be >= 0, got {d.self_cognition}")
    if d.source == "swift" and d.identity_file:
        raise SelfcogError("data.identity_file: only used with data.source: builtin (swift's hub set has its own)")
    if d.source == "builtin" and d.self_cognition:
        name = d.identity_file or BUILTIN_IDENTITY
        path = resolve_path(d.identity_file) if d.identity_file else builtin_identity(recipe.languages, folder)
        plans.append((name, path, d.self_cognition, True))
    for index, spec in enumerate(d.datasets):
        if spec.sample is not None and spec.sample < 0:
            raise SelfcogError(f"data.datasets[{index}].sample: must be >= 0, got {spec.sample}")
        plans.append((spec.path, resolve_path(spec.path), spec.sample, False))
    if replay_file is not None:  # every kept answer of the base model (replay.py)
        plans.append((f"replay ({d.replay.prompts})", Path(replay_file), None, False))
    if not plans and not uses_hub_identity(recipe):
        raise SelfcogError("data: nothing to mix: data.self_cognition is 0 and data.datasets is empty")
    return plans


def _estimate_tokens(messages: list[dict]) -> float:
    text = "".join(m["content"] for m in messages)
    whole = len(_ONE_TOKEN_CHARS.findall(text))
    return whole + (len(text) - whole) / CHARS_PER_TOKEN


def filled(row, is_identity: bool, identity) -> list[dict]:
    """A row's messages as written: normalised, identity rows with the name and author filled in."""
    messages = normalise(row)
    if is_identity:
        lang = _row_lang(row, messages)
        messages = [{**m, "content": fill_identity(m["content"], lang, identity)} for m in messages]
    return messages


class _Writer:
    """Writes rows, checks them, and keeps the counts the summary reports."""

    def __init__(self, handle, identity):
        self.handle, self.identity = handle, identity
        self.digest, self.tokens = hashlib.sha256(), 0.0
        self.langs_drawn: dict[str, int] = {}  # identity rows written per language
        self.langs_named: set[str] = set()

    def write(self, row, is_identity: bool, channel: Optional[str] = None) -> None:
        messages = filled(row, is_identity, self.identity)
        if is_identity:
            self._note_identity(_row_lang(row, messages), messages)
        for message in messages:
            leftover = (_PLACEHOLDER if is_identity else _NAMED_PLACEHOLDER).search(message["content"])
            if leftover:
                raise RowError(f"leftover placeholder {leftover.group(0)!r} would be learned literally")
        out = {"messages": messages, "channel": channel} if channel else {"messages": messages}
        line = (json.dumps(out, ensure_ascii=False) + "\n").encode("utf-8")
        self.handle.write(line)
        self.digest.update(line)
        self.tokens += _estimate_tokens(messages)

    def _note_identity(self, lang: str, messages: list[dict]) -> None:
        self.langs_drawn[lang] = self.langs_drawn.get(lang, 0) + 1
        text = "".join(m["content"] for m in messages)
        if getattr(self.identity.name, lang) in text or getattr(self.identity.author, lang) in text:
            self.langs_named.add(lang)

    def check_names(self) -> None:
        # Identity rows that never say the name (hard-coded old identity, no placeholders) teach nothing.
        for lang in sorted(self.langs_drawn.keys() - self.langs_named):
            raise SelfcogError(f"identity: no {lang} identity row says {getattr(self.identity.name, lang)!r} or "
                               f"{getattr(self.identity.author, lang)!r}; do the rows use {{{{NAME}}}}/{{{{AUTHOR}}}}?")


def _keys(sources: list[_Source], seed: int) -> array:
    """Shuffled (row index * sources + source id) keys: ints only, 8 bytes per output row."""
    keys = array("q")
    for sid, source in enumerate(sources):
        # One generator per source, so adding a dataset does not change what the others draw.
        rng = random.Random(f"{seed}:{sid}:{source.name}")
        keys.extend(index * len(sources) + sid for index in draw(len(source), source.requested, rng))
    random.Random(f"{seed}:order").shuffle(keys)
    return keys


def batch_rows(recipe) -> int:
    """Rows in one optimizer micro-step across all processes: what one length bucket must hold."""
    launch = recipe.launch
    return recipe.train.batch_size * (launch.nproc_per_node or 1) * (launch.nnodes or 1)


def val_rows(total: int, share: float) -> int:
    """How many rows swift's --split_dataset_ratio takes for validation (swift's own formula)."""
    return max(int(total * share), 1) if share else 0


def token_counter(model: str) -> Optional[Callable[[str], int]]:
    """Tokens of a text under a local model folder's tokenizer.json (the `tokenizers` library, no
    torch); None when there is none (a hub id not yet downloaded): the character estimate is used."""
    path = Path(model) / "tokenizer.json"
    if not path.is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def _similar_length_order(keys: array, sources: list[_Source], recipe,
                          count_tokens: Optional[Callable[[str], int]]) -> array:
    """The shuffled keys re-ordered so each batch holds rows of similar length, batches in random
    order: swift pads a batch to its longest row, and random batches of short identity rows and
    long answers are mostly padding. (swift's own group_by_length sorts whole stretches of steps
    as well, so one kind of row comes in blocks of steps.) swift reads this order as written
    (render turns its shuffles off) and splits validation off the end, so the validation rows
    (drawn at random) go last."""
    held = val_rows(len(keys), recipe.data.val_split)
    train, tail = keys[:len(keys) - held], keys[len(keys) - held:]
    lengths = {}
    for key in train:
        index, sid = divmod(key, len(sources))
        source = sources[sid]
        try:
            messages = filled(source.raw(index), source.is_identity, recipe.identity)
        except RowError as exc:
            raise SelfcogError(f"{source.where(index)}: {exc}") from None
        lengths[key] = (sum(count_tokens(m["content"]) for m in messages) if count_tokens
                        else _estimate_tokens(messages))
    ordered = sorted(train, key=lengths.__getitem__)
    size = batch_rows(recipe)
    full = len(ordered) - len(ordered) % size
    batches = [ordered[start:start + size] for start in range(0, full, size)]
    random.Random(f"{recipe.train.seed}:batches").shuffle(batches)
    # A short batch stays last: anywhere else it would shift every later batch off its bucket.
    return array("q", [key for batch in batches for key in batch] + ordered[full:] + list(tail))


def mix(recipe, out_path: Union[str, Path], replay_file: Optional[Path] = None,
        count_tokens: Optional[Callable[[str], int]] = None) -> MixSummary:
    """Write identity rows (filled) and the recipe's datasets, exact counts, shuffled, to one JSONL.

    The file is written next to `out_path` and renamed into place only when every check passed,
    so a failure leaves no file there (and an earlier good file untouched). Only the rows drawn
    are parsed: a bad line that was not drawn is never read, as it never reaches training.

    Args:
        recipe: A validated recipe; `recipe.train.seed` makes the mix reproducible byte for byte.
        out_path: The JSONL to write.
        replay_file: The base model's answers to mix in whole (replay.build), if the recipe replays.
        count_tokens: The model's token count of a text, for train.batches: similar_length
            (token_counter); without it, an estimate from characters.

    Returns:
        Counts per source, identity share, estimated tokens and the file's sha256.

    Raises:
        SelfcogError: a missing, empty or malformed input (with `path:LINE`), a leftover placeholder,
            or identity rows that never name the new identity.
    """
    out_path = Path(out_path)
    # every count checked before any file is read
    sources = [_Source(*plan) for plan in _plans(recipe, replay_file, out_path.parent)]
    for source in sources:
        if source.is_identity and source.name != BUILTIN_IDENTITY:
            check_identity_languages(recipe, source)
    if recipe.tuning.hold_base:
        _mark_channels(sources, replay_file)
    try:
        keys = _keys(sources, recipe.train.seed)
        if recipe.train.batches == "similar_length":
            keys = _similar_length_order(keys, sources, recipe, count_tokens)
        with writing(out_path, "wb") as handle:  # a unique temp name, renamed once every check passed
            writer = _Writer(handle, recipe.identity)
            for key in keys:
                index, sid = divmod(key, len(sources))
                _write_one(writer, sources[sid], index)
            writer.check_names()
    finally:
        for source in sources:
            source.close()
    return _summary(out_path, sources, writer, recipe)


def check_identity_languages(recipe, rows: RowFile) -> None:
    """A language with no built-in rows needs rows in your own identity file (data.identity_file).

    Raises:
        SelfcogError: naming the first such language the file lacks, and what to add.
    """
    from .languages import builtin

    unshipped = [lang for lang in recipe.languages if lang not in builtin()]
    found = set()
    for index in range(len(rows) if unshipped else 0):
        try:
            row = rows.raw(index)
            found.add(_row_lang(row, normalise(row)))
        except RowError as exc:
            raise SelfcogError(f"{rows.where(index)}: {exc}") from None
    for lang in unshipped:
        if lang not in found:
            raise SelfcogError(f'data.identity_file: {rows.path} has no {lang} identity rows; add rows '
                               f'{{"lang": "{lang}", "messages": [...]}} whose answers name {{{{NAME}}}} and '
                               f"{{{{AUTHOR}}}}, or drop identity.name.{lang}")


def _mark_channels(sources: list[_Source], replay_file: Optional[Path]) -> None:
    """Each row says where it came from (swift's `channel` column, which reaches the trainer's
    inputs): the hold_base plugin adds its term on the channels the recipe chose."""
    from .plugins import CHANNELS

    for source in sources:
        replay = replay_file is not None and source.path == Path(replay_file)
        kind = "identity" if source.is_identity else "replay" if replay else "datasets"
        source.channel = CHANNELS[kind]


def _write_one(writer: _Writer, source: _Source, index: int) -> None:
    try:
        writer.write(source.raw(index), source.is_identity, source.channel)
    except RowError as exc:
        raise SelfcogError(f"{source.where(index)}: {exc}") from None
    source.written += 1


def _order(langs: list[str]):
    """Sort key: the recipe's languages in its order, then any other."""
    return lambda lang: (langs.index(lang) if lang in langs else len(langs), lang)


def _summary(out_path: Path, sources: list[_Source], writer: _Writer, recipe) -> MixSummary:
    counts = tuple(SourceCount(s.name, len(s) if s.requested is None else s.requested, s.written, len(s))
                   for s in sources)
    total = sum(s.written for s in sources)
    identity = sum(s.written for s in sources if s.is_identity)
    return MixSummary(path=str(out_path), sources=counts, total=total, identity_rows=identity,
                      identity_ratio=round(identity / total, RATE_DIGITS) if total else 0.0,
                      est_tokens=round(writer.tokens), sha256=writer.digest.hexdigest(),
                      hub_identity=recipe.data.self_cognition if uses_hub_identity(recipe) else 0,
                      identity_languages={lang: writer.langs_drawn[lang] for lang in
                                          sorted(writer.langs_drawn, key=_order(recipe.languages))})
