"""Warm updates in memory (the logic; the follower on real stores is in
tests/integration/test_recommender_follower.py): grown feature spaces and embeddings keep what
was learned, fit_partial continues LightFM's state, a new product is scored from its tags, the
gate promotes an equal model and refuses a worse one, and an artefact keeps the learner state
and a grown space's column order."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo.business import Business, generate
from recommender import artefacts, promotion_gate
from recommender.features import FeatureSpace
from recommender.hybrid import HybridModel, fit
from recommender.inventory_signals import InventoryFold
from recommender.lightfm_core import TrainingConfig, continue_training, grown, identity, train
from recommender.promotion_gate import hold_out, judge, split
from recommender.signals import PURCHASE, RETURN, CustomerFacts, Interaction, ProductFacts
from recommender.warm_update import warm_update

CUT = datetime(2026, 8, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ONE_THREAD = TrainingConfig(threads=1)  # LightFM is deterministic on one thread

names = st.lists(st.text("abcdef", min_size=1, max_size=3), max_size=12, unique=True)


@given(names, names, names, names)
@settings(max_examples=200, deadline=None)
def test_a_grown_space_maps_every_kept_column_to_its_old_one_and_new_ones_to_none(
    ids: list[str], tags: list[str], new_ids: list[str], new_tags: list[str]
) -> None:
    space = FeatureSpace(ids, tags)
    kept = ids[: len(ids) // 2]  # some customers leave (consent withdrawn)
    bigger, old = space.grown([*kept, *new_ids], [*tags, *new_tags])
    assert len(old) == bigger.width
    assert set(bigger.ids) == set(kept) | set(new_ids)
    assert list(bigger.ids)[: len(kept)] == kept  # the kept ones first, in their order
    for key, column in bigger.ids.items():
        assert old[column] == space.ids.get(key, -1)
    for tag, column in bigger.tags.items():
        assert old[column] == space.tags.get(tag, -1)
    assert list(bigger.tags)[: len(space.tags)] == list(space.tags)  # old tags keep their place
    again = FeatureSpace.laid_out(list(bigger.ids), list(bigger.tags))
    assert again.ids == bigger.ids and again.tags == bigger.tags


def test_grown_embeddings_keep_learned_rows_and_start_new_ones_as_lightfm_does() -> None:
    rng = np.random.default_rng(1)
    interactions = (rng.random((30, 20)) < 0.2).astype(np.float32)
    import scipy.sparse as sp

    learned = train(sp.coo_matrix(interactions), TrainingConfig(components=8, epochs=3))
    assert learned.state is not None
    assert (learned.state.item_embedding_gradients > 1).any()  # adagrad accumulated
    users = np.array([3, -1, 0, -1], dtype=np.int64)
    items = np.array([*range(20), -1], dtype=np.int64)
    bigger = grown(learned, users, items, components=8, seed=5)
    assert np.array_equal(bigger.user_embeddings[0], learned.user_embeddings[3])
    assert np.array_equal(bigger.item_embeddings[:20], learned.item_embeddings)
    assert bigger.state is not None
    assert np.array_equal(
        bigger.state.item_embedding_gradients[:20], learned.state.item_embedding_gradients
    )
    new = bigger.user_embeddings[[1, 3]]
    assert (np.abs(new) <= 0.5 / 8).all() and new.std() > 0
    assert (bigger.state.user_embedding_gradients[[1, 3]] == 1).all()
    assert bigger.item_biases[20] == 0 and bigger.state.item_bias_gradients[20] == 1


def test_continuing_training_moves_the_rows_it_trains_and_leaves_the_input_untouched() -> None:
    import scipy.sparse as sp

    rng = np.random.default_rng(2)
    first = sp.coo_matrix((rng.random((30, 20)) < 0.2).astype(np.float32))
    config = TrainingConfig(components=8, epochs=3, threads=1)
    learned = train(first, config)
    before = learned.item_embeddings.copy()
    more = sp.coo_matrix(([1.0, 1.0], ([0, 1], [2, 5])), shape=(30, 20), dtype=np.float32)
    continued = continue_training(learned, more, config, identity(30), identity(20), epochs=2)
    assert np.array_equal(learned.item_embeddings, before)  # the serving model's arrays
    assert not np.allclose(continued.user_embeddings[0], learned.user_embeddings[0])
    assert np.array_equal(continued.user_embeddings[7], learned.user_embeddings[7])  # untouched
    assert learned.state is not None and continued.state is not None
    grew = continued.state.user_embedding_gradients >= learned.state.user_embedding_gradients
    assert grew.all()
    with pytest.raises(ValueError, match="grow the embeddings first"):
        continue_training(learned, more, config, identity(31), identity(20))


@pytest.fixture(scope="module")
def business() -> Business:
    return generate(products=40, customers=150, seed=11)


@pytest.fixture(scope="module")
def serving(business: Business) -> HybridModel:
    return fit(business.signals(CUT), CUT, ONE_THREAD)


def test_a_new_product_is_scored_from_its_tags_and_a_new_customer_learned(
    business: Business, serving: HybridModel
) -> None:
    signals = business.signals()
    dry = next(p for p in signals.products.values() if p.skin_types == ("dry",))
    newcomer = ProductFacts("P-NEW", dry.category, dry.inci, ("dry",), ("P-NEW-30ML",), "New")
    products = {**signals.products, "P-NEW": newcomer}
    buyer = CustomerFacts("new-customer", "oily", ("acne",), personalisation=True)
    bought = Interaction(buyer.customer_id, dry.product_code, PURCHASE, CUT, 1.0)
    later = [i for i in signals.interactions if i.at >= CUT]
    customers = {**signals.customers, buyer.customer_id: buyer}
    learned = replace(
        signals,
        products=products,
        customers=customers,
        interactions=[*signals.interactions, bought],
    )
    model = warm_update(serving, learned, [*later, bought], NOW, ONE_THREAD)
    assert "P-NEW" in model.product_codes and "P-NEW" not in serving.product_codes
    assert model.knows(buyer.customer_id) and not serving.knows(buyer.customer_id)
    at = model.product_codes.index("P-NEW")
    ranks = {}
    for skin in ("dry", "oily"):
        people = [c for c in customers.values() if c.skin_type == skin and c.may_personalise]
        ranks[skin] = np.mean([(model.scores(c) > model.scores(c)[at]).sum() for c in people])
    assert ranks["dry"] < ranks["oily"]  # its tags say dry skin: dry customers see it higher


def test_a_withdrawn_consent_loses_its_identity_row_at_the_next_warm_update(
    business: Business, serving: HybridModel
) -> None:
    signals = business.signals()
    known = next(c for c in serving.users.ids if signals.customers[c].may_personalise)
    withdrawn = replace(signals.customers[known], personalisation=False)
    learned = replace(signals, customers={**signals.customers, known: withdrawn})
    model = warm_update(serving, learned, signals.interactions[-50:], NOW, ONE_THREAD)
    assert serving.knows(known) and not model.knows(known)


def test_the_gate_promotes_an_equal_model_and_refuses_one_trained_on_a_corrupted_batch(
    business: Business, serving: HybridModel
) -> None:
    signals = business.signals()
    inventory = [i for i in signals.interactions if i.kind in (PURCHASE, RETURN)]
    trained = sum(1 for i in inventory if i.at < CUT)
    cut = split(inventory, trained)
    held = inventory[cut:]
    learned = replace(signals, interactions=inventory[:cut])
    judges = hold_out(learned, held)
    assert len(judges.customers) >= promotion_gate.MIN_JUDGES
    assert all(i.at >= CUT for i in held) and len(held) == len(inventory) - cut

    same = judge(serving, serving, judges)
    assert same.promote and same.difference == {"p_at_10": 0.0, "auc": 0.0}

    rng = random.Random(3)
    judged = judges.customers
    corrupted = []  # the judges' accounts buy what does not suit their skin
    for _ in range(600):
        customer = rng.choice(judged)
        skin = signals.customers[customer].skin_type
        code = rng.choice([c for c, p in signals.products.items() if skin not in p.skin_types])
        corrupted.append(Interaction(customer, code, PURCHASE, CUT, 1.0))
    bad = replace(learned, interactions=[*learned.interactions, *corrupted])
    worse = warm_update(serving, bad, corrupted, NOW, ONE_THREAD)
    verdict = judge(worse, serving, hold_out(bad, held))
    assert not verdict.promote
    assert verdict.reason.startswith("worse on ") and "below the tolerance" in verdict.reason
    forced = verdict.forcing()
    assert forced.promote and forced.forced and forced.reason.startswith("promoted by --force")


@given(st.lists(st.floats(-0.3, 0.3), min_size=2, max_size=60))
@settings(max_examples=100, deadline=None)
def test_the_tolerance_stays_between_its_floor_and_its_cap(differences: list[float]) -> None:
    spread = float(np.std(differences, ddof=1))
    for metric in ("p_at_10", "auc"):
        tolerance = min(
            promotion_gate.CAP[metric],
            max(promotion_gate.FLOOR[metric], 2 * spread / np.sqrt(len(differences))),
        )
        assert promotion_gate.FLOOR[metric] <= tolerance <= promotion_gate.CAP[metric]


def test_an_artefact_keeps_the_learner_state_and_a_grown_space_column_order(
    business: Business, serving: HybridModel, tmp_path: Path
) -> None:
    signals = business.signals()
    newcomer = ProductFacts("P-NEW", "serum", ("AQUA", "ZZZ-NEW"), ("dry",), (), "N", "Zed")
    learned = replace(signals, products={**signals.products, "P-NEW": newcomer})
    model = warm_update(serving, learned, signals.interactions[-100:], NOW, ONE_THREAD)
    assert list(model.items.tags) != sorted(model.items.tags)  # new tags after the old ones
    artefacts.save(tmp_path / "v0001", model, InventoryFold(), {"kind": "warm"})
    loaded, meta = artefacts.load(tmp_path / "v0001")
    assert meta["kind"] == "warm"
    assert list(loaded.items.tags) == list(model.items.tags)
    assert loaded.embeddings.state is not None and model.embeddings.state is not None
    assert np.array_equal(
        loaded.embeddings.state.item_embedding_gradients,
        model.embeddings.state.item_embedding_gradients,
    )
    someone = signals.customers[next(iter(model.users.ids))]
    assert np.allclose(loaded.scores(someone), replace(model, intent={}).scores(someone))
