"""A 100,000-line file streams through with flat memory: measured as peak RSS growth in a fresh process."""

from __future__ import annotations

import json
import textwrap

from support.event_sources import read, read_lines
from support.fresh_python import python_json
from support.paths import TESTS
from support.s3_server import EventsAws, clean_environ

LINES = 100_000
# Lines of ~430 bytes: a 43 MB input and a 45 MB output. Streamed, the peak grows by the output
# parts held (two 8 MiB parts going up while a third fills) and a few input chunks; with the
# input and output held whole, ~124 MiB.
NAME = "n" * 400
MAX_GROWTH_MIB = 40

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path[:0] = [sys.argv[1]]
    from support.aws_events import s3_put
    from support.event_sources import handler_for
    bucket = sys.argv[2]
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/out/"})
    handler(s3_put(bucket, "small.jsonl"), None)  # warm: clients, pools, first chunk
    def status_kib(field):
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith(field + ":"))
        return int(line.split()[1])
    # VmHWM is this address space's peak RSS (ru_maxrss would carry the parent's over exec).
    # Reset it, then compare the peak while the big file runs with what the process holds now.
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status_kib("VmRSS")
    answer = handler(s3_put(bucket, "big.jsonl"), None)
    after = status_kib("VmHWM")
    print(json.dumps({"answer": answer, "growth_kib": after - before}))
    """
)


def test_a_large_file_streams_with_flat_memory(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    rows = [json.dumps({"x": n + 1, "name": NAME}) for n in range(LINES)]
    rows[12_345] = "{broken"
    big = ("\n".join(rows) + "\n").encode()
    events_aws.s3.put_object(Bucket=bucket, Key="big.jsonl", Body=big)
    events_aws.s3.put_object(Bucket=bucket, Key="small.jsonl", Body=("\n".join(rows[:3000]) + "\n").encode())
    env = clean_environ(**events_aws.server.env, AWS_ENDPOINT_URL=events_aws.server.endpoint_url)

    report = python_json(SCRIPT, str(TESTS), bucket, env=env, timeout=300)
    assert report["answer"]["results"][0]["records"] == LINES
    assert report["growth_kib"] / 1024 < MAX_GROWTH_MIB, (
        f"peak RSS grew {report['growth_kib'] / 1024:.0f} MiB"
    )
    manifest = json.loads(read(events_aws.s3, bucket, "out/big.jsonl.manifest.json"))
    assert (manifest["records"], manifest["predicted"], manifest["invalid"]) == (LINES, LINES - 1, 1)
    lines = read_lines(events_aws.s3, bucket, "out/big.jsonl.out")
    assert len(lines) == LINES
    assert "problem" in lines[12_345]
    assert [line["prediction"]["doubled"] for line in lines[:3]] == [2, 4, 6]
    assert lines[-1]["prediction"]["doubled"] == 2 * LINES
