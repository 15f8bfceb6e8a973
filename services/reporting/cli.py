"""Command line: serve (default), replay with switch-over (also `rebuild-read-model`, as every
service names it), and the projection checksum."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import structlog
from socialwork_contracts.topics import EVENT_TOPICS

from servicekit.eventstore.store import create_pool
from servicekit.kafka_security import kafka_security
from servicekit.logging import configure_logging
from servicekit.rebuild import rebuild_command
from servicekit.serve import serve
from servicekit.settings import StoreSettings
from services.reporting import readmodel
from services.reporting.rebuild import ProgressBar, ReplayedProjection
from services.reporting.rebuild import run_replay as run_replay  # the `replay` command

log = structlog.get_logger()


async def run_checksum(
    settings: StoreSettings, *, rebuild: bool, workers: int = 1
) -> dict[str, object]:
    from services.reporting.replay import next_generation, replay

    pool = await create_pool(settings.database_url)
    try:
        async with pool.acquire() as conn:
            live = await readmodel.current_generation(conn)
        if not rebuild:
            async with pool.acquire() as conn, conn.transaction(readonly=True):
                return await readmodel.checksum(conn, live)
        scratch = await next_generation(pool)
        scratch_consumer = readmodel.replay_consumer(scratch)
        topics = [t.name for t in EVENT_TOPICS]
        bar = ProgressBar(f"重建 {scratch}")
        result = await replay(
            pool,
            settings.kafka_bootstrap_servers,
            topics,
            generation=scratch,
            switch=False,
            progress=bar,
            dsn=settings.database_url,
            workers=workers,
            security=kafka_security(settings),
        )
        bar(result.events, result.events, final=True)
        # Compare at the same log positions, read in one snapshot with both hashes: while the
        # live consumer is behind, wait; while it is ahead, bring the rebuild to where it is.
        deadline = time.monotonic() + 120
        while True:
            async with (
                pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                live_at = await readmodel.replay_offsets(conn, await readmodel.live_consumer(conn))
                rebuilt_at = await readmodel.replay_offsets(conn, scratch_consumer)
                keys = set(live_at) | set(rebuilt_at)
                same = all(live_at.get(k, 0) == rebuilt_at.get(k, 0) for k in keys)
                if same:
                    live_sum = await readmodel.checksum(conn, live)
                    rebuilt_sum = await readmodel.checksum(conn, scratch)
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the live projection did not settle; try again when quieter")
            if any(live_at.get(k, 0) > rebuilt_at.get(k, 0) for k in keys):
                await replay(
                    pool,
                    settings.kafka_bootstrap_servers,
                    topics,
                    generation=scratch,
                    switch=False,
                    until=live_at,
                    security=kafka_security(settings),
                )
            else:
                await asyncio.sleep(0.2)
        async with pool.acquire() as conn:
            await readmodel.drop_generation(conn, scratch)  # its replay's checkpoints too
        return {
            "live": live_sum,
            "rebuilt": rebuilt_sum,
            "equal": live_sum["sha256"] == rebuilt_sum["sha256"],
        }
    finally:
        await pool.close()


async def run_prune_kept(settings: StoreSettings) -> dict[str, object]:
    """`prune-kept` on the live generation (readmodel.prune_kept)."""
    from services.reporting.domain import checkpoint
    from services.reporting.kept_figures import half_year_layout

    pool = await create_pool(settings.database_url)
    try:
        async with pool.acquire() as conn:
            generation = await readmodel.current_generation(conn)
            deleted = await readmodel.prune_kept(
                conn, generation, checkpoint.LAYOUT, half_year_layout()
            )
    finally:
        await pool.close()
    log.info("reporting.kept_pruned", generation=generation, **deleted)
    return {"generation": generation, "deleted": deleted}


def arguments() -> argparse.ArgumentParser:
    """The commands and their options (the replay Job's command is checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m services.reporting")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the HTTP API and the dashboard (the default)")
    replay_cmd = sub.add_parser("replay", help="rebuild the projection from offset 0 and switch")
    replay_cmd.add_argument("--no-switch", action="store_true", help="build only; do not switch")
    replay_cmd.add_argument(
        "--keep",
        type=int,
        default=2,
        help="generations to keep (≥2): the new one, the one readers were on, the newest others",
    )
    rebuild_cmd = sub.add_parser("rebuild-read-model", help="the same as replay (switches)")
    checksum_cmd = sub.add_parser("checksum", help="hash the live projection")
    sub.add_parser(
        "prune-kept",
        help="delete the kept states and day figures this build never reads (another build's "
        "code, facts before a reset): once every instance runs this build",
    )
    for command in (replay_cmd, rebuild_cmd, checksum_cmd):
        command.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes for the bulk load, each owning a share of the partitions",
        )
    checksum_cmd.add_argument(
        "--rebuild",
        action="store_true",
        help="also rebuild from scratch and compare (exit 1 if not equal)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
    if args.command in (None, "serve"):
        from services.reporting.app import SERVICE, create_app

        serve(SERVICE, create_app)
        return 0
    settings = StoreSettings()  # from the environment
    configure_logging("reporting", settings.log_level)
    if args.command == "rebuild-read-model":
        projection = ReplayedProjection(workers=max(1, args.workers))
        return asyncio.run(rebuild_command("reporting", projection))
    if args.command == "prune-kept":
        pruned = asyncio.run(run_prune_kept(settings))
        sys.stdout.write(json.dumps(pruned, ensure_ascii=False, indent=2) + "\n")
        return 0
    if args.command == "replay":
        outcome = asyncio.run(
            run_replay(
                settings,
                switch=not args.no_switch,
                keep=max(2, args.keep),
                workers=max(1, args.workers),
            )
        )
        sys.stdout.write(json.dumps(outcome, ensure_ascii=False, indent=2) + "\n")
        return 0 if outcome["switched"] or args.no_switch else 1
    outcome = asyncio.run(
        run_checksum(settings, rebuild=args.rebuild, workers=max(1, args.workers))
    )
    sys.stdout.write(json.dumps(outcome, ensure_ascii=False, indent=2) + "\n")
    return 0 if outcome.get("equal", True) else 1
