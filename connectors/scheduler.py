"""APScheduler 3 jobs: one per enabled feed, on its cron or interval, in the app's process.

`max_instances=1` and the runner's per-feed lock keep one run of a feed at a time; `coalesce`
turns a backlog of missed runs (the app was down) into one run; jitter spreads feeds that share
a schedule so they do not all hit the write lock at the same second. Times are local
(Asia/Ho_Chi_Minh): "0 17 * * *" means 17:00 in the city.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from base.tz import LOCAL_TZ
from connectors.feeds import Feed
from connectors.runner import AfterRun, FeedBusy, run_feed
from warehouse import Warehouse

log = logging.getLogger(__name__)
TIMEZONE = LOCAL_TZ
JOB_PREFIX = "feed:"


def trigger_for(feed: Feed) -> CronTrigger | IntervalTrigger:
    jitter = feed.schedule.jitter_seconds or None
    if feed.schedule.cron:
        trigger = CronTrigger.from_crontab(feed.schedule.cron, timezone=TIMEZONE)
        trigger.jitter = jitter  # from_crontab() takes no jitter; the trigger honours the field
        return trigger
    return IntervalTrigger(seconds=int(feed.schedule.every.total_seconds()), timezone=TIMEZONE,
                           jitter=jitter)  # fmt: skip


def _job(wh: Warehouse, feed: Feed, after_run: AfterRun | None) -> None:
    try:
        results = run_feed(wh, feed)
    except FeedBusy:
        log.info("feed %s is already running (run now?): this run is skipped", feed.name)
        return
    if after_run is not None:
        try:
            after_run(feed, results)
        except Exception:
            log.exception("after-run hook failed for feed %s", feed.name)


def start_scheduler(
    wh: Warehouse,
    feeds: dict[str, Feed],
    after_run: AfterRun | None = None,
    run_at_start: bool = True,
    start: bool = True,
) -> BackgroundScheduler:
    """A started BackgroundScheduler with a job per enabled feed (ids "feed:<name>").

    `run_at_start`: each feed's first run is right away (then on schedule), so a fresh start shows
    current data. `after_run(feed, results)` is called after every scheduled run (alert rules).
    """
    scheduler = BackgroundScheduler(
        timezone=TIMEZONE,
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 600},
    )
    for feed in feeds.values():
        if not feed.enabled:
            continue
        kwargs = {"next_run_time": datetime.now().astimezone()} if run_at_start else {}
        scheduler.add_job(_job, trigger_for(feed), args=(wh, feed, after_run),
                          id=JOB_PREFIX + feed.name, name=feed.name, replace_existing=True,
                          **kwargs)  # fmt: skip
    if start:
        scheduler.start()
    return scheduler


def next_run_times(scheduler: BackgroundScheduler | None) -> dict[str, datetime | None]:
    """Each scheduled feed's next run (None when paused)."""
    if scheduler is None:
        return {}
    return {
        job.id.removeprefix(JOB_PREFIX): job.next_run_time
        for job in scheduler.get_jobs()
        if job.id.startswith(JOB_PREFIX)
    }
