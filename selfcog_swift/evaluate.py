"""A tuned model against its base: answers to the held-out suites, their rates per suite and
language, retention (drift, real-text perplexity, exact answers), the gate, and the checkpoint
choice, which reads swift's validation split only.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Optional, Sequence

from . import scoring
from .probes import IDENTITY_SUITES, Probe
from .retention import change, perplexity_change, real_text, real_text_missing

# Checkpoint choice: at most this many identity and this many general validation questions.
VALIDATION_LIMIT = 16


def _single(question: str, system: Optional[str]) -> list[dict]:
    return [*([{"role": "system", "content": system}] if system else []), {"role": "user", "content": question}]


def examine(infer_argv: list[str], questions: Sequence[str], probes: Sequence[Probe], system: Optional[str],
            max_new_tokens: int, drift_answers: Optional[Sequence[str]] = None, with_real_text: bool = True,
            echo=None) -> dict:
    """Load a model once: answers to the display questions and the probes, the NLL of the base
    model's answers to the general probes (its own answers when `drift_answers` is None), and the
    NLL of public real text per language. A Console as `echo` gets a progress bar per step."""
    from .console import step
    from .inference import generate, load_engine
    from .retention import answer_nll, text_nll, text_windows

    pipeline = load_engine(infer_argv)
    conversations = [_single(q, system) for q in questions] + [p.conversation(system) for p in probes]
    with step(echo, len(conversations), "answers") as tick:
        answers = generate(pipeline, conversations, max_new_tokens, progress=tick)
    probe_answers = answers[len(questions):]
    langs = list(dict.fromkeys(p.lang for p in probes))
    targets = probe_answers if drift_answers is None else drift_answers
    items = [(p.lang, p.conversation(system), a) for p, a in zip(probes, targets) if p.suite == "general" and a.strip()]
    with step(echo, len(items), "drift NLL") as tick:
        values = answer_nll(pipeline, [(c, a) for _, c, a in items], tick)
    drift = {lang: _mean([v for (lg, _, _), v in zip(items, values) if lg == lang and v is not None]) for lang in langs}
    real = {}
    for lang in langs if with_real_text else ():
        windows = text_windows(pipeline.template.tokenizer, real_text(lang))
        with step(echo, len(windows), f"real-text NLL {lang}") as tick:
            real[lang] = text_nll(pipeline, windows, progress=tick).mean
    del pipeline
    gc.collect()
    return {"questions": answers[:len(questions)], "probes": probe_answers, "drift_nll": drift,
            "real_text_nll": real}


def base_answers(model: str, infer_argv: list[str], questions: Sequence[str], probes: Sequence[Probe],
                 system: Optional[str], max_new_tokens: int, echo=None) -> tuple[dict, bool]:
    """`examine` of a base model, cached across runs keyed by (model fingerprint, the infer argv,
    questions, probes, system prompt, answer length, real-text spec, library versions): the base
    never changes, so its answers and NLLs are computed once. Returns (result, from_cache)."""
    import hashlib

    from .inference import model_fingerprint
    from .models import cache_root, package_versions
    from .retention import REAL_TEXT

    parts = [model_fingerprint(model), infer_argv, list(questions), [repr(p) for p in probes], system, max_new_tokens,
             REAL_TEXT.read_text(encoding="utf-8"), package_versions(("ms-swift", "torch", "transformers"))]
    key = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()
    path = cache_root() / "base-answers" / f"{key}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8")), True
    result = examine(infer_argv, questions, probes, system, max_new_tokens, echo=echo)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return result, False


def _mean(values: Sequence[float]) -> Optional[float]:
    return round(sum(values) / len(values), 4) if values else None


def side_scores(probes: Sequence[Probe], answers: Sequence[str], names: Sequence[str], authors: Sequence[str],
                leak: Sequence[str], langs: Optional[Sequence[str]] = None) -> dict:
    """One model's rates: {"suites": {suite: {lang: {measure: rate}}}, "languages": {lang: {measure: rate}}}.

    identity and leak come from the identity suites, overreach and exact from the general suite. Each
    answer is scored in its probe's language: that language's negation cues, and the leak terms plus
    its own spellings of them (languages.leak_terms_for). `langs`: the languages reported (default:
    the probes', in order).
    """
    from .languages import leak_terms_for

    own = " ".join([*names, *authors]).lower()
    leak_by_lang = {lang: [t for t in leak_terms_for(lang, leak) if t.lower() not in own]
                    for lang in dict.fromkeys(p.lang for p in probes)}
    flags: dict[tuple[str, str, str], list[bool]] = {}
    for probe, answer in zip(probes, answers):
        if probe.suite in IDENTITY_SUITES:
            outcomes = {"identity": scoring.identity_hit(answer, probe.asks, names, authors, probe.lang),
                        "leak": bool(scoring.mentioned(answer, leak_by_lang[probe.lang], probe.lang))}
        else:
            outcomes = {"overreach": bool(scoring.mentioned(answer, [*names, *authors], probe.lang))}
            if probe.expect:
                outcomes["exact"] = scoring.expected_found(answer, probe.expect)
        for measure, ok in outcomes.items():
            flags.setdefault((probe.suite, probe.lang, measure), []).append(ok)
    suites: dict = {}
    langs = list(langs or dict.fromkeys(p.lang for p in probes))
    languages: dict = {lang: {} for lang in langs}
    for (suite, lang, measure), outcome in flags.items():
        suites.setdefault(suite, {}).setdefault(lang, {})[measure] = scoring.rate(outcome)
    for lang in langs:
        for measure in ("identity", "leak", "overreach", "exact"):
            pooled = [ok for (s, lg, m), outcome in flags.items() if lg == lang and m == measure for ok in outcome]
            languages[lang][measure] = scoring.rate(pooled)
    return {"suites": suites, "languages": languages}


def identity_forms(recipe) -> tuple[list[str], list[str]]:
    """The new name's forms and the author's, every language of the recipe (an answer may name either)."""
    ident = recipe.identity
    return list(dict.fromkeys(ident.name.forms().values())), list(dict.fromkeys(ident.author.forms().values()))


def compare(recipe, probes: Sequence[Probe], before: dict, after: dict, template_text: str = "") -> dict:
    """The scored comparison `eval --json` prints (its keys: docs/evaluation.md)."""
    from .guards import leak_terms

    names, authors = identity_forms(recipe)
    own = [a for p, a in zip(probes, before["probes"]) if p.suite in IDENTITY_SUITES]
    leak = leak_terms(recipe, scoring.previous_identities(own, template_text))
    drift, real = {}, {}
    for lang in recipe.languages:
        base, tuned = before["drift_nll"].get(lang), after["drift_nll"].get(lang)
        drift[lang] = {"nll_base": base, "nll_tuned": tuned,
                       "change": None if base is None or tuned is None else round(tuned - base, 4),
                       "relative": change(base, tuned)}
        old, new = before.get("real_text_nll", {}).get(lang), after.get("real_text_nll", {}).get(lang)
        real[lang] = {"nll_before": _round(old), "nll_after": _round(new), "perplexity_change": perplexity_change(old, new)}
    return {
        "after": side_scores(probes, after["probes"], names, authors, leak, recipe.languages),
        "before": side_scores(probes, before["probes"], names, authors, leak, recipe.languages),
        "retention": {"drift": drift, "real_text": real},
        "leak_terms": leak,
        "answers": [{"id": p.id, "suite": p.suite, "lang": p.lang, "asks": p.asks, "question": p.question,
                     "before": b, "after": a} for p, b, a in zip(probes, before["probes"], after["probes"])],
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)


def gate(recipe, result: dict) -> list[str]:
    """Why a run fails its recipe's bar, one line per language and measure (empty when it passes)."""
    from .recipe import threshold

    bar = recipe.evaluate
    failures = []
    for lang in recipe.languages:
        rates = result["after"]["languages"][lang]
        probes = (f"the probes have no {lang} {{}} questions; add some to the probe file "
                  "(evaluate.probes, eval --probes)")
        checks = [("identity rate", (rates["identity"] or {}).get("rate"), bar.min_identity_rate, "below",
                   probes.format("identity")),
                  ("leak rate", (rates["leak"] or {}).get("rate"), bar.max_leak_rate, "above",
                   probes.format("identity")),
                  ("overreach rate", (rates["overreach"] or {}).get("rate"), bar.max_overreach_rate, "above",
                   probes.format("general")),
                  ("drift", result["retention"]["drift"][lang]["relative"], bar.max_drift, "above",
                   f"no {lang} general probe has a non-empty base answer to score; add {lang} general probes"),
                  ("real-text perplexity change", result["retention"]["real_text"][lang]["perplexity_change"],
                   bar.max_perplexity_increase, "above", _real_text_unmeasured(lang))]
        for measure, value, limit, side, missing in checks:
            bound = threshold(limit, lang)
            if bound is None:  # null in a per-language bound: this language is not bounded
                continue
            # Fail closed: a bound with nothing to check is not a pass.
            if value is None:
                failures.append(f"{lang}: {measure} is missing (the recipe bounds it at {bound:.2f}): {missing}")
            elif value < bound if side == "below" else value > bound:
                failures.append(f"{lang}: {measure} {value:.2f} is {side} the recipe's {bound:.2f}")
    return failures


def _real_text_unmeasured(lang: str) -> str:
    """Why a language has no real-text measure, and what to do."""
    from .retention import REAL_TEXT

    reason = real_text_missing(lang) or f"no {lang} real-text NLL was measured before and after"
    if lang not in json.loads(REAL_TEXT.read_text(encoding="utf-8"))["languages"]:
        reason += f"; to leave {lang} unbounded, give evaluate.max_perplexity_increase per language with {lang}: null"
    return reason


def checkpoint_rank(score: dict) -> tuple:
    """How choose_by_identity orders scored checkpoints (the highest wins): identity rate minus
    overreach rate, then the lower validation NLL, a missing NLL last, then the later step."""
    nll = score["nll"]
    return (score["identity_rate"] - score["overreach_rate"], -nll if nll is not None else float("-inf"),
            score["order"])


# --------------------------------------------------------------------------- checkpoint choice


def validation_probes(recipe, run_dir: Path) -> tuple[list[Probe], list[tuple[list[dict], str]]]:
    """Single-turn questions of swift's validation split (never the held-out suites): identity rows
    (the answer names the model) ask both, the others nothing; plus the general rows' (conversation,
    reference answer) pairs for the retention tie-break."""
    path = run_dir / "val_dataset.jsonl"
    if not path.is_file():
        return [], []
    names, _ = identity_forms(recipe)
    identity, general, references = [], [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            # swift stores each message of its validation split as a JSON string.
            messages = [json.loads(m) if isinstance(m, str) else m for m in json.loads(line).get("messages", [])]
            turns = [m for m in messages if m.get("role") != "system"]
            if len(turns) != 2 or turns[0]["role"] != "user":
                continue
            question, answer = turns[0]["content"], turns[1]["content"]
            lang = scoring.lang_of(question)
            if any(scoring.mentions(answer, n) for n in names):
                identity.append(Probe(question, lang, "both", "direct"))
            else:
                general.append(Probe(question, lang, "none", "general"))
                references.append((_single(question, recipe.model.system), answer))
    return identity[:VALIDATION_LIMIT] + general[:VALIDATION_LIMIT], references[:VALIDATION_LIMIT]


def choose_by_identity(recipe, run_dir: Path, argv_for, echo=None) -> tuple[list[dict], Optional[dict]]:
    """Score every saved checkpoint; the rule: highest identity rate minus overreach rate on the
    validation split's questions, then the lowest NLL of its general reference answers, then the
    later step.

    Returns:
        (scores per checkpoint, the choice as {"path", "reason", "source"}; None when nothing to score).
    """
    from .checkpoints import list_checkpoints

    probes, references = validation_probes(recipe, run_dir)
    found = list_checkpoints(run_dir)
    if not any(p.asks == "both" for p in probes) or not found:
        return [], None
    from .console import step
    from .inference import generate, load_engine, swap_adapter
    from .retention import answer_nll

    names, authors = identity_forms(recipe)
    scored, pipeline = [], None
    for order, checkpoint in enumerate(found):
        # One base load for all checkpoints: later ones only swap in their LoRA weights.
        if pipeline is None or not swap_adapter(pipeline, str(checkpoint)):
            pipeline = None
            gc.collect()
            pipeline = load_engine(argv_for(checkpoint))
        with step(echo, len(probes) + len(references), f"choose: {Path(checkpoint).name}") as tick:
            answers = generate(pipeline, [p.conversation(recipe.model.system) for p in probes],
                               recipe.evaluate.max_new_tokens, progress=tick)
            nll = _mean([v for v in answer_nll(pipeline, references, tick) if v is not None])
        rates = side_scores(probes, answers, names, authors, [])
        identity = scoring.rate([scoring.identity_hit(a, p.asks, names, authors)
                                 for p, a in zip(probes, answers) if p.asks != "none"])
        overreach = scoring.rate([bool(scoring.mentioned(a, [*names, *authors]))
                                  for p, a in zip(probes, answers) if p.asks == "none"])
        scored.append({"path": str(checkpoint), "step": int(Path(checkpoint).name.rsplit("-", 1)[-1]),
                       "identity_rate": identity["rate"],
                       "overreach_rate": overreach["rate"] if overreach else 0.0,
                       "nll": nll, "order": order, "languages": rates["languages"]})
    del pipeline
    gc.collect()
    best = max(scored, key=checkpoint_rank)
    counts = f"{sum(p.asks == 'both' for p in probes)} identity and {sum(p.asks == 'none' for p in probes)} general"
    reason = (f"best identity rate minus overreach ({best['identity_rate']:.2f} - {best['overreach_rate']:.2f}) on "
              f"{counts} validation questions, validation reference NLL {best['nll']} (of {len(scored)} checkpoints: "
              + ", ".join(f"{Path(s['path']).name} {s['identity_rate']:.2f}/{s['overreach_rate']:.2f}/{s['nll']}"
                          for s in scored) + ")")
    return scored, {"path": best["path"], "reason": reason, "source": "identity"}
