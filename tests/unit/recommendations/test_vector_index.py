"""The vector index on the demo model: the HNSW graphs (faiss, the real engine) find the exact
neighbours, the batch job's candidates through it are the exact scorer's, its bytes answer as
it does, and a small catalogue is searched exactly. Similar products blend likeness with shared
ingredient families and say why."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configuration.settings import SettingsError
from demo.business import Business, generate
from recommender import vector_index
from recommender.config import ann_exact_up_to
from recommender.features import user_tags
from recommender.hybrid import HybridModel, fit
from recommender.publishing import CANDIDATES, MemoryCandidates
from recommender.rule_stage import ListKind
from recommender.rules import RuleBook, Situation
from recommender.serving import Catalog
from recommender.signals import CustomerFacts
from recommender.similar import similar
from recommender.temporal import standardised
from recommender.vector_index import VectorIndex, build


@pytest.fixture(scope="module")
def business() -> Business:
    return generate(products=300, customers=800, seed=7)


@pytest.fixture(scope="module")
def model(business: Business) -> HybridModel:
    return fit(business.signals(), business.end)


@pytest.fixture(scope="module")
def graphs(model: HybridModel) -> VectorIndex:
    index = build(model, exact_up_to=0)
    assert not index.exact  # the HNSW graphs, not the exact fallback
    return index


def user_vector(model: HybridModel, facts: CustomerFacts) -> np.ndarray:
    vector, _ = model.embeddings.users(model.users.rows([(facts.customer_id, user_tags(facts))]))
    return np.asarray(vector[0], dtype=np.float32)


def model_order(model: HybridModel, user: np.ndarray) -> np.ndarray:
    """The order `HybridModel.scores` ranks by, without recent behaviour: the customer's scores
    standardised plus the trend when the model has one."""
    raw = model.item_vectors @ user + model.item_bias
    if len(model.trend) != len(raw):
        return np.asarray(raw)
    assert model.trend.any()  # the demo model blends a trend: the graph must order by it
    return np.asarray(standardised(raw) + model.trend)


def test_the_graphs_recall_at_least_95_percent_of_the_exact_top_10(
    business: Business, model: HybridModel, graphs: VectorIndex
) -> None:
    signals = business.signals()
    found = wanted = 0
    for customer_id in sorted(model.users.ids)[:300]:
        user = user_vector(model, signals.customers[customer_id])
        exact = np.argsort(-model_order(model, user))[:10]
        found += len({n.at for n in graphs.best_for(user, 10)} & set(exact.tolist()))
        wanted += 10
    unit = model.item_vectors / np.linalg.norm(model.item_vectors, axis=1, keepdims=True)
    for at, code in enumerate(model.product_codes):
        cosine = unit @ unit[at]
        cosine[at] = -np.inf
        exact = np.argsort(-cosine)[:10]
        found += len({n.at for n in graphs.like(code, 10)} & set(exact.tolist()))
        wanted += 10
    assert found / wanted >= 0.95, found / wanted


def test_published_candidates_through_the_index_are_the_exact_scorers_top_10(
    business: Business, model: HybridModel, graphs: VectorIndex
) -> None:
    signals = business.signals()
    memory = MemoryCandidates(model, signals, "v", graphs)
    same = compared = 0
    for customer_id, facts in sorted(signals.customers.items())[:400]:
        entry = memory.customer(customer_id)
        if entry is None:
            continue
        scores = model.scores(facts)  # every product scored, as before the index
        exact = {model.product_codes[i] for i in np.argsort(-scores)[:10]}
        same += len({code for code, _ in entry["candidates"][:10]} & exact)
        compared += 10
        assert len(entry["candidates"]) == CANDIDATES
    assert compared > 1000
    assert same / compared >= 0.95, same / compared


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    intent=st.dictionaries(st.integers(0, 299), st.floats(0.05, 3.0), max_size=4),
)
def test_candidate_scores_are_standardised_over_the_whole_catalogue(
    seed: int, intent: dict[int, float]
) -> None:
    """The moments give the mean and spread every product's score would have, so a
    candidate's published score is what scoring every product gives, intent included."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    bias = rng.standard_normal(300).astype(np.float32)
    index = VectorIndex([f"P{n}" for n in range(300)], vectors, bias, {}, np.zeros((0, 8)))
    user = rng.standard_normal(8).astype(np.float32)
    scores = (vectors @ user + bias).astype(np.float64)
    spread = scores.std()
    for at, weight in intent.items():
        scores[at] += spread * 3.0 * min(weight, 1.0)
    standard = (scores - scores.mean()) / scores.std()
    for code, score in index.candidates(user, 20, intent, 3.0):
        assert score == pytest.approx(standard[int(code[1:])], abs=2e-3)
    best = [c for c, _ in index.candidates(user, 20, intent, 3.0)]
    assert best == [f"P{n}" for n in np.argsort(-standard, kind="stable")[:20]]


def test_the_index_answers_the_same_from_its_bytes(model: HybridModel, graphs: VectorIndex) -> None:
    loaded = VectorIndex.from_bytes(graphs.to_bytes())
    assert not loaded.exact
    user = user_vector(model, CustomerFacts("new", "oily", ("acne",), personalisation=True))
    assert loaded.best_for(user, 50) == graphs.best_for(user, 50)
    code = model.product_codes[17]
    assert loaded.like(code, 20) == graphs.like(code, 20)
    tags = ["skin:oily", "concern:acne", "concern:unheard-of"]
    assert np.array_equal(loaded.profile_vector(tags), graphs.profile_vector(tags))  # type: ignore[arg-type]


def test_a_small_catalogue_is_searched_exactly(model: HybridModel, graphs: VectorIndex) -> None:
    exact = build(model, exact_up_to=len(model.product_codes))
    assert exact.exact and VectorIndex.from_bytes(exact.to_bytes()).exact
    user = user_vector(model, CustomerFacts("new", "dry", personalisation=True))
    scores = model_order(model, user)
    assert [n.at for n in exact.best_for(user, 10)] == np.argsort(-scores)[:10].tolist()
    # the graph is approximate: at least 9 of the exact top 10 (recall is measured above)
    found = {n.at for n in exact.best_for(user, 10)} & {n.at for n in graphs.best_for(user, 10)}
    assert len(found) >= 9


def test_a_newcomers_profile_vector_is_the_one_the_model_scores_them_with(
    model: HybridModel, graphs: VectorIndex
) -> None:
    facts = CustomerFacts("never-seen", "combination", ("pores", "dullness"), personalisation=True)
    from_tags = graphs.profile_vector(user_tags(facts))
    assert from_tags is not None
    assert np.allclose(from_tags, user_vector(model, facts), atol=1e-6)
    assert graphs.profile_vector(["skin:martian"]) is None


@pytest.mark.parametrize(("raw", "expected"), [("", 128), ("0", 0), ("5000", 5000)])
def test_the_exact_search_threshold_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: int
) -> None:
    monkeypatch.setenv("GLOW_RECOMMENDER_ANN_EXACT_UP_TO", raw)
    assert ann_exact_up_to() == expected


@pytest.mark.parametrize("raw", ["-1", "many", "2000000", "\uff11\uff12"])
def test_a_bad_exact_search_threshold_is_refused_saying_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("GLOW_RECOMMENDER_ANN_EXACT_UP_TO", raw)
    with pytest.raises(SettingsError, match="whole number of products from 0 to 1,000,000"):
        ann_exact_up_to()


def test_similar_products_share_families_and_say_so_and_when_they_cost_less(
    business: Business, model: HybridModel, graphs: VectorIndex
) -> None:
    signals = business.signals()
    code = next(c for c, p in business.products.items() if p.facts.category == "serum")
    prices = {c: [["100.00", "EUR", "50ML"]] for c in signals.products}
    cheaper = sorted(signals.products)[0:300:3]
    prices |= {c: [["10.00", "EUR", "50ML"]] for c in cheaper if c != code}
    catalog = Catalog("v", RuleBook(signals.products), {}, graphs, prices)
    result = similar(code, CustomerFacts(""), catalog, Situation(), limit=20)
    assert result.kind is ListKind.SIMILAR and len(result.suggestions) == 20
    name = business.products[code].facts.name
    profiles = catalog.rules.profiles
    for s in result.suggestions:
        assert s.product_code != code
        assert f"similar to {name}" in s.reasons
        shared = set(profiles[code].families) & set(profiles[s.product_code].families)
        said = [r for r in s.reasons if r.startswith("shares ")]
        assert bool(said) == bool(shared)
        cheap = [r for r in s.reasons if r.startswith("a cheaper alternative")]
        if s.product_code in cheaper:
            assert cheap == [
                f"a cheaper alternative: EUR 0.20 a ml against EUR 2.00 a ml for {name}"
            ]
        else:
            assert not cheap
    categories = [business.products[s.product_code].facts.category for s in result.suggestions]
    assert categories[:10].count("serum") >= 9  # a dupe of a serum is a serum


def test_the_threshold_default_builds_graphs_for_the_demo_catalogue(
    model: HybridModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GLOW_RECOMMENDER_ANN_EXACT_UP_TO", raising=False)
    assert not vector_index.build(model).exact  # 300 products > 128
