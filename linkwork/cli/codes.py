"""``linkwork codes``: search the coded-needs catalogue, show one code, list need domains.

None of these commands touches the database.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from linkwork.cli.common import JsonOption, NotFound, console, print_json

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
    from codes.catalogue import load_catalogue
    from codes.search import match_domains, search_codes

    query = " ".join(text).strip()
    if not query:
        raise ValueError("empty search: type a few words describing the need")
    cat = load_catalogue()
    matches = search_codes(cat, query, limit=limit)
    if not matches:
        domains = match_domains(cat, query, limit=1)
        if domains and not cat.in_domain(domains[0][0]):
            label = cat.domain(domains[0][0]).label
            raise NotFound(
                f"no ICD-10 code for {query!r}: record it by need domain "
                f"{domains[0][0]!r} ({label})"
            )
        raise NotFound(f"no code matches {query!r}")
    if json_out:
        print_json([m.to_dict() for m in matches])
        return
    table = Table(title=f"Codes for “{query}”", show_lines=False)
    table.add_column("code", style="bold")
    table.add_column("title")
    table.add_column("domain")
    table.add_column("score", justify="right")
    table.add_column("why", style="dim")
    for m in matches:
        table.add_row(m.code, m.display, m.domain, f"{m.score:.0f}", m.why)
    console.print(table)


@app.command("show")
def show_cmd(
    code: Annotated[
        str, typer.Argument(help="An ICD-10 code (Z59.0, z590) or SNOMED CT concept id.")
    ],
    json_out: JsonOption = False,
) -> None:
    """Show one code: title, need domain, SNOMED CT mapping and lay phrasings."""
    from codes.catalogue import load_catalogue

    cat = load_catalogue()
    need = cat.get(code)
    domain = cat.domain(need.domain)
    if json_out:
        data = need.to_dict()
        data["domain_label"] = domain.label
        print_json(data)
        return
    console.print(f"[bold]{need.code}[/bold]  {need.display}")
    console.print(f"system: {need.system}")
    if need.maps_to:
        console.print(f"refines ICD-10: {need.maps_to}")
    console.print(f"domain: {domain.key} ({domain.label})")
    if need.snomed:
        console.print("SNOMED CT: " + "; ".join(f"{c} {t}" for c, t in need.snomed))
    else:
        console.print("SNOMED CT: none recorded")
    if need.synonyms:
        console.print(f"lay phrasings ({len(need.synonyms)}): " + ", ".join(need.synonyms))


@app.command("domains")
def domains_cmd(json_out: JsonOption = False) -> None:
    """List the need domains, with how many ICD-10 codes each has."""
    from codes.catalogue import load_catalogue

    cat = load_catalogue()
    rows = [(d, len(cat.in_domain(d.key))) for d in cat.domains()]
    if json_out:
        print_json(
            [
                {
                    "key": d.key,
                    "label": d.label,
                    "description": d.description,
                    "gravity_category": d.gravity_category,
                    "codes": n,
                }
                for d, n in rows
            ]
        )
        return
    table = Table(title="Need domains")
    table.add_column("key", style="bold")
    table.add_column("label")
    table.add_column("codes", justify="right")
    table.add_column("description", style="dim")
    for d, n in rows:
        table.add_row(d.key, d.label, str(n) if n else "– (by domain)", d.description)
    console.print(table)


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="codes")
