"""The embedded broker (portal/broker.py), configured as `make run` configures it, hands every
task to the worker exactly once while other processes publish into the folder it polls."""

import multiprocessing
from pathlib import Path

from kombu import Connection, Consumer, Exchange, Producer, Queue

from portal.broker import EMBEDDED_TRANSPORT, embedded_transport_options

PUBLISHERS = 2
MESSAGES_PER_PUBLISHER = 2000
STRESS_QUEUE = Queue("broker-stress", Exchange("broker-stress"), routing_key="broker-stress")
# A queue of its own: kombu remembers bindings per process, so a second test binding the first
# one's queue again would not write the binding into its own control folder.
BROKEN_QUEUE = Queue("broker-broken", Exchange("broker-broken"), routing_key="broker-broken")


def _options_under(folder: Path) -> dict:
    """The embedded broker as `make run` configures it, under `folder`, polled without pause
    (whatever broker this test run itself uses)."""
    return embedded_transport_options(folder, polling_interval=0)


def _connection(transport: str, options: dict) -> Connection:
    return Connection("filesystem://", transport=transport, transport_options=options)


def _publish(transport: str, options: dict, publisher: int) -> None:
    """A publisher process: its messages, numbered, as fast as it can."""
    with _connection(transport, options) as conn:
        producer = Producer(conn.channel(), exchange=STRESS_QUEUE.exchange,
                            routing_key=STRESS_QUEUE.routing_key, serializer="json")
        for number in range(MESSAGES_PER_PUBLISHER):
            producer.publish({"publisher": publisher, "number": number})


def test_two_publishers_and_a_consumer_lose_nothing(tmp_path):
    transport = EMBEDDED_TRANSPORT
    options = _options_under(tmp_path)
    received: list[tuple[int, int]] = []
    read_errors: list[str] = []

    def on_message(body: dict, message) -> None:
        received.append((body["publisher"], body["number"]))
        message.ack()

    with _connection(transport, options) as conn:
        STRESS_QUEUE(conn.default_channel).declare()
        spawn = multiprocessing.get_context("spawn")
        publishers = [spawn.Process(target=_publish, args=(transport, options, publisher))
                      for publisher in range(PUBLISHERS)]
        for process in publishers:
            process.start()
        with Consumer(conn, [STRESS_QUEUE], callbacks=[on_message], accept=["json"]):
            while True:
                try:
                    conn.drain_events(timeout=2)
                except TimeoutError:
                    if not any(process.is_alive() for process in publishers):
                        break
                except Exception as exc:  # what the worker died of: recorded, then go on
                    read_errors.append(f"{type(exc).__name__}: {exc}")
        for process in publishers:
            process.join()

    assert [process.exitcode for process in publishers] == [0] * PUBLISHERS
    assert read_errors == []
    expected = [(p, n) for p in range(PUBLISHERS) for n in range(MESSAGES_PER_PUBLISHER)]
    assert sorted(received) == expected  # each exactly once
    assert list(tmp_path.rglob("*.msg")) == []  # nothing left queued, staged or set aside


def test_an_unreadable_message_is_set_aside_and_the_next_one_delivered(tmp_path, caplog):
    options = _options_under(tmp_path)
    # Sorted first, so the consumer meets it before the good message.
    broken = Path(options["data_folder_in"]) / f"0_broken.{BROKEN_QUEUE.name}.msg"
    with _connection(EMBEDDED_TRANSPORT, options) as conn:
        BROKEN_QUEUE(conn.default_channel).declare()
        broken.write_bytes(b'{"body": "cut sh')
        Producer(conn.channel()).publish({"number": 1}, exchange=BROKEN_QUEUE.exchange,
                                         routing_key=BROKEN_QUEUE.routing_key)
        message = conn.SimpleQueue(BROKEN_QUEUE).get(timeout=5)
        message.ack()

    assert message.payload == {"number": 1}
    assert (Path(options["unreadable_folder"]) / broken.name).read_bytes() == b'{"body": "cut sh'
    assert f"Broker message {broken.name} could not be read (JSONDecodeError)" in caplog.text
