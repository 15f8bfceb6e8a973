"""The fault-injection suite (issue 9): the platform's promises proven under crashes and bad input.

conftest.py   the suite's own PostgreSQL server, a fresh broker and database per scenario
infra.py      that broker (killed and restarted on its ports), databases, advisory-lock holders
fleet.py      the services as OS processes, several instances, their logs and readiness
workload.py   300 valid commands over registry, incubation and supervision
load.py       16 clients retrying by idempotency key; the oracle of what was accepted
badrecords.py records no service would publish, one of every kind
kafka_log.py  the topics read from offset 0, de-duplicated, streams checked
evidence.py   what the stores, consumers and topics hold; waiting for convergence
checks.py     the verdict; report.py the table; scenario.py one scenario end to end
test_faults.py the six scenarios
"""
