"""``linkwork codes``: search the coded-needs catalogue, show one code, list need domains.

None of these commands touches the database.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from linkwork.cli.common import JsonOption, NotFound, console, esc, print_json, safe

app = typer.Typer(
    help="Coded needs: ICD-10 Z55-Z65 and SNOMED CT, searched in everyday words.",
    no_args_is_help=True,
)


@app.command("search")
def search_cmd(
    text: Annotated[
        list[str], typer.Argument(help="The need in everyday words, e.g. 'sofa surfing'.")
    ],
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="Most results to show.", min=1, max=200)
    ] = 10,
    json_out: JsonOption = False,
) -> None:
    """Find the codes for a need described in lay words (typos welcome)."""
    from linkwork.actions import codes as act

    found = act.search_codes(" ".join(text), limit=limit)
    if not found.matches:
        raise NotFound(found.hint)
    if json_out:
        print_json(found.matches)
        return
    table = Table(title=f"Codes for “{esc(found.text)}”", show_lines=False)
    table.add_column("code", style="bold")
    table.add_column("title")
    table.add_column("domain")
    table.add_column("score", justify="right")
    table.add_column("why", style="dim")
    for m in safe(found.matches):
        table.add_row(m["code"], m["display"], m["domain"], f"{m['score']:.0f}", m["why"])
    console.print(table)


@app.command("show")
def show_cmd(
    code: Annotated[
        str, typer.Argument(help="An ICD-10 code (Z59.0, z590) or SNOMED CT concept id.")
    ],
    json_out: JsonOption = False,
) -> None:
    """Show one code: title, need domain, SNOMED CT mapping and lay phrasings."""
    from linkwork.actions import codes as act

    need = act.show_code(code)
    if json_out:
        print_json(need)
        return
    need = safe(need)
    console.print(f"[bold]{need['code']}[/bold]  {need['display']}")
    console.print(f"system: {need['system']}")
    if need["maps_to"]:
        console.print(f"refines ICD-10: {need['maps_to']}")
    console.print(f"domain: {need['domain']} ({need['domain_label']})")
    if need["snomed"]:
        console.print(
            "SNOMED CT: " + "; ".join(f"{c['code']} {c['display']}" for c in need["snomed"])
        )
    else:
        console.print("SNOMED CT: none recorded")
    if need["synonyms"]:
        console.print(f"lay phrasings ({len(need['synonyms'])}): " + ", ".join(need["synonyms"]))


@app.command("domains")
def domains_cmd(json_out: JsonOption = False) -> None:
    """List the need domains, with how many ICD-10 codes each has."""
    from linkwork.actions import codes as act

    domains = act.need_domains()
    if json_out:
        print_json(domains)
        return
    domains = safe(domains)
    table = Table(title="Need domains")
    table.add_column("key", style="bold")
    table.add_column("label")
    table.add_column("codes", justify="right")
    table.add_column("description", style="dim")
    for d in domains:
        n = d["codes"]
        table.add_row(d["key"], d["label"], str(n) if n else "– (by domain)", d["description"])
    console.print(table)


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="codes")
