"""Request bodies of behaviour tracking (Segment-style track calls, in snake_case)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.models import Body

MAX_BATCH = 10_000  # the model's bound; GLOW_TRACK_MAX_BATCH is the one that applies
AnonymousId = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ConsentIn(BaseModel):
    """The cookie banner's answers, as a consent manager passes them (other purposes ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    analytics: bool | None = Field(
        None, description="true: an anonymous visitor agreed to analytics cookies"
    )


class ContextIn(BaseModel):
    """The call's context. Only `consent` is read; the rest (pages, devices, addresses) is
    ignored and never stored, since it may name a person."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    consent: ConsentIn | None = None


class TrackIn(Body):
    event: EventName = Field(
        description="product_viewed, products_searched, product_added_to_cart, "
        "recommendation_shown, recommendation_clicked, page_viewed, order_completed"
    )
    properties: dict[str, Any] = Field(
        default_factory=dict, description="checked against the event's tracking-plan schema"
    )
    anonymous_id: AnonymousId | None = Field(None, description="the device's or browser's id")
    customer_id: UUID | None = Field(
        None, description="the customer (a customer token's own id is implied)"
    )
    context: ContextIn = Field(default_factory=ContextIn)
    timestamp: AwareDatetime | None = Field(None, description="when it happened; default: now")
    message_id: MessageId | None = Field(
        None, description="the same message id twice (from one caller) is one event"
    )


class TrackBatchIn(Body):
    batch: list[TrackIn] = Field(min_length=1, max_length=MAX_BATCH)
