"""The bottom layer: what every other package may share, and which imports nothing of theirs.

`base.tz` holds the city's time zone, `base.calendar` the calendar grains (weeks, months,
quarters), `base.rows` the row types that one layer computes and a lower one stores. Standard
library only, so it can sit under config/, warehouse/, metrics/ and everything above them
(the layers contract in pyproject.toml).
"""
