"""berth/cron.py: the five-field cron every cloud scheduler reads."""

from __future__ import annotations

import pytest

from berth.cron import CronError, normalized_cron


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("0 3 * * *", "0 3 * * *"),
        ("  */15  *  * * mon-fri ", "*/15 * * * MON-FRI"),
        ("0 0 1 jan,jul *", "0 0 1 JAN,JUL *"),
        ("5-10/2 1,2 1-31 12 0", "5-10/2 1,2 1-31 12 0"),
        ("0 0 * * 7", "0 0 * * 7"),
        ("@daily", "0 0 * * *"),
        ("@HOURLY", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
        ("5/15 * * * *", "5-59/15 * * * *"),
        ("0 0 * jan/2 *", "0 0 * 1-12/2 *"),
        ("0 0 * * mon/2", "0 0 * * 1-7/2"),
        ("0 0 * * mon-fri,sun", "0 0 * * MON-FRI,SUN"),
    ],
)
def test_cron_accepts_what_every_scheduler_reads(written, normalized):
    assert normalized_cron(written) == normalized


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("not a cron", "has 3 fields, not 5"),
        ("*/5 * * * * *", "has 6 fields"),
        ("", "has 0 fields"),
        ("61 * * * *", "'61' in '61 * * * *' is not a minute (0-59)"),
        ("0 24 * * *", "is not an hour"),
        ("0 0 0 * *", "is not a day of month (1-31)"),
        ("0 0 * 13 *", "is not a month (1-12 or JAN-DEC)"),
        ("0 0 * * 8", "is not a day of week (0-7 or SUN-SAT)"),
        ("*/0 * * * *", "the step in '*/0'"),
        ("@every 5m", "has 2 fields"),
        ("0 0 L * *", "'L' in"),
        ("0 0 ? * *", "is not a value, range or step"),
        ("0 22-2 * * *", "the range '22-2' in '0 22-2 * * *' runs backwards"),
        ("0 0 * * FRI-MON", "runs backwards"),
    ],
)
def test_cron_refuses_what_a_scheduler_would_refuse_or_read_otherwise(written, words):
    with pytest.raises(CronError) as refused:
        normalized_cron(written)
    assert words in str(refused.value)
