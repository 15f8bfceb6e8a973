"""devstack's cluster settings and `./dev up --replicas` ports, without starting anything."""

from __future__ import annotations

from pathlib import Path

from devstack.cluster import min_insync_for
from devstack.kafka import server_properties
from devstack.system import instance_port


def test_a_node_of_a_cluster_names_every_voter_and_replicates_its_internal_topics() -> None:
    voters = "1@127.0.0.1:1001,2@127.0.0.1:1002,3@127.0.0.1:1003"
    settings = server_properties(
        port=2002,
        controller_port=1002,
        data_dir=Path("data/n2"),
        node_id=2,
        voters=voters,
        replication=3,
        min_insync=2,
    )
    assert settings["node.id"] == "2"
    assert settings["controller.quorum.voters"] == voters
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert settings[key] == "3", key
    assert settings["min.insync.replicas"] == settings["transaction.state.log.min.isr"] == "2"


def test_a_single_node_keeps_its_settings() -> None:
    settings = server_properties(port=2001, controller_port=1001, data_dir=Path("data/n1"))
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:1001"
    assert settings["offsets.topic.replication.factor"] == settings["min.insync.replicas"] == "1"


def test_one_broker_may_be_lost_without_refusing_writes() -> None:
    assert [min_insync_for(n) for n in (1, 2, 3)] == [1, 1, 2]


def test_second_instances_listen_ten_ports_up() -> None:
    assert [instance_port(8001, n) for n in range(3)] == [8001, 8011, 8021]
