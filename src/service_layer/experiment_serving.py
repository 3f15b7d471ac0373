"""Serving an experiment: which variant a customer asking for recommendations is in, what that
variant serves (a challenger's candidates, or a ranking policy), and the exposure row each
list shown leaves in ClickHouse through the behaviour path (the API's buffer into chDB, or the
`behaviour` topic and the worker).

Only customers who may be personalised (`personalisation` consent, read fresh at every
request) are placed: the others get the non-personal list and are neither assigned nor counted
as exposed; a withdrawal takes them out at their next request. Nobody is placed where no
exposure can be logged (no ClickHouse or broker for behaviour), nor in an experiment whose
challenger's candidates are not published yet: a variant that cannot be measured, or would be
served fallbacks only, must not change what customers see."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from prometheus_client import Counter

from domain.experiment import MODEL, Experiment, Variant
from privacy.pseudonyms import behaviour_person
from privacy.vault import KeyVault
from projections.behaviour_rows import TrackedBatch
from recommender.challengers import ChallengerCandidates
from recommender.ranking_policies import STANDARD, RankingPolicy, policy
from recommender.rule_stage import Recommendation
from recommender.serving import CandidateSource
from recommender.signals import CustomerFacts
from recommender.store import RecommendationStore
from service_layer.behaviour_desk import BehaviourOutlet
from service_layer.experiment_desk import ExperimentDesk

log = logging.getLogger(__name__)

EXPOSURES = Counter(
    "glow_experiment_exposures",
    "Lists shown to customers assigned to an experiment's variant, by outcome (sent: handed "
    "to the behaviour outlet; failed: the outlet refused, the row is lost)",
    ["outcome"],
)
for _outcome in ("sent", "failed"):
    EXPOSURES.labels(_outcome)
PEOPLE_KEPT = 100_000


@dataclass(frozen=True)
class Placement:
    experiment: Experiment
    assigned: str  # the variant recorded for the customer
    served: Variant  # what they are served now (the control once theirs was stopped)
    person: str  # their pseudonym in the exposure rows

    @property
    def measured(self) -> bool:
        """Whether this list counts as an exposure of the variant (not once it was stopped)."""
        return self.assigned == self.served.name


class ExperimentServing:
    def __init__(self, desk: ExperimentDesk, vault: KeyVault, outlet: BehaviourOutlet) -> None:
        self.desk, self.vault, self.outlet = desk, vault, outlet
        self._people: OrderedDict[UUID, str] = OrderedDict()
        self._linked: set[UUID] = set()
        self._lock = threading.Lock()
        self._sending: set[asyncio.Task[None]] = set()

    def place(
        self, customer_id: UUID, facts: CustomerFacts, store: RecommendationStore
    ) -> Placement | None:
        """The customer's variant in the running experiment (recorded at the first request),
        or None: no experiment, no consent, or an experiment not ready to be served."""
        if not facts.may_personalise:
            self._drop(customer_id)  # withdrawn or forgotten: nothing of theirs kept here
            return None
        experiment = self.desk.running()
        if experiment is None or not _published(experiment, store):
            return None
        person = self._person(customer_id)
        if person is None:  # their key is shredded: forgotten
            return None
        assigned = self.desk.assign(experiment, str(customer_id), person)
        served_name = experiment.serves(assigned)
        served = next(v for v in experiment.variant_list if v.name == served_name)
        return Placement(experiment, assigned, served, person)

    def _person(self, customer_id: UUID) -> str | None:
        with self._lock:
            found = self._people.get(customer_id)
        if found is not None:
            return found
        key = self.vault.data_key(customer_id)
        if key is None:
            return None
        person = behaviour_person(key)
        with self._lock:
            self._people[customer_id] = person
            while len(self._people) > PEOPLE_KEPT:
                self._people.popitem(last=False)
        return person

    def _drop(self, customer_id: UUID) -> None:
        with self._lock:
            self._people.pop(customer_id, None)
            self._linked.discard(customer_id)

    def expose(
        self,
        placement: Placement,
        customer_id: UUID,
        result: Recommendation,
        rule_violations: int,
        at: datetime,
    ) -> None:
        """Hand the exposure row to the behaviour outlet without making the answer wait for
        it (the buffer takes it at once; a broker's acknowledgement is awaited in a task)."""
        if not placement.measured:
            return
        batch = TrackedBatch()
        batch.exposures.append(
            (
                str(uuid.uuid4()),
                str(placement.experiment.id),
                placement.assigned,
                placement.person,
                [s.product_code for s in result.suggestions],
                result.kind.value,
                rule_violations,
                int(at.timestamp() * 1000),
            )
        )
        with self._lock:
            fresh = customer_id not in self._linked
            self._linked.add(customer_id)
        if fresh:  # the link to the order facts, once per process (a replacing table)
            batch.experiment_people.append(
                (str(customer_id), placement.person, time.time_ns() // 1_000_000)
            )
        task = asyncio.get_running_loop().create_task(self._send(batch, customer_id, fresh))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: TrackedBatch, customer_id: UUID, fresh: bool) -> None:
        try:
            await self.outlet.send(batch)
        except Exception as error:
            EXPOSURES.labels("failed").inc()
            if fresh:
                with self._lock:
                    self._linked.discard(customer_id)
            log.warning("an exposure row was not kept: %s: %s", type(error).__name__, error)
            return
        EXPOSURES.labels("sent").inc()


def variant_source(
    variant: Variant, store: RecommendationStore
) -> tuple[CandidateSource, RankingPolicy]:
    """What a variant serves from: a challenger's candidates with the standard ordering, or
    the serving model's candidates with the variant's ranking policy."""
    if variant.kind == MODEL:
        return ChallengerCandidates(store, variant.target), STANDARD
    return store, policy(variant.target)


def _published(experiment: Experiment, store: RecommendationStore) -> bool:
    return all(
        store.challenger_published(v.target) is not None
        for v in experiment.variant_list
        if v.kind == MODEL
    )


def waiting_for(experiment: Experiment, store: RecommendationStore | None) -> list[str]:
    """What keeps an experiment from being served, as sentences (empty: nothing)."""
    models = [v for v in experiment.variant_list if v.kind == MODEL]
    if store is None:
        return ["GLOW_RECOMMENDATIONS_URL is not set: no challenger can be published"] * bool(
            models
        )
    return [
        f"variant {v.name!r}: the candidates of model {v.target} are not published; run "
        f"`glow experiments publish {experiment.id}`"
        for v in models
        if store.challenger_published(v.target) is None
    ]
