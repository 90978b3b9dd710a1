"""`python -m starter calendar …`: the working-day calendar that review deadlines are placed on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from config import Settings
from domain.workdays import LAW_SINCE, DayStatus, WorkdayCalendar, load_overrides
from starter.shell import console

calendar = typer.Typer(no_args_is_help=True, help="The working-day calendar behind deadlines.")


def _table(title: str, days: list[DayStatus]) -> Table:
    table = Table("date", "day", "source", "why", title=title)
    table.columns[3].overflow = "fold"
    for status in days:
        table.add_row(status.day.isoformat(), status.weekday_name, status.source, status.reason)
    return table


@calendar.command()
def show(
    year: Annotated[int, typer.Argument(min=1, max=9999, help="e.g. 2027")],
    overrides: Annotated[
        Path | None,
        typer.Option(help="overrides file (default: JSHR_WORKDAY_OVERRIDES_FILE)"),
    ] = None,
) -> None:
    """Days off and adjusted working days (调休) of YEAR, with the source of each."""
    path = overrides or Settings().workday_overrides_file
    try:
        explained = WorkdayCalendar(load_overrides(path)).explain_year(year)
    except ValidationError as exc:
        console.print(f"[red]invalid overrides file[/red] {escape(str(path))}:\n{escape(str(exc))}")
        raise typer.Exit(2) from None

    if explained.known_to_package:
        console.print(f"{year}: from the package chinese_calendar (the State Council's notice)")
    elif explained.by_law:
        console.print(
            f"{year}: not in the package chinese_calendar; statutory days off computed by law "
            "(《全国年节及纪念日放假办法》), with days in lieu"
        )
    else:
        console.print(
            f"{year}: neither in the package nor under the holiday law applied here (from "
            f"{LAW_SINCE}): Monday-Friday"
        )
    if explained.has_overrides:
        console.print(f"overrides for {year} from {escape(str(path))}")

    for title, days in [
        ("days off (besides ordinary weekends)", explained.days_off),
        ("adjusted working days (调休)", explained.adjusted_workdays),
    ]:
        console.print(_table(f"{year} {title}", days) if days else f"{year}: no {title}")

    if explained.missing_adjustments:
        missing = (
            "Deadlines count only the statutory days off above: the adjusted working weekends "
            "(调休) and bridge days of the State Council's notice for this year are missing."
            if explained.by_law
            else "Deadlines count Monday-Friday only: the year's holidays and 调休 are missing."
        )
        console.print(
            Panel(
                f"{year} is not known to the package chinese_calendar and has no overrides yet. "
                f"{missing} Record them in {escape(str(path))} once the notice is published.",
                title="WARNING: 调休 missing",
                border_style="bold red",
            )
        )
