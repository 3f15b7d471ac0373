"""Continuous training: the model folder, the serving version, and candidates through the gate.

`ModelKeeper` reads the inventory log incrementally (from the serving version's saved fold,
then from where it last stopped), counts the interactions that arrived since the last
attempt, and on request makes a candidate: a WARM update (`warm_update.py`: the serving
model's LightFM state continued with `fit_partial`) or a FULL retrain (`hybrid.fit`). Every
candidate learns from everything except the fresh hold-out (`promotion_gate.py`: the newest
interactions since the serving model, which neither learned from), is judged against the
serving model on it, and is saved as a version whose `model.json` records its kind, the log
positions, the hold-out, both models' figures and the decision with its reason. Only a
promoted version is published to Redis and then pointed at (`serving_pointer.py`); a refused
one stays on disk for the audit.

The held-out interactions are learned by the next candidate: it starts where the promoted one
stopped (`trained_interactions`, an index into the log's interactions in log order).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application

from recommender import artefacts
from recommender.artefact_versions import versions
from recommender.behaviour_signals import BehaviourSource
from recommender.customer_signals import CustomerFold, attributed, read_customers
from recommender.hybrid import HybridModel, fit
from recommender.inventory_signals import InventoryFold, read_inventory
from recommender.lightfm_core import TrainingConfig
from recommender.log_reading import LogRead
from recommender.promotion_gate import (
    MIN_JUDGES,
    FreshHoldOut,
    Judgement,
    first_model,
    hold_out,
    judge,
    split,
)
from recommender.publishing import catalog_of, publish
from recommender.serving_pointer import FIRST, FORCED, GATE, ROLLBACK, point, serving_version
from recommender.signals import LogSignals
from recommender.store import RecommendationStore
from recommender.warm_update import warm_update

log = logging.getLogger(__name__)

WARM, FULL = "warm", "full"


@dataclass(frozen=True)
class Cadence:
    """When the follower updates: a warm update once `interactions` new ones arrived, or
    `seconds` passed with at least one; a full retrain every `retrain_hours`."""

    interactions: int = 1000
    seconds: float = 900.0
    retrain_hours: float = 24.0


@dataclass
class Serving:
    directory: Path
    model: HybridModel
    record: dict[str, Any]

    @property
    def version(self) -> str:
        return self.directory.name

    @property
    def trained_interactions(self) -> int:
        return int(self.record.get("trained_interactions", 0))

    @property
    def full_trained_at(self) -> datetime:
        found = self.record.get("full_trained_at")
        return datetime.fromisoformat(found) if found else self.model.trained_until


@dataclass(frozen=True)
class Outcome:
    """What one attempt made: a version (promoted or refused), or none and why."""

    kind: str
    version: str | None
    promoted: bool
    reason: str
    seconds: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)
    signals: LogSignals | None = None  # what the candidate learned from (for the caller)
    model: HybridModel | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "version": self.version,
            "promoted": self.promoted,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
        }


class ModelKeeper:
    def __init__(
        self,
        root: Path,
        inventory: Application[UUID],
        customers: Application[Any],
        store: RecommendationStore | None = None,
        behaviour: BehaviourSource | None = None,
        config: TrainingConfig | None = None,
        *,
        resume: bool = True,
    ) -> None:
        """`resume`: continue reading the log from the serving version's saved fold (else
        from the start: the same interactions, in the same order)."""
        self.root, self.inventory, self.customers = root, inventory, customers
        self.store, self.behaviour, self.config = store, behaviour, config
        self._serving = self._load_serving()
        start = None
        if resume and self._serving is not None and artefacts.has_fold(self._serving.directory):
            start = artefacts.load_fold(self._serving.directory)
        self.fold = start or InventoryFold()
        self.attempted_through, self.attempted_at, self.full_at = self._attempts()
        self._catalog_published: str | None = None  # the digest of the catalog last published

    # --- what serves ------------------------------------------------------------------------

    @property
    def serving(self) -> Serving | None:
        return self._serving

    def _load_serving(self) -> Serving | None:
        directory = serving_version(self.root)
        if directory is None:
            return None
        model, meta = artefacts.load(directory)
        if "trained_interactions" not in meta:  # saved before: it learned all it had read
            known = artefacts.has_fold(directory)
            read = len(artefacts.load_fold(directory).interactions) if known else 0
            meta["trained_interactions"] = read
        return Serving(directory, model, meta)

    def _attempts(self) -> tuple[int, datetime | None, datetime | None]:
        """From the newest versions: how far the last attempt read, when it was made, when
        the last full retrain was tried (a restarted follower keeps its rhythm)."""
        through = self._serving.trained_interactions if self._serving else 0
        attempted_at = full_at = None
        for directory in reversed(versions(self.root)):
            record = artefacts.record(directory)
            at = datetime.fromisoformat(record["trained_until"])
            if attempted_at is None:
                attempted_at = at
                through = max(through, int(record.get("interactions_read", through)))
            if record.get("kind", FULL) == FULL:
                full_at = at
                break
        return through, attempted_at, full_at

    def publish_catalog(self) -> bool:
        """Publish the catalog read so far when it is not the one last published (a product
        defined, changed, discontinued or promoted since): the rules and promotions reach
        the API at once, not with the next promoted model. True if it published."""
        if self.store is None or self._serving is None:
            return False
        catalog = catalog_of(self.fold.product_facts())
        digest = _digest(catalog)
        if digest == self._catalog_published:
            return False
        self.store.publish_catalog(catalog)
        self._catalog_published = digest
        return True

    def refresh(self) -> bool:
        """Serve what the pointer names, if another process moved it (`glow recommend
        promote`); True if it changed. The log read so far stays: the same log."""
        found = serving_version(self.root)
        current = self._serving.directory if self._serving else None
        if found == current:
            return False
        self._serving = self._load_serving()
        return True

    # --- the log ----------------------------------------------------------------------------

    def read(self) -> int:
        """Read the inventory log on from where it stopped; returns the new interactions."""
        earlier = self.fold.interactions
        fold = read_inventory(self.inventory, self.fold)
        self.fold = replace(fold, interactions=[*earlier, *fold.interactions])
        return len(fold.interactions)

    @property
    def pending(self) -> int:
        """Interactions read since the last attempt (or the serving model)."""
        return max(0, len(self.fold.interactions) - self.attempted_through)

    @property
    def unlearned(self) -> int:
        """Interactions read that the serving model has not learned from."""
        serving = self.serving
        trained = serving.trained_interactions if serving else 0
        return max(0, len(self.fold.interactions) - trained)

    def due(self, now: datetime, cadence: Cadence) -> str | None:
        """Which update is due now, if any."""
        serving = self.serving
        if self.pending == 0:
            return None
        if serving is None:
            return FULL
        if self.full_at is None or now - self.full_at >= timedelta(hours=cadence.retrain_hours):
            return FULL
        if self.pending >= cadence.interactions:
            return WARM
        waited = now - (self.attempted_at or serving.model.trained_until)
        return WARM if waited >= timedelta(seconds=cadence.seconds) else None

    # --- a candidate ------------------------------------------------------------------------

    def attempt(
        self, kind: str, now: datetime, *, force: bool = False, meta: dict[str, Any] | None = None
    ) -> Outcome:
        """Build a `kind` candidate from what was read, judge it, save it, promote it if it
        passes (or `force`). Records the attempt, so the cadence counts from here."""
        started = time.perf_counter()
        serving = self._serving
        if serving is None:
            kind = FULL
        people = read_customers(self.customers, self.fold.sku_products)
        inventory = self.fold.interactions
        trained = serving.trained_interactions if serving else 0
        cut = split(inventory, trained) if serving else len(inventory)
        held = attributed(inventory[cut:], people)
        until = min((i.at for i in held), default=now)
        learned, implicit = _signals(self.fold, people, inventory[:cut], self.behaviour, until)
        self.attempted_through, self.attempted_at = len(inventory), now
        if kind == FULL:
            self.full_at = now
        judges = hold_out(learned, held) if serving else None
        unjudged = None
        if serving is not None and judges is not None and len(judges.customers) < MIN_JUDGES:
            unjudged = (
                f"the {len(held)} newest interactions hold {len(judges.customers)} customers' "
                f"new purchases; at least {MIN_JUDGES} are needed to judge a model"
            )
            if not force:
                log.info("recommender candidate not built", extra={"step": "recommender-wait"})
                return Outcome(kind, None, False, f"waiting: {unjudged}", _since(started))
        if kind == WARM and serving is not None:
            fresh = [
                *attributed(inventory[trained:cut], people),
                *(i for i in people.interactions if i.at > serving.model.trained_until),
            ]
            model = warm_update(serving.model, learned, fresh, now, self.config)
        else:
            model = fit(learned, now, self.config)
        judgement = first_model()
        if unjudged is not None:
            judgement = Judgement(False, f"not judged: {unjudged}")
        elif serving is not None and judges is not None:
            judgement = judge(model, serving.model, judges)
        if force:
            judgement = judgement.forcing()
        directory = artefacts.next_version(self.root)
        record = self._record(kind, serving, people, cut, judges, judgement, now)
        record |= {**(meta or {}), **implicit, "train_seconds": _since(started)}
        artefacts.save(directory, model, self.fold, record)
        if judgement.promote:
            previous = self._serving
            self._promote(directory, model, people, judgement, now)
            if previous is not None:
                artefacts.drop_fold(previous.directory)
        else:
            artefacts.drop_fold(directory)  # never continued from: its record is enough
        outcome = Outcome(
            kind,
            directory.name,
            judgement.promote,
            judgement.reason,
            time.perf_counter() - started,
            record,
            learned,
            model,
        )
        log.info(
            "recommender candidate",
            extra={"step": "recommender-candidate", **outcome.as_dict()},
        )
        return outcome

    def _record(
        self,
        kind: str,
        serving: Serving | None,
        people: CustomerFold,
        cut: int,
        judges: FreshHoldOut | None,
        judgement: Judgement,
        now: datetime,
    ) -> dict[str, Any]:
        full_at = now if kind == FULL or serving is None else serving.full_trained_at
        return {
            "kind": kind,
            "base": serving.version if serving and kind == WARM else None,
            "serving_when_judged": serving.version if serving else None,
            "customers_position": people.position,
            "inventory_position": self.fold.position,
            "interactions_read": len(self.fold.interactions),
            "trained_interactions": cut,
            "full_trained_at": full_at.isoformat(),
            "holdout": judges.as_dict() if judges else None,
            "gate": judgement.as_dict(),
        }

    def _promote(
        self,
        directory: Path,
        model: HybridModel,
        people: CustomerFold,
        judgement: Judgement,
        now: datetime,
    ) -> None:
        """Publish (when there is a store), then move the pointer: `serving` always names
        what Redis serves, or what it is about to."""
        if self.store is not None:
            publish(
                self.store,
                directory.name,
                model,
                self.publishable(people),
                artefacts.load_index(directory),
            )
            self._catalog_published = _digest(catalog_of(self.fold.product_facts()))
        how = FORCED if judgement.forced else GATE if self._serving else FIRST
        point(self.root, directory.name, how, judgement.reason, now)
        self._serving = Serving(directory, model, artefacts.record(directory))

    def publishable(self, people: CustomerFold | None = None) -> LogSignals:
        """Every interaction read (the newest too: a customer's history on their list)."""
        people = people or read_customers(self.customers, self.fold.sku_products)
        signals, _ = _signals(self.fold, people, self.fold.interactions, None, None)
        return signals

    def republish(self) -> bool:
        """Publish the serving version again when Redis holds another (a publication cut
        short, or a rollback); True if it did."""
        if self.store is None or self._serving is None:
            return False
        if self.store.version() == self._serving.version:
            return False
        serving = self._serving
        publish(
            self.store,
            serving.version,
            serving.model,
            self.publishable(),
            artefacts.load_index(serving.directory),
        )
        self._catalog_published = _digest(catalog_of(self.fold.product_facts()))
        return True

    def promote(self, version: str, now: datetime, reason: str) -> dict[str, Any]:
        """Point `serving` at an existing version (a rollback) and publish it."""
        directory = self.root / version
        entry = point(self.root, version, ROLLBACK, reason, now)
        self._serving = self._load_serving()
        if self._serving is not None and self._serving.directory != directory:
            raise RuntimeError(f"the pointer moved to {version} but reads back otherwise")
        if self.store is not None and self._serving is not None:
            publish(
                self.store,
                version,
                self._serving.model,
                self.publishable(),
                artefacts.load_index(self._serving.directory),
            )
            self._catalog_published = _digest(catalog_of(self.fold.product_facts()))
        return entry


def _signals(
    fold: InventoryFold,
    people: CustomerFold,
    inventory: list[Any],
    behaviour: BehaviourSource | None,
    until: datetime | None,
) -> tuple[LogSignals, dict[str, Any]]:
    read = LogRead(replace(fold, interactions=list(inventory)), people, 0)
    signals, implicit = read.signals(behaviour, until)
    return signals, implicit.as_dict()


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _digest(catalog: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(catalog, option=orjson.OPT_SORT_KEYS)).hexdigest()
