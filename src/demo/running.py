"""`glow demo`: the ledger built by the composition root, its Starlette app called in-process
through httpx (same routes, validation and tokens as over the network), a progress bar."""

from __future__ import annotations

import logging

import httpx
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from api.app import create_app
from api.auth import jwt_secret, mint_token
from configuration.settings import Settings
from demo.business import generate
from demo.seeding import Seeder, seed
from service_layer.bootstrap import bootstrap


async def seed_in_process(
    settings: Settings, products: int, customers: int, seed_number: int
) -> dict[str, int]:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    business = generate(products, customers, seed_number)
    runtime = bootstrap(settings)
    runtime.start()
    app = create_app(runtime, manage_runtime=False)
    token = mint_token(jwt_secret(settings), "glow-demo", "admin", 4 * 3600)
    columns = (
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done)

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://glow.demo", timeout=60
            ) as client:
                return await seed(Seeder(client, token, progress), business)
    finally:
        runtime.close()
