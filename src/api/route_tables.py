"""Every route of the app, gathered from the tables where each is declared (with its summary,
parameters and answers), in the order the router tries them. The app, its access control's
query check and the OpenAPI document are all made from these lists, so none of them can name
a route the others lack."""

from __future__ import annotations

from api.action_post import ActionPost
from api.audit_routes import AUDIT_ROUTES
from api.channel_availability_routes import CHANNEL_AVAILABILITY_ROUTES
from api.command_route import CommandRoute
from api.command_routes import COMMAND_ROUTES
from api.customer_routes import CUSTOMER_COMMAND_ROUTES, CUSTOMER_QUERIES, CustomerRoute
from api.docs_routes import DOCS_ROUTES
from api.experiment_routes import EXPERIMENT_POSTS, EXPERIMENT_QUERIES
from api.forecast_routes import FORECAST_ROUTES
from api.ledger_routes import LEDGER_ROUTES
from api.marketplace_routes import MARKETPLACE_POSTS, RECALL_QUERIES
from api.operations_routes import OPERATIONS_ROUTES
from api.order_listing_routes import ORDER_LISTINGS
from api.order_routes import ORDER_QUERIES, ORDER_QUOTES, ORDER_ROUTES, ReadingPost
from api.query_parameters import Declared
from api.query_route import QueryRoute
from api.read_model_routes import READ_MODEL_ROUTES
from api.recommendation_routes import RECOMMENDATION_ROUTES
from api.replenishment_routes import REPLENISHMENT_COMMAND_ROUTES, REPLENISHMENT_QUERIES
from api.segment_routes import SEGMENT_POSTS, SEGMENT_QUERIES
from api.similar_routes import SIMILAR_ROUTES
from api.support_routes import SUPPORT_COMMAND_ROUTES, SUPPORT_QUERIES
from api.survey_routes import SURVEY_POSTS
from api.till_routes import TILL_COMMAND_ROUTES, TILL_QUERIES, TILL_UPLOADS, StreamingPost
from api.track_routes import TRACK_POSTS, TRACK_QUERIES
from api.webhook_routes import WEBHOOK_POSTS, WEBHOOK_QUERIES

LEDGER_COMMAND_ROUTES: list[CommandRoute] = [
    *COMMAND_ROUTES,
    *ORDER_ROUTES,
    *TILL_COMMAND_ROUTES,
    *REPLENISHMENT_COMMAND_ROUTES,
]
CUSTOMER_WRITES: list[CustomerRoute] = [*CUSTOMER_COMMAND_ROUTES, *SUPPORT_COMMAND_ROUTES]
ALL_COMMAND_ROUTES: list[CommandRoute | CustomerRoute] = [
    *LEDGER_COMMAND_ROUTES,
    *CUSTOMER_WRITES,
]
READING_POSTS: list[ReadingPost] = [*ORDER_QUOTES]  # POSTs that only read: no writer, no key
ACTION_POSTS: list[ActionPost] = [
    *WEBHOOK_POSTS,
    *MARKETPLACE_POSTS,
    *SEGMENT_POSTS,
    *EXPERIMENT_POSTS,
    *SURVEY_POSTS,
    *TRACK_POSTS,
]  # POSTs of their own
# Served by the command gateway ahead of Starlette's middleware, as commands are: behaviour
# arrives in the thousands of events a second (the same access rule, limits and handlers).
GATEWAY_POSTS: list[ActionPost] = [*TRACK_POSTS]
STREAMING_POSTS: list[StreamingPost] = [*TILL_UPLOADS]  # lines in, lines out
QUERY_ROUTES: list[QueryRoute] = [
    *ORDER_LISTINGS,
    *ORDER_QUERIES,
    *CHANNEL_AVAILABILITY_ROUTES,
    *CUSTOMER_QUERIES,
    *SUPPORT_QUERIES,
    *LEDGER_ROUTES,
    *RECOMMENDATION_ROUTES,
    *SIMILAR_ROUTES,
    *AUDIT_ROUTES,
    *READ_MODEL_ROUTES,
    *FORECAST_ROUTES,
    *SEGMENT_QUERIES,
    *EXPERIMENT_QUERIES,
    *OPERATIONS_ROUTES,
    *DOCS_ROUTES,
    *WEBHOOK_QUERIES,
    *RECALL_QUERIES,
    *TILL_QUERIES,
    *REPLENISHMENT_QUERIES,
    *TRACK_QUERIES,
]
QUERY_PARAMETERS: Declared = {route.path: route.parameters for route in QUERY_ROUTES}
