"""Guarantees tried by mutation: each entry breaks one guarantee with a one-line change, and names
the tests that must then fail (`python -m tests.mutants`; README.md).

A mutant that every listed test passes is a guarantee no test holds: write the test that fails
against it, then add it here. An entry marked `equivalent` changes nothing any caller can see
(its reason says why); it stays listed so that nobody tries it again. `test_catalogue.py` checks
in CI that every entry still applies to the code as it is (its text found exactly once).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # the file changed, from the project's root
    old: str  # found exactly once in it
    new: str
    tests: tuple[str, ...]  # pytest node ids or paths: at least one must fail
    guarantee: str
    equivalent: str = ""  # why no caller can tell it apart (then no test is expected to fail)


PROCESS = "servicekit/process.py"
INCUBATION = "services/incubation/consumers.py"
SUPERVISION = "services/supervision/consumers.py"
REGISTRY = "services/registry/consumers.py"
READMODEL = "services/reporting/readmodel.py"
REPLAY = "services/reporting/replay.py"
FOLD = "services/reporting/foldworker.py"
SCHEDULER = "servicekit/scheduler.py"
RELAY = "servicekit/relay.py"
CONSUMER = "servicekit/consumer.py"
DEAD_LETTERS = "servicekit/dead_letters.py"
GROUP_COMMIT = "servicekit/group_commit.py"
SUPERVISION_CHECKS = "services/supervision/checks.py"
INCUBATION_CHECKS = "services/incubation/checks.py"

RULES = "tests/integration/incubation/test_incubation_rules.py"
ASSISTANCE = "tests/integration/incubation/test_registration_assistance.py"
REACTIONS = "tests/integration/test_registry_reactions.py"
SANCTIONS = "tests/integration/supervision/test_registration_sanctions.py"
SCOPE = "tests/integration/supervision/test_scope.py"
CATCH_UP = "tests/integration/reporting/test_replay_catch_up.py"
SCHEDULER_TESTS = "tests/integration/supervision/test_scheduler.py"
CHECK_ITEMS = "tests/integration/supervision/test_scheduled_check_items.py"
BASE_OPERATIONS = "tests/integration/incubation/test_base_operations.py"
RECORDED = "services/reporting/readmodel_recorded.py"
RECORDED_PASS = "services/reporting/recorded_days.py"
RECORDS = "services/reporting/domain/records.py"
RECORDED_DAYS = "tests/integration/reporting/test_recorded_days.py"
OPERATOR_REBUILD = "services/reporting/rebuild.py"
REPORT_CACHE = "services/reporting/cache.py"
CONSUMER_TESTS = "tests/integration/test_consumer.py"
STALE_ANSWERS = "tests/integration/reporting/test_stale_answers.py"
AGENCY_VERSIONS = "tests/integration/reporting/test_agency_versions.py"
REBUILD_OVER_HTTP = "tests/integration/reporting/test_rebuild_over_http.py"
KILLED_REBUILD = (
    f"{REBUILD_OVER_HTTP}::test_a_rebuild_killed_before_its_switch_costs_the_service_nothing"
)

GROUPS: dict[str, tuple[Mutant, ...]] = {
    "mechanism": (
        Mutant(
            "relay-passes-a-failed-delivery",
            RELAY,
            "                raise outcome  # the broker, not the record: send the batch again\n",
            "                pass\n",
            (
                "tests/integration/test_relay.py::"
                "test_a_batch_whose_delivery_fails_is_sent_again_and_the_checkpoint_waits",
            ),
            "the relay's checkpoint moves only past batches Kafka acknowledged",
        ),
        Mutant(
            "consumer-drops-a-record-claiming-a-taken-version",
            CONSUMER,
            "                and envelope.id != last[1]\n",
            "                and False\n",
            (
                "tests/integration/test_consumer.py::"
                "test_a_record_claiming_a_version_another_event_holds_is_parked_not_dropped",
            ),
            "a record claiming a version another event holds is parked with its reason",
        ),
        Mutant(
            "dead-letters-marked-before-they-are-sent",
            DEAD_LETTERS,
            "        for row in rows:\n            # Header names",
            "        await conn.execute(\n"
            '            f"UPDATE {self.schema}.dead_letters "\n'
            '            "SET published_at = clock_timestamp() "\n'
            '            "WHERE id = ANY($1::bigint[])",\n'
            '            [r["id"] for r in rows],\n'
            "        )\n"
            "        for row in rows:\n            # Header names",
            (
                "tests/integration/test_consumer.py::"
                "test_dead_letters_whose_send_fails_are_sent_again_and_marked_once_sent",
            ),
            "a dead letter is marked published only once its topic acknowledged it",
        ),
        Mutant(
            "answers-before-the-commit",
            GROUP_COMMIT,
            '            await conn.execute("COMMIT; BEGIN")\n',
            "            for pending, result in done:\n"
            "                pending.future.set_result(result)\n"
            '            await conn.execute("COMMIT; BEGIN")\n',
            ("tests/integration/test_group_commit.py",),
            "a command is answered accepted only once its group committed",
        ),
        Mutant(
            "a-beaten-lane-gives-its-connection-back",
            GROUP_COMMIT,
            "                await asyncio.wait_for(self._arrived.wait(), remaining)\n"
            "        return True\n",
            "                await asyncio.wait_for(self._arrived.wait(), remaining)\n"
            "            return bool(self._pending)\n"
            "        return True\n",
            (
                "tests/integration/test_group_commit.py::"
                "test_a_lane_beaten_to_a_command_keeps_its_connection",
            ),
            "a lane beaten to a command keeps its connection until its linger passes",
        ),
    ),
    "fold": (
        Mutant(
            "held-state-appends-late-facts",
            FOLD,
            "    held.merge(facts)\n    held.merges += 1\n",
            "    for fact in facts:\n        held.add(*fact)\n    held.merges += 1\n",
            ("tests/integration/reporting/test_fold_checkpoints.py",),
            "a late fact of the held state's last day is folded in its order",
        ),
    ),
    "reactions": (
        Mutant(
            "replay-decides-a-declined-reaction-again",
            PROCESS,
            "if previous is not None and previous.refusal is not None:",
            "if False:",
            (ASSISTANCE,),
            "a replayed cause answers from the recorded decline, never decides again",
        ),
        Mutant(
            "decline-not-recorded",
            PROCESS,
            "reason=str(exc))\n",
            "reason=str(exc))\n            return None\n",
            (REACTIONS,),
            "a process manager's decline is a recorded decision",
        ),
        Mutant(
            "reaction-without-causation",
            PROCESS,
            "causation_id=cause.id,",
            "causation_id=None,",
            (REACTIONS,),
            "every reaction's event names the event that caused it",
        ),
        Mutant(
            "reaction-dated-now",
            PROCESS,
            "occurred_at=cause.time,",
            "occurred_at=__import__('datetime').datetime.now(__import__('datetime').UTC),",
            (REACTIONS,),
            "a reaction occurs when its cause did, not when it was processed",
        ),
        Mutant(
            "reaction-command-id-random",
            PROCESS,
            'command_id = f"pm:{process}:{cause.id}"',
            "command_id = f\"pm:{process}:{__import__('uuid').uuid4()}\"",
            (REACTIONS,),
            "a redelivered or replayed cause runs its command once",
        ),
        Mutant(
            "reaction-without-the-agency-lock",
            INCUBATION,
            '    await readmodel.lock(conn, f"agency:{uscc}")\n',
            "    pass\n",
            (f"{RULES}::test_a_deregistration_waits_for_an_approval_in_flight_and_ends_its_stay",),
            "an admission in flight is ended by a deregistration, not left to a closed agency",
        ),
        Mutant(
            "abnormal-listing-evicts",
            INCUBATION,
            'if event.list == "serious":',
            'if event.list in ("serious", "abnormal"):',
            (RULES,),
            "an abnormal listing bars admission but does not end a stay (domain.md)",
        ),
        Mutant(
            "breach-reason-swapped",
            INCUBATION,
            '"agreement_breach"\n                    if event.category in BREACH_CATEGORIES',
            '"agreement_breach"\n                    if event.category not in BREACH_CATEGORIES',
            (RULES,),
            "a serious breach of a banned use ends the stay as a breach (guidance §5.3)",
        ),
        Mutant(
            "stay-ended-on-the-utc-day",
            INCUBATION,
            "    return local_date(envelope.time)",
            "    return envelope.time.astimezone(__import__('datetime').UTC).date()",
            (RULES,),
            "a stay ends on its cause's local day",
        ),
        Mutant(
            "group-link-takes-one-stay",
            INCUBATION,
            "for incubation_id in await readmodel.group_incubations(conn, pid):",
            "for incubation_id in (await readmodel.group_incubations(conn, pid))[:1]:",
            (ASSISTANCE,),
            "a registered group's every stay follows the agency",
        ),
        Mutant(
            "suspension-penalty-keeps-the-stay",
            INCUBATION,
            'ENDING_PENALTIES = frozenset({"suspension", "revocation"})',
            'ENDING_PENALTIES = frozenset({"revocation"})',
            (RULES,),
            "a suspension penalty ends the stay (domain.md)",
        ),
        Mutant(
            "group-never-linked",
            INCUBATION,
            "if event.provisional_id is not None:",
            "if False:",
            (ASSISTANCE,),
            "a registration naming a group links it (注册协助)",
        ),
        Mutant(
            "staff-change-ignored",
            INCUBATION,
            "                await readmodel.update_agency("
            "conn, event.uscc, version, staff=staff)\n",
            "                pass\n",
            (RULES,),
            "graduation reads the registry's current staff counts",
        ),
        Mutant(
            "sanction-listed-on-the-utc-day",
            SUPERVISION,
            "decided_on=local_date(envelope.time),",
            "decided_on=envelope.time.astimezone(__import__('datetime').UTC).date(),",
            (SANCTIONS,),
            "a registry sanction is listed on its local day",
        ),
        Mutant(
            "move-to-another-unit-ignored",
            SUPERVISION,
            "await readmodel.amend_agency(conn, event.uscc, event.name, event.reporting_unit)",
            "await readmodel.amend_agency(conn, event.uscc, event.name, None)",
            (SCOPE,),
            "an agency's credit file is in its current unit's scope",
        ),
        Mutant(
            "reinstatement-ignored-by-supervision",
            SUPERVISION,
            '                await readmodel.set_agency_status(conn, event.uscc, "active")\n',
            "                pass\n",
            (),
            "supervision knows an agency's status",
            equivalent="supervision counts active and suspended agencies alike (both live) and "
            "reads no other status",
        ),
        Mutant(
            "shortfall-violation-id-random",
            SUPERVISION,
            "violation_id=str(uuid.uuid5(SHORTFALL_IDS, envelope.id)),",
            "violation_id=str(uuid.uuid4()),",
            (),
            "one violation per staff shortfall, however often it is delivered",
            equivalent="the reaction's command id (from the cause's id) already answers a "
            "redelivery from the command record",
        ),
        Mutant(
            "suspension-penalty-without-its-end",
            REGISTRY,
            "until=event.suspended_until,",
            "until=None,",
            (REACTIONS,),
            "a suspension penalty suspends the registration until its end",
        ),
    ),
    "switch": (
        Mutant(
            "switch-while-the-live-consumer-is-ahead",
            READMODEL,
            'if any(r["next_offset"] > offsets.get((r["topic"], r["partition"]), 0) '
            "for r in live):",
            "if False:",
            (CATCH_UP,),
            "readers switch to a generation holding everything the live consumer applied",
        ),
        Mutant(
            "switch-without-the-partition-locks",
            READMODEL,
            "        await hold_partitions("
            "conn, CONTROL, live_consumer, partitions | set(offsets))\n",
            "        pass\n",
            ("tests/integration/reporting/test_switch_lock_order.py",),
            "a switch waits for a live batch instead of deadlocking with it",
        ),
        Mutant(
            "switch-reads-the-live-offsets-unlocked",
            READMODEL,
            "        live = await conn.fetch(known, live_consumer)  "
            "# after the locks: what batches committed\n",
            "        live = []\n",
            (CATCH_UP,),
            "the live consumer's offsets are read after its batches' locks",
        ),
        Mutant(
            "switch-leaves-the-live-offsets",
            READMODEL,
            "        await save_offsets(conn, live_consumer, offsets)\n        # The live",
            "        # The live",
            (CATCH_UP,),
            "after a switch the live consumer goes on from the replay's offsets",
        ),
        Mutant(
            "live-consumer-expects-the-lowest-version",
            READMODEL,
            """'ORDER BY topic, store_id, stream_id, version DESC, "offset"',""",
            """'ORDER BY topic, store_id, stream_id, version ASC, "offset"',""",
            (),
            "the live consumer expects each stream's next version after a switch",
            equivalent="replay_streams keeps each stream's highest version only",
        ),
        Mutant(
            "catch-up-offsets-not-advanced",
            REPLAY,
            "            offsets = {tp: max(offsets[tp], ends[tp]) for tp in partitions}\n",
            "            pass\n",
            (CATCH_UP,),
            "a catch-up reads each record once and ends",
        ),
        Mutant(
            "catch-up-without-refresh",
            REPLAY,
            "                refresh=True,\n                max_records=max_records,\n"
            "            )\n            counts += more",
            "                refresh=False,\n                max_records=max_records,\n"
            "            )\n            counts += more",
            (CATCH_UP,),
            "what a catch-up reads updates the summaries and versions",
        ),
        Mutant(
            "replay-batch-offsets-not-saved",
            REPLAY,
            "        await readmodel.save_offsets(conn, consumer, offsets)\n"
            "        await readmodel.append_stream_versions",
            "        await readmodel.append_stream_versions",
            ("tests/integration/reporting/test_replay_killed.py",),
            "a replay killed mid-load resumes without loss or duplicates",
        ),
        Mutant(
            "replay-stream-versions-not-kept",
            REPLAY,
            "        await readmodel.append_stream_versions(conn, generation, batch.streams)\n",
            "        pass\n",
            ("tests/integration/reporting/test_replay_killed.py",),
            "the live consumer expects each stream's next version after a switch",
        ),
        Mutant(
            "replay-dead-letters-not-recorded",
            REPLAY,
            "            await readmodel.record_dead_letters(conn, consumer, batch.dead)\n",
            "            pass\n",
            ("tests/integration/reporting/test_replay_refusals.py",),
            "a record the replay cannot store is a dead letter with its reason",
        ),
    ),
    "scheduler": (
        Mutant(
            "scheduler-ignores-a-lost-lock",
            SCHEDULER,
            "                still_held(conn, self._leadership.lock_name)\n",
            "                pass\n",
            (SCHEDULER_TESTS,),
            "a scheduled job runs in the one process holding its lock",
        ),
        Mutant(
            "a-failing-run-stops-the-scheduler",
            SCHEDULER,
            "        except Exception:\n            self.failures += 1",
            "        except ZeroDivisionError:\n            self.failures += 1",
            (SCHEDULER_TESTS,),
            "a failing run is logged and retried at the next tick",
        ),
        Mutant(
            "clock-fact-dated-now",
            SUPERVISION_CHECKS,
            "    return min(start, now)\n",
            "    return now\n",
            ("tests/integration/supervision/test_supervision_flow.py",),
            "a fact that time makes happens at the start of its local day",
        ),
        Mutant(
            "group-overdue-a-day-early",
            INCUBATION_CHECKS,
            "        if day <= as_of:  # a deadline",
            "        if day - dt.timedelta(days=1) <= as_of:  # a deadline",
            (ASSISTANCE,),
            "a group is overdue from the working day after its deadline (§203)",
        ),
        Mutant(
            "term-overrun-on-its-last-day",
            INCUBATION_CHECKS,
            "        day = term_end + dt.timedelta(days=1)  # a term",
            "        day = term_end  # a term",
            (BASE_OPERATIONS,),
            "a stay overruns its term the day after the term ends",
        ),
        Mutant(
            "inactive-a-day-early",
            INCUBATION_CHECKS,
            '        if day > as_of:\n            continue\n        key = f"inactive',
            "        if day > as_of + dt.timedelta(days=1):\n            continue\n"
            '        key = f"inactive',
            (BASE_OPERATIONS,),
            "a stay is inactive once the days in force have passed, not before",
        ),
        Mutant(
            "incubation-flag-dated-now",
            INCUBATION_CHECKS,
            "        occurred_at=min(dt.datetime.combine(day, dt.time(0, 0), "
            "tzinfo=LOCAL_TIME_ZONE), now),",
            "        occurred_at=now,",
            (BASE_OPERATIONS,),
            "a flag happens on its own day, whenever the check ran",
        ),
        Mutant(
            "incubation-check-ahead-of-today",
            INCUBATION_CHECKS,
            "    refuse_future(as_of, now)\n    report = CheckReport(as_of)\n    async with",
            "    report = CheckReport(as_of)\n    async with",
            (BASE_OPERATIONS,),
            "a check for a day after today is refused (it would record facts ahead of time)",
        ),
        Mutant(
            "one-round-a-run",
            SUPERVISION_CHECKS,
            "MAX_ROUNDS = 10",
            "MAX_ROUNDS = 1",
            (CHECK_ITEMS,),
            "one run records what each fact in turn makes due",
        ),
        Mutant(
            "a-refused-item-tried-again-and-again",
            SUPERVISION_CHECKS,
            "            else:\n                settled.add(item.command_id)",
            "            else:\n                pass",
            (CHECK_ITEMS,),
            "an item that failed is tried again by the next run, not within this one",
        ),
    ),
    "recorded": (
        Mutant(
            "recorded-day-read-without-its-check",
            RECORDED,
            '        f"AND day = $3 AND period_end = $4 AND {_EXACT.format(g=g)}",',
            '        f"AND day = $3 AND period_end = $4",',
            (RECORDED_DAYS,),
            "a fact of a kept day reaching the database late is not hidden by its kept figures",
        ),
        Mutant(
            "recorded-day-by-effective-day-alone",
            RECORDED,
            "PASS_DAY = f\"GREATEST(effective_on, (recorded_at AT TIME ZONE '{ZONE}')::date)\"",
            'PASS_DAY = "effective_on"',
            (RECORDED_DAYS,),
            "a day's figures hold the facts recorded by its end, not those recorded later",
        ),
        Mutant(
            "recorded-day-figures-kept-after-facts",
            RECORDED_PASS,
            "                figures.clear()  # every period's figures computed again",
            "                pass",
            (RECORDED_DAYS,),
            "a day with facts has its own figures, not the day before's",
        ),
        Mutant(
            "recorded-leg-keeps-a-state-missing-a-late-fact",
            RECORDED_PASS,
            "        if late is not None and late < progress.day:",
            "        if False:",
            (f"{RECORDED_DAYS}::test_a_fact_arriving_between_two_legs_of_a_pass_is_not_hidden",),
            "a leg goes back to a fact committed since the last leg's snapshot within a folded day",
        ),
        Mutant(
            "recorded-leg-after-a-reset",
            RECORDED_PASS,
            "        if filenode != progress.filenode:\n            return False",
            "        if False:\n            return False",
            (
                f"{RECORDED_DAYS}::"
                "test_a_reset_between_two_legs_of_a_pass_leaves_no_row_of_the_new_facts",
            ),
            "a pass ends when the facts are reset between its legs (its state is of facts gone)",
        ),
        Mutant(
            "recorded-pass-in-one-snapshot",
            RECORDED_PASS,
            "                if time.monotonic() >= ends:",
            "                if False:",
            (f"{RECORDED_DAYS}::test_a_fact_arriving_between_two_legs_of_a_pass_is_not_hidden",),
            "the pass holds no snapshot for longer than a leg",
        ),
        Mutant(
            "recorded-day-moved-past-a-late-fact",
            RECORDED,
            '"AND snapshot = $2 AND ($3::date IS NULL OR day < $3) RETURNING',
            '"AND snapshot = $2 RETURNING',
            (RECORDED_DAYS,),
            "a look moves only the rows no fact committed since touches to its snapshot",
        ),
        Mutant(
            "re-owned-records-cut-one-column",
            RECORDS,
            "        self.columns = [c[: self.size] for c in self.columns]\n"
            "        column = self.columns[at]",
            "        column = self.columns[at] = self.columns[at][: self.size]",
            (
                "tests/reporting/test_records_memory.py",
                "tests/integration/reporting/test_every_route.py",
            ),
            "a base catching up with its state after re-owning records (an identity link) folds on",
        ),
    ),
    "rebuild": (
        Mutant(
            "dropped-generation-keeps-its-replay-checkpoints",
            READMODEL,
            'f"DELETE FROM {CONTROL}.consumer_offsets WHERE consumer = $1",',
            '"SELECT $1::text",',
            (KILLED_REBUILD,),
            "a generation made again under a dropped one's name replays from offset 0",
        ),
        Mutant(
            "two-rebuilds-in-one-instance",
            OPERATOR_REBUILD,
            '        if self.status is not None and self.status["state"] == "running":',
            "        if False:",
            (KILLED_REBUILD,),
            "one operator rebuild at a time per instance (a second: 409)",
        ),
        Mutant(
            "failed-rebuild-keeps-its-generation",
            OPERATOR_REBUILD,
            "                await _drop_unless_current(pool, generation)\n",
            "                pass\n",
            (KILLED_REBUILD,),
            "a rebuild that died leaves no half-built generation",
        ),
        Mutant(
            "replay-drops-the-readers-generation",
            OPERATOR_REBUILD,
            "    older = [g for g in existing[: existing.index(new)] if g != readers_had]",
            "    older = existing[: existing.index(new)]",
            (
                f"{REBUILD_OVER_HTTP}::"
                "test_a_replay_keeps_the_generation_readers_had_not_a_half_built_one",
            ),
            "the switch keeps the generation readers were on, not a half-built newer one",
        ),
        Mutant(
            "generation-name-taken-twice",
            REPLAY,
            'execute(f"CREATE SCHEMA {readmodel',
            'execute(f"CREATE SCHEMA IF NOT EXISTS {readmodel',
            (
                f"{REBUILD_OVER_HTTP}::test_a_generation_named_meanwhile_by_another_rebuild_is_not_taken",
            ),
            "two rebuilds at once never build into one generation",
        ),
    ),
    "live-lane": (
        Mutant(
            "live-answers-behind-re-render-one-by-one",
            REPORT_CACHE,
            "        for behind in (key, *(k for k in self.behind if k != key)):",
            "        for behind in (key,):",
            (
                f"{STALE_ANSWERS}::"
                "test_the_live_answers_found_behind_re_render_together_then_the_lane_rests",
            ),
            "the live answers found behind re-render in one call",
        ),
        Mutant(
            "live-lane-never-rests",
            REPORT_CACHE,
            "            self.rest_until = max(self.rest_until, rest)",
            "            pass",
            (
                f"{STALE_ANSWERS}::"
                "test_the_live_answers_found_behind_re_render_together_then_the_lane_rests",
                f"{STALE_ANSWERS}::"
                "test_the_live_lane_rests_between_re_renders_as_long_as_the_last_call_took",
            ),
            "after a call the live lane rests before the next re-render",
        ),
    ),
    "finish": (
        Mutant(
            "misfiled-group-folded-alone",
            READMODEL,
            "        if facts.keys() - {entity}:",
            "        if False:",
            (
                f"{AGENCY_VERSIONS}::"
                "test_a_group_whose_payload_names_another_entity_is_folded_with_all",
            ),
            "each entity's versions come from all of its facts, however its rows were grouped",
        ),
        Mutant(
            "stays-validated-all-at-once",
            REPLAY,
            'kept = self.stays.setdefault(json.loads(data).get("incubation_id"), [])',
            "kept = self.stays.setdefault(None, [])",
            (f"{AGENCY_VERSIONS}::test_a_replays_finish_validates_one_entitys_payloads_at_a_time",),
            "the replay's finish validates one entity's payloads at a time",
        ),
    ),
    "payload-text": (
        Mutant(
            "payload-parsed-into-jsonb",
            READMODEL,
            "    data          json NOT NULL,",
            "    data          jsonb NOT NULL,",
            (
                "tests/integration/reporting/test_fact_payload_text.py::"
                "test_a_payload_is_stored_as_the_json_text_its_fact_was_serialised_to",
            ),
            "a fact's payload is stored as the JSON text it was serialised to",
        ),
        Mutant(
            "nul-in-a-payload-stored",
            "services/reporting/domain/facts.py",
            r'    if b"\\u0000" in payload and _NUL_ESCAPE.search(payload):',
            "    if False:",
            (
                "tests/integration/reporting/test_replay_refusals.py::"
                "test_a_payload_postgresql_cannot_hold_is_a_dead_letter_of_the_replay",
                "tests/integration/reporting/test_reporting.py::"
                "test_known_history_replay_exports_and_as_of",
            ),
            "a payload with U+0000 in a text is a dead letter of the live consumer and the replay",
        ),
    ),
    "batch-interval": (
        Mutant(
            "every-fetch-applied-at-once",
            CONSUMER,
            "        until = self._batch_started + self.batch_interval",
            "        until = -math.inf",
            (
                f"{CONSUMER_TESTS}::"
                "test_records_fetched_within_the_batch_interval_are_applied_in_one_batch",
            ),
            "records fetched within the interval join one batch",
        ),
        Mutant(
            "a-full-batch-waits",
            CONSUMER,
            "        while len(records) < self.max_records and (left := until - loop.time()) > 0:",
            "        while (left := until - loop.time()) > 0:",
            (f"{CONSUMER_TESTS}::test_a_full_batch_waits_for_no_interval",),
            "a full batch is applied at once",
        ),
        Mutant(
            "the-first-batch-waits",
            CONSUMER,
            "        self._batch_started = -math.inf  # the loop's clock",
            "        self._batch_started = asyncio.get_event_loop().time()",
            (
                f"{CONSUMER_TESTS}::"
                "test_records_fetched_within_the_batch_interval_are_applied_in_one_batch",
            ),
            "after a quiet moment the first record goes at once",
        ),
    ),
    "start-builds": (
        Mutant(
            "routes-built-at-their-first-request",
            "servicekit/web.py",
            "            await build_routes(app)\n",
            "",
            ("tests/integration/test_warm_start.py",),
            "a service builds its routes' request state at its start",
        ),
        Mutant(
            "parser-built-at-the-first-record",
            CONSUMER,
            "        build_parser()\n",
            "",
            (
                "tests/test_consumer_parse.py::"
                "test_a_consumer_builds_its_parser_when_it_is_made_not_at_its_first_record",
            ),
            "a consumer builds its parser when it is made",
        ),
        Mutant(
            "array-types-learned-one-at-a-time",
            "servicekit/eventstore/store.py",
            '    await conn.fetchval(f"SELECT ({casts}) IS NULL", *[None] * len(ARRAY_TYPES))\n',
            "",
            (
                "tests/integration/test_pool_array_types.py::"
                "test_a_pooled_connection_meets_the_array_types_without_learning_them",
            ),
            "a pooled connection learns the array types as it opens",
        ),
        Mutant(
            "pool-opened-under-the-first-burst",
            "servicekit/runtime.py",
            "    await open_pool(pool)\n",
            "",
            (
                "tests/integration/test_pool_open_at_start.py::"
                "test_a_service_has_its_whole_pool_open_when_it_is_ready",
            ),
            "a service opens its pool's connections as it starts",
        ),
        Mutant(
            "a-refused-connection-stops-the-start",
            "servicekit/runtime.py",
            "for _ in range(of)), return_exceptions=True",
            "for _ in range(of)), return_exceptions=False",
            (
                "tests/integration/test_pool_open_at_start.py::"
                "test_a_service_starts_and_takes_commands_when_postgresql_refuses_part_of_its_pool",
            ),
            "a start goes on with the connections PostgreSQL gives",
        ),
    ),
    "benchmark-tools": (
        Mutant(
            "generator-measures-the-rest-per-request",
            "benchmarks/openloop.c",
            "\t\tstruct request *r = &requests[i];\n",
            "\t\tstruct request *r = &requests[i];\n"
            "\t\tvolatile size_t rest = strlen(p);\n\t\t(void)rest;\n",
            ("tests/test_openloop.py::test_a_long_schedule_is_read_before_its_first_send_is_due",),
            "the open-loop generator sends its first request on time whatever its file's length",
        ),
        Mutant(
            "replay-only-run-written-with-a-latency-paragraph",
            "benchmarks/bench_reporting.py",
            '    if lat is None:\n        return ""\n',
            "",
            (
                "tests/test_bench_reporting_section.py::"
                "test_a_run_without_the_latency_phase_writes_the_replays_figures",
            ),
            "a replay-only benchmark run (--latency-seconds 0) writes its figures",
        ),
    ),
}
